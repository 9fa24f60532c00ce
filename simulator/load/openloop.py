"""The open-loop dispatcher: sends request ``k`` at ``schedule.time_of(k)``, whatever the responses do.

Sans-IO: time is passed in (``now``, seconds on a monotonic scale), connections are anything with the
``Conn`` shape, and opening a connection is delegated to ``open_connection``. The async driver in
``runner.py`` feeds it real time and sockets; the tests feed it a virtual clock and fake connections.

With ``connections`` C, at most C requests are in flight. A request that is due while every connection is
busy waits (the backlog is a number, ``due - next``, not a queue) and is sent as soon as a connection
frees up; its latency still counts from its intended time. That is the coordinated-omission correction:
a receiver that stalls for 200 ms delays every request scheduled during the stall, and all of those
delays show in the histogram, where a closed-loop tool would simply have sent fewer requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from simulator.errors import ConfigError
from simulator.load.recorder import Recorder
from simulator.load.schedule import Schedule
from simulator.verdicts.ack import http_acked

DISPATCH_GRACE_S = 1.0  # requests still unsent this long after the schedule's end are counted as unsent


class Conn(Protocol):
    busy: bool
    intended: float
    index: int
    sent_at: float

    @property
    def open(self) -> bool: ...

    def send(self, request: bytes) -> None: ...

    def abort(self) -> None: ...


class OpenLoop:
    """State of one open-loop run (one process)."""

    def __init__(self, schedule: Schedule, recorder: Recorder, *, connections: int,
                 make_request: Callable[[], bytes], open_connection: Callable[[int], None],
                 budget_s: float, accept_2xx: bool = False, wake: Callable[[], None] = lambda: None,
                 batch_max: int = 1, make_batch: Callable[[int], bytes] | None = None) -> None:
        if batch_max > 1 and make_batch is None:
            raise ConfigError("batch_max > 1 needs make_batch")
        self.schedule = schedule
        # Batching (the platform's batch push): a freed connection takes every due request, up to
        # ``batch_max``, in one call; each keeps its own intended time and gets its own verdict.
        self.batch_max = max(1, batch_max)
        self.make_batch = make_batch
        self.batches: dict[Conn, list[float]] = {}  # intended times of the requests a connection carries
        self.recorder = recorder
        self.max_connections = connections
        self.make_request = make_request
        self.open_connection = open_connection
        self.budget_s = budget_s
        self.accept_2xx = accept_2xx
        self.t0 = 0.0
        self.next = 0  # the next request index to send
        self.idle: list[Conn] = []
        self.live: set[Conn] = set()  # open connections, idle or busy
        self.connecting = 0
        self.stopped = False
        self.wake = wake  # called when the driver, sleeping without a timer for a backlog, must look again
        self.backlogged = False
        self.sent_count = 0
        self.last_sent_at = 0.0
        self.lag_sum = 0.0  # how late requests left compared to their intended time (the generator's own lag)
        self.lag_max = 0.0

    # -- time ------------------------------------------------------------------------------------------------
    def start(self, t0: float) -> None:
        self.t0 = t0

    def intended(self, k: int) -> float:
        return self.t0 + self.schedule.time_of(k)

    def due(self, now: float) -> int:
        return self.schedule.due(now - self.t0)

    @property
    def end(self) -> float:
        return self.t0 + self.schedule.offset + self.schedule.duration

    # -- dispatch --------------------------------------------------------------------------------------------
    def pump(self, now: float) -> None:
        """Send every request that is due, as far as connections allow."""
        if self.stopped:
            return
        due = self.due(now)
        idle = self.idle
        while self.next < due:
            if idle:
                conn = idle.pop()
                if not conn.open:
                    self.live.discard(conn)
                    continue
                self._send(conn, self.next, now)
            elif len(self.live) + self.connecting < self.max_connections:
                k = self.next
                self.next += 1
                self.connecting += 1
                self.open_connection(k)
            else:
                break
        if now > self.end + DISPATCH_GRACE_S:
            self.stop()

    def _send(self, conn: Conn, k: int, now: float) -> None:
        self.next = k + 1
        if self.batch_max > 1:
            n = min(self.batch_max, self.due(now) - k)
            if n > 1:
                self.next = k + n
                self._dispatch_batch(conn, k, n, now)
                return
        self._dispatch(conn, k, now)

    def _dispatch_batch(self, conn: Conn, k: int, n: int, now: float) -> None:
        assert self.make_batch is not None
        intended = [self.t0 + self.schedule.time_of(i) for i in range(k, k + n)]
        conn.intended = intended[0]
        conn.index = k
        conn.sent_at = now
        self.batches[conn] = intended
        conn.send(self.make_batch(n))
        for _ in range(n):
            self.recorder.sent()
        self.sent_count += n
        self.last_sent_at = now
        lag = now - intended[0]  # the oldest request's lag (the others are less late)
        self.lag_sum += sum(now - t for t in intended)
        if lag > self.lag_max:
            self.lag_max = lag

    def _dispatch(self, conn: Conn, k: int, now: float) -> None:
        conn.intended = self.t0 + self.schedule.time_of(k)
        conn.index = k
        conn.sent_at = now
        conn.send(self.make_request())
        self.recorder.sent()
        self.sent_count += 1
        self.last_sent_at = now
        lag = now - conn.intended
        self.lag_sum += lag
        if lag > self.lag_max:
            self.lag_max = lag

    def next_wake(self, now: float) -> float | None:
        """When the next request is due; None when everything is sent or a backlog waits for connections
        (a finishing response dispatches it, no timer needed)."""
        if self.stopped or self.next >= self.schedule.total:
            return None
        if self.next < self.due(now):
            self.backlogged = True
            return None
        return self.intended(self.next)

    # -- events from connections --------------------------------------------------------------------------
    def connected(self, conn: Conn, k: int, now: float) -> None:
        """A connection opened for request ``k`` is up: send it."""
        self.connecting -= 1
        self.live.add(conn)
        if self.batch_max > 1 and self.next == k + 1:  # nothing reserved after k: it may carry a batch
            self._send(conn, k, now)
        else:
            self._dispatch(conn, k, now)

    def connect_failed(self, k: int, kind: str, detail: str) -> None:
        self.connecting -= 1
        self.recorder.sent()
        self.recorder.error(kind, detail)

    def response(self, conn: Conn, status: int, now: float) -> None:
        """A webhook answer: acked on HTTP 200 (any 2xx with ``accept_2xx``)."""
        ok = http_acked(status, accept_2xx=self.accept_2xx)
        self.verdict(conn, ok, str(status), now)

    def verdict(self, conn: Conn, ok: bool, label: str, now: float) -> None:
        """A judged answer (``label`` names a non-acked one: an HTTP status, or an ack outcome); for a
        batch, the same verdict for each of its requests."""
        intended = self.batches.pop(conn, None)
        if intended is None:
            self.recorder.response(label, now - conn.intended, ok=ok, service_s=now - conn.sent_at)
        else:
            for t in intended:
                self.recorder.response(label, now - t, ok=ok, service_s=now - conn.sent_at)
        self._free(conn, now)

    def verdicts(self, conn: Conn, results: list[tuple[bool, str]], now: float) -> None:
        """One verdict per request the connection carried (a batch answer, in request order); an answer
        with the wrong number of verdicts judges them all ``ack:unreadable``."""
        intended = self.batches.pop(conn, None) or [conn.intended]
        if len(results) != len(intended):
            results = [(False, "ack:unreadable")] * len(intended)
        for t, (ok, label) in zip(intended, results, strict=True):
            self.recorder.response(label, now - t, ok=ok, service_s=now - conn.sent_at)
        self._free(conn, now)

    def carried(self, conn: Conn) -> int:
        """How many requests ``conn``'s request in flight carries."""
        batch = self.batches.get(conn)
        return 1 if batch is None else len(batch)

    def failure(self, conn: Conn, kind: str, detail: str) -> None:
        batch = self.batches.pop(conn, None)
        for _ in range(1 if batch is None else len(batch)):
            self.recorder.error(kind, detail)

    def closed(self, conn: Conn, now: float) -> None:
        self.live.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        self.pump(now)

    def _free(self, conn: Conn, now: float) -> None:
        if not conn.open:
            return
        if not self.stopped and self.next < self.due(now):
            self._send(conn, self.next, now)
        else:
            self.idle.append(conn)
            if self.backlogged:
                # The backlog is gone: the driver sleeps without a timer for the next request; wake it.
                self.backlogged = False
                self.wake()

    def check_timeouts(self, now: float) -> int:
        """Abort requests older than the budget (from their send time); return how many."""
        n = 0
        for conn in list(self.live):
            if conn.busy and now - conn.sent_at > self.budget_s:
                conn.busy = False
                for t in self.batches.pop(conn, None) or [conn.intended]:
                    self.recorder.timeout(now - t)
                conn.abort()
                n += 1
        return n

    # -- end -----------------------------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return self.connecting + sum(self.carried(c) for c in self.live if c.busy)

    def finished(self, now: float) -> bool:
        sent_all = self.stopped or self.next >= self.schedule.total
        return sent_all and self.in_flight == 0

    def stop(self) -> None:
        """Stop sending; whatever the schedule still wanted counts as unsent."""
        if not self.stopped:
            self.stopped = True
            self.recorder.unsent(self.schedule.total - self.next)
            self.next = self.schedule.total

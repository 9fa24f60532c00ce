"""The open-loop dispatcher on a virtual clock: fake connections, a simulated server, no sockets, no sleeping."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from simulator.load.histogram import LatencyHistogram
from simulator.load.openloop import DISPATCH_GRACE_S, OpenLoop
from simulator.load.recorder import Aggregate, Recorder
from simulator.load.schedule import Schedule, Stage

SERVICE_S = 0.0001


class FakeConn:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.busy = False
        self.intended = 0.0
        self.index = -1
        self.sent_at = 0.0
        self.is_open = True
        self.sends: list[tuple[int, float]] = []

    @property
    def open(self) -> bool:
        return self.is_open

    def send(self, request: bytes) -> None:
        self.busy = True
        self.sends.append((self.index, self.sim.now))
        self.sim.arrive(self)

    def abort(self) -> None:
        self.busy = False
        if self.is_open:
            self.is_open = False
            self.sim.ol.closed(self, self.sim.now)  # as connection_lost -> on_closed does


@dataclass
class Sim:
    """A receiver model: ``respond_at(arrival) -> completion time`` (None: never answers)."""

    schedule: Schedule
    connections: int
    respond_at: Callable[[float], float | None] = lambda t: t + SERVICE_S
    budget_s: float = 3.0
    connect_ok: bool = True
    now: float = 0.0
    heap: list[tuple[float, int, FakeConn]] = field(default_factory=list)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    sent_latency: LatencyHistogram = field(default_factory=LatencyHistogram)  # what a closed loop would report
    conns: list[FakeConn] = field(default_factory=list)
    pending_connects: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.budget_s, service_time=True)
        self.ol = OpenLoop(self.schedule, self.recorder, connections=self.connections, make_request=lambda: b"x",
                           open_connection=self.pending_connects.append, budget_s=self.budget_s)
        for _ in range(self.connections):
            c = FakeConn(self)
            self.conns.append(c)
            self.ol.live.add(c)
            self.ol.idle.append(c)

    def arrive(self, conn: FakeConn) -> None:
        done = self.respond_at(self.now)
        if done is not None:
            heapq.heappush(self.heap, (done, next(self.seq), conn))

    def run(self, until: float = 1e9) -> Aggregate:
        ol = self.ol
        ol.start(0.0)
        while not ol.finished(self.now) and self.now < until:
            ol.pump(self.now)
            while self.pending_connects:
                k = self.pending_connects.pop(0)
                if self.connect_ok:
                    c = FakeConn(self)
                    self.conns.append(c)
                    ol.connected(c, k, self.now)
                else:
                    ol.connect_failed(k, "connect", "refused")
            ol.check_timeouts(self.now)
            if ol.finished(self.now):
                break
            candidates = [t for t in (ol.next_wake(self.now), self.heap[0][0] if self.heap else None) if t is not None]
            busy = [c for c in ol.live if c.busy]
            if busy:
                candidates.append(min(c.sent_at for c in busy) + self.budget_s + 1e-6)
            if not candidates:
                candidates.append(ol.end + DISPATCH_GRACE_S + 1e-6)
            self.now = max(self.now, min(candidates))
            while self.heap and self.heap[0][0] <= self.now:
                _, _, conn = heapq.heappop(self.heap)
                if conn.busy and conn.open:
                    self.sent_latency.record_s(self.now - conn.sent_at)
                    conn.busy = False
                    ol.response(conn, 200, self.now)
        agg = Aggregate(1)
        agg.add(self.recorder.roll())
        agg.finish()
        return agg


def test_requests_leave_at_their_intended_times() -> None:
    sim = Sim(Schedule.constant(1000, 1.0), connections=4)
    agg = sim.run()
    assert agg.total.sent == 1000
    assert agg.total.acked == 1000
    assert agg.total.within_budget == 1000
    sends = sorted(s for c in sim.conns for s in c.sends)
    assert [k for k, _ in sends] == list(range(1000))
    for k, t in sends:
        assert t == pytest.approx(k / 1000.0)
    assert sim.ol.lag_max == pytest.approx(0.0, abs=1e-9)
    assert agg.hist.value_at_ms(99.99) < 0.2


def test_a_stall_shows_in_p99_where_a_closed_loop_hides_it() -> None:
    # The receiver answers nothing between 0.5 s and 0.7 s, then catches up.
    def respond_at(t: float) -> float:
        return (0.7 if 0.5 <= t < 0.7 else t) + SERVICE_S

    sim = Sim(Schedule.constant(1000, 1.0), connections=4, respond_at=respond_at)
    agg = sim.run()
    assert agg.total.acked == 1000
    # ~200 requests were due during the stall; each waited from its intended time until 0.7 s.
    assert agg.hist.value_at_ms(99) > 150
    assert agg.hist.value_at_ms(90) > 50
    assert agg.hist.value_at_ms(50) < 1
    # Measured from the actual send time (closed-loop style), only the 4 stuck requests look slow.
    assert sim.sent_latency.value_at_ms(99) < 1
    assert sim.sent_latency.max_ms() > 150
    # ... which is what the recorder's optional service-time histogram reports too
    assert agg.service is not None
    assert agg.service.count == 1000
    assert agg.service.value_at_ms(99) < 1 and agg.service.max_ms() > 150


def test_backlog_is_a_number_not_a_queue() -> None:
    sim = Sim(Schedule.constant(1000, 1.0), connections=2,
              respond_at=lambda t: (0.6 if 0.2 <= t < 0.6 else t) + SERVICE_S)
    wakes: list[float] = []
    sim.ol.wake = lambda: wakes.append(sim.now)
    sim.run(until=0.55)
    assert sim.ol.due(0.55) - sim.ol.next > 300  # due but unsent: nothing stored per request
    assert sim.ol.next_wake(0.55) is None  # no timer while a backlog waits for a connection
    assert wakes == []
    sim.run()  # the stall ends at 0.6 s, the backlog drains, connections go idle again ...
    assert len(wakes) == 1 and 0.6 < wakes[0] < 0.7  # ... and the sleeping driver is woken to time the next one
    assert sim.ol.sent_count == 1000


def test_no_response_times_out_and_reconnects() -> None:
    sim = Sim(Schedule.constant(100, 1.0), connections=2, budget_s=0.1,
              respond_at=lambda t: None if t >= 0.3 else t + SERVICE_S)
    agg = sim.run()
    t = agg.total
    assert t.timeout > 0
    assert t.acked == 30
    assert t.acked + t.timeout + t.error + t.unsent == 100
    # timeouts are recorded at their age (>= the budget), so the tail shows them
    assert agg.hist.max_ms() >= 100


def test_dead_receiver_counts_errors_and_the_run_ends() -> None:
    sim = Sim(Schedule.constant(100, 1.0), connections=2, budget_s=0.1, connect_ok=False,
              respond_at=lambda t: None if t >= 0.5 else t + SERVICE_S)
    agg = sim.run()
    t = agg.total
    assert t.acked == 50
    assert t.error > 0
    assert t.errors["connect"] == t.error
    assert t.acked + t.timeout + t.error + t.unsent == 100


def test_stuck_connections_leave_the_rest_unsent() -> None:
    sim = Sim(Schedule.constant(100, 1.0), connections=2, budget_s=100.0, respond_at=lambda t: None)
    agg = sim.run()
    assert agg.total.sent == 2
    assert agg.total.unsent == 98  # counted when dispatching stopped, DISPATCH_GRACE_S after the end
    assert sim.ol.stopped
    assert agg.total.timeout == 2  # the run then waits for what is in flight, up to its budget
    assert sim.now == pytest.approx(100.01, abs=0.001)


def test_ramp_stages_send_the_integral() -> None:
    sim = Sim(Schedule([Stage(1.0, 400.0), Stage(0.5, 400.0)], start_rate=0.0), connections=8)
    agg = sim.run()
    assert agg.total.acked == 200 + 200
    first_half = sum(1 for c in sim.conns for _, t in c.sends if t < 0.5)
    assert first_half == pytest.approx(50, abs=1)  # a quarter of the ramp's 200 in its first half


def test_non_200_is_counted_by_status() -> None:
    sim = Sim(Schedule.constant(10, 1.0), connections=1)
    sim.ol.start(0.0)
    conn = sim.conns[0]
    sim.ol.pump(0.0)
    sim.ol.response(conn, 503, 0.001)
    assert sim.recorder.interval.non_200 == 1
    assert sim.recorder.interval.statuses["503"] == 1
    sim.ol.accept_2xx = True
    sim.ol.pump(0.1)
    sim.ol.response(conn, 204, 0.101)
    assert sim.recorder.interval.acked == 1


def test_platform_answers_are_judged_by_their_body() -> None:
    import json

    from simulator.load.platform_driver import judge_platform_answer

    def answer(acked: int, outcomes: dict[str, int]) -> bytes:
        return json.dumps({"summary": {"total": 1, "acked": acked, "outcomes": outcomes}, "deliveries": []}).encode()

    assert judge_platform_answer(200, answer(1, {"acked": 1})) == (True, "acked")
    assert judge_platform_answer(200, answer(0, {"timeout": 1})) == (False, "ack:timeout")
    assert judge_platform_answer(200, answer(0, {"not_delivered": 1})) == (False, "ack:not_delivered")
    assert judge_platform_answer(401, b'{"error": "token"}') == (False, "401")
    assert judge_platform_answer(200, b"<html>") == (False, "ack:unreadable")

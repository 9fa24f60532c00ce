"""What every load driver shares: the plan, the worker's share of it, and the run loop around ``OpenLoop``.

The driver owns the real time (``time.perf_counter``; the platform time in events comes from the
``Clock``), the sockets and the one-second ticks; ``OpenLoop`` owns the decisions. What a request is and
how an answer is judged is the concern of the two drivers built on this one: ``WebhookDriver``
(``webhook_driver.py``: sealed events to a URL) and ``PlatformDriver`` (``platform_driver.py``: pushes
through a long-connection platform's control API).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.clock import Clock, SystemClock
from simulator.config import AppProfile, Budget
from simulator.errors import TargetError
from simulator.load.http import HttpConnection, Target, connect, describe_os_error
from simulator.load.openloop import OpenLoop
from simulator.load.recorder import Interval, Recorder
from simulator.load.schedule import Schedule
from simulator.loops import loop_name

PLATFORM_BATCH_MAX = 256  # events per batch push: due events a freed connection takes at once
TICK_S = 1.0
TIMEOUT_CHECK_S = 0.05

OnInterval = Callable[[Interval], None]


@dataclass(frozen=True)
class LoadPlan:
    """Everything one run needs; picklable, so worker processes get the same plan."""

    url: str
    schedule: Schedule
    connections: int = 32
    event_type: str = "vc.meeting.share_ended_v1"
    app: AppProfile = field(default_factory=AppProfile)
    seed: int | None = None
    locale: str = "zh_CN"
    budget: Budget = field(default_factory=Budget)
    accept_2xx: bool = False
    pool_size: int = 512
    refresh_every: int = 16
    service_time: bool = False  # also record latency from the actual send time (what a closed loop reports)
    scenario: str | None = None  # a scenario name or file: its events instead of one event type
    platform: str | None = None  # long connection: push through this platform's control API instead of a webhook
    control_token: str | None = None
    platform_batch: int = PLATFORM_BATCH_MAX  # at most this many due events per control-API call (1: one each)


@dataclass
class WorkerStats:
    worker: int
    loop: str
    sent: int
    lag_mean_ms: float
    lag_max_ms: float
    last_send_s: float
    source: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Driver:
    """One process's run: sockets, timers and ticks around an ``OpenLoop``. Subclasses give the target
    and say what a request is (``_request``, ``_batch_request``) and how an answer is judged
    (``_on_response``)."""

    body_limit = 200  # how much of each answer's body to keep

    def __init__(self, plan: LoadPlan, target: Target, *, worker: int = 0, workers: int = 1,
                 clock: Clock | None = None, perf: Callable[[], float] = time.perf_counter,
                 budget_s: float | None = None, batch_max: int = 1, batched: bool = False) -> None:
        self.plan = plan
        self.target = target
        self.worker = worker
        self.perf = perf
        self.clock: Clock = clock or SystemClock()
        base = plan.schedule
        # Workers interleave: worker i starts i/R later, so N workers do not fire in bursts of N.
        offset = worker / base.start_rate if base.start_rate > 0 else 0.0
        self.schedule = base if workers == 1 else base.scaled(1.0 / workers, offset=offset)
        self.connections = plan.connections // workers + (1 if worker < plan.connections % workers else 0)
        self.recorder = Recorder(plan.budget.total_s, service_time=plan.service_time)
        self.ol = OpenLoop(self.schedule, self.recorder, connections=max(1, self.connections),
                           make_request=self._request, open_connection=self._open,
                           budget_s=plan.budget.total_s if budget_s is None else budget_s,
                           accept_2xx=plan.accept_2xx, wake=self._wake, batch_max=batch_max,
                           make_batch=self._batch_request if batched else None)
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiter: asyncio.Future[None] | None = None

    # -- what subclasses decide -------------------------------------------------------------------------------
    def _request(self) -> bytes:
        raise NotImplementedError

    def _batch_request(self, n: int) -> bytes:
        raise NotImplementedError

    def _on_response(self, conn: HttpConnection, status: int) -> None:
        raise NotImplementedError

    def source_stats(self) -> dict[str, Any]:
        """Where the events came from, for the report."""
        raise NotImplementedError

    # -- plumbing for OpenLoop --------------------------------------------------------------------------------
    def _conn(self) -> HttpConnection:
        conn = HttpConnection(self._on_response, self._on_failure, self._on_closed)
        conn.body_limit = self.body_limit
        return conn

    def _on_failure(self, conn: HttpConnection, kind: str, detail: str) -> None:
        self.ol.failure(conn, kind, detail)

    def _on_closed(self, conn: HttpConnection) -> None:
        self.ol.closed(conn, self.perf())

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _sleep(self, delay: float) -> None:
        """Sleep up to ``delay`` seconds, or until ``_wake`` (what ``asyncio.sleep`` does, plus a wake-up)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiter = fut
        handle = loop.call_later(delay, _resolve, fut)
        try:
            await fut
        finally:
            handle.cancel()
            self._waiter = None

    def _open(self, k: int) -> None:
        task = asyncio.get_running_loop().create_task(self._open_for(k))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open_for(self, k: int) -> None:
        try:
            conn = await connect(self.target, self._conn, self.plan.budget.connect_s)
        except (OSError, asyncio.TimeoutError) as exc:
            self.ol.connect_failed(k, "connect", describe_os_error(exc))
            return
        self.ol.connected(conn, k, self.perf())

    # -- the run ---------------------------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Open the connections before the clock starts (as wrk does); fail fast when none opens."""
        for _ in range(max(1, self.connections)):
            try:
                conn = await connect(self.target, self._conn, self.plan.budget.connect_s)
            except (OSError, asyncio.TimeoutError) as exc:
                raise TargetError(f"cannot reach {self.target.host}:{self.target.port}: "
                                  f"{describe_os_error(exc)}") from None
            self.ol.live.add(conn)
            self.ol.idle.append(conn)

    async def run(self, t0: float, on_interval: OnInterval) -> WorkerStats:
        perf = self.perf
        ol = self.ol
        now = perf()
        if t0 > now:
            await asyncio.sleep(t0 - now)
        ol.start(t0)
        next_tick = t0 + TICK_S
        next_check = t0 + TIMEOUT_CHECK_S
        while True:
            now = perf()
            ol.pump(now)
            if now >= next_check:
                ol.check_timeouts(now)
                next_check = now + TIMEOUT_CHECK_S
            if now >= next_tick:
                on_interval(self.recorder.roll())
                next_tick += TICK_S
            if ol.finished(now):
                break
            wake = ol.next_wake(now)
            until = min(next_tick, next_check) if wake is None else min(wake, next_tick, next_check)
            delay = until - perf()
            await self._sleep(delay if delay > 0 else 0)
        return self._finish(t0, on_interval)

    def _finish(self, t0: float, on_interval: OnInterval) -> WorkerStats:
        ol = self.ol
        for conn in list(ol.live):
            conn.abort()
        for task in list(self._tasks):
            task.cancel()
        last = self.recorder.interval
        if last.sent or last.done or last.unsent or self.recorder.second == 0:
            on_interval(self.recorder.roll())
        loop = asyncio.get_running_loop()
        return WorkerStats(worker=self.worker, loop=loop_name(loop), sent=ol.sent_count,
                           lag_mean_ms=round(ol.lag_sum / ol.sent_count * 1000, 3) if ol.sent_count else 0.0,
                           lag_max_ms=round(ol.lag_max * 1000, 3), last_send_s=round(ol.last_sent_at - t0, 6),
                           source=self.source_stats())


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)

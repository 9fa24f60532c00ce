"""Running an open-loop plan: one process (``drive``) or several (``run_workers``), merged into one result.

The driver owns the real time (``time.perf_counter``; the platform time in events comes from the
``Clock``), the sockets and the one-second ticks; ``OpenLoop`` owns the decisions. Worker processes
(``spawn``) each run the same driver at ``rate / N`` over ``connections / N`` connections, start at one
shared instant (``perf_counter`` is system-wide on Linux and macOS) and send each closed second to the
parent as counters + an encoded HDR histogram, which the parent merges.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import queue as queue_mod
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator import constants as C
from simulator.clock import Clock, SystemClock
from simulator.config import AppProfile, Budget
from simulator.errors import SimulatorError, TargetError
from simulator.generation.factory import EventFactory
from simulator.load.events import EventSource, ScenarioSource
from simulator.load.http import HttpConnection, Target, connect, describe_os_error
from simulator.load.openloop import OpenLoop
from simulator.load.recorder import Aggregate, Counts, Interval, Recorder
from simulator.load.schedule import Schedule
from simulator.loops import loop_name, new_event_loop
from simulator.rand import SimRandom
from simulator.verdicts.ack import http_acked

PLATFORM_PUSH_PATH = f"{C.CONTROL_PREFIX}/push"
PLATFORM_BATCH_PATH = f"{C.CONTROL_PREFIX}/push/batch"
PLATFORM_BATCH_MAX = 256  # events per batch push: due events a freed connection takes at once
PLATFORM_SLACK_S = 2.0  # the platform judges the 3 s ack budget itself; its HTTP answer may take a bit longer
SEAL_AHEAD_S = 0.002  # seal at most this much of the schedule ahead of sending ...
SEAL_AHEAD_MAX = 32  # ... and at most this many requests
TICK_S = 1.0
TIMEOUT_CHECK_S = 0.05
START_DELAY_S = 0.25  # between "everyone is ready" and the first request of a multi-process run

OnInterval = Callable[[Interval], None]


@dataclass(frozen=True)
class LoadPlan:
    """Everything one run needs; picklable, so worker processes get the same plan."""

    url: str
    schedule: Schedule
    connections: int = 32
    event_type: str = C.DEFAULT_EVENT_TYPE
    app: AppProfile = field(default_factory=AppProfile)
    seed: int | None = None
    locale: str = C.DEFAULT_LOCALE
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
    """One process's run: sockets, timers and ticks around an ``OpenLoop``."""

    def __init__(self, plan: LoadPlan, *, worker: int = 0, workers: int = 1, clock: Clock | None = None,
                 perf: Callable[[], float] = time.perf_counter) -> None:
        self.plan = plan
        self.worker = worker
        self.perf = perf
        self.clock: Clock = clock or SystemClock()
        share = 1.0 / workers
        base = plan.schedule
        # Workers interleave: worker i starts i/R later, so N workers do not fire in bursts of N.
        offset = worker / base.start_rate if base.start_rate > 0 else 0.0
        self.schedule = base if workers == 1 else base.scaled(share, offset=offset)
        self.connections = plan.connections // workers + (1 if worker < plan.connections % workers else 0)
        self.source: EventSource | None = None
        self._fixed = b""
        timeout = plan.budget.total_s
        if plan.platform:
            # The platform generates each event itself (plain JSON, empty token, as over the long connection),
            # pushes it to a connected client and answers with the judged ack: one push per request.
            # With batching (the default), a connection that frees up takes every due event (at most
            # ``platform_batch``) in one ``/_sim/push/batch`` call, so the control plane's round trips do
            # not cap the rate; each event keeps its intended time and gets its own verdict.
            batched = plan.platform_batch > 1
            path = PLATFORM_BATCH_PATH if batched else PLATFORM_PUSH_PATH
            self.target = Target(plan.platform.rstrip("/") + path)
            self._auth = (("Authorization", f"Bearer {plan.control_token}"),) if plan.control_token else ()
            self._batch_requests: dict[int, bytes] = {}
            self._fixed = self._batch_request(1)
            timeout += PLATFORM_SLACK_S
        else:
            self.target = Target(plan.url)
            rand = SimRandom(plan.seed)
            if workers > 1:
                rand = rand.fork(f"load-worker-{worker}")
            factory = EventFactory(app=plan.app, rand=rand, clock=self.clock, locale=plan.locale)
            if plan.scenario is not None:
                from simulator.generation import scenarios

                self.source = ScenarioSource(factory, scenarios.load(plan.scenario),
                                             encrypt_key=plan.app.encrypt_key)
            else:
                self.source = EventSource(factory, plan.event_type, encrypt_key=plan.app.encrypt_key,
                                          pool_size=plan.pool_size, refresh_every=plan.refresh_every)
        self.recorder = Recorder(plan.budget.total_s, service_time=plan.service_time)
        self.ol = OpenLoop(self.schedule, self.recorder, connections=max(1, self.connections),
                           make_request=self._request if self.source else self._platform_request,
                           open_connection=self._open, budget_s=timeout, accept_2xx=plan.accept_2xx,
                           wake=self._wake, batch_max=plan.platform_batch if plan.platform else 1,
                           make_batch=self._batch_request if plan.platform else None)
        self._ahead: list[bytes] = []  # requests sealed ahead (at most SEAL_AHEAD_MAX)
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiter: asyncio.Future[None] | None = None

    # -- plumbing for OpenLoop --------------------------------------------------------------------------
    def _request(self) -> bytes:
        """The next sealed request. At high rates requests are sealed a few at a time (at most
        ``SEAL_AHEAD_S`` of the schedule ahead, so ``create_time`` and the signature timestamp lead the send by
        a millisecond or two): sealing in a tight loop keeps its code and data in the CPU caches, which the
        network path between two requests evicts (+15-20 % throughput, measured)."""
        ahead = self._ahead
        if ahead:
            return ahead.pop()
        source = self.source
        assert source is not None
        n = min(SEAL_AHEAD_MAX, int(self.schedule.rate_at(self.perf() - self.ol.t0) * SEAL_AHEAD_S))
        if n <= 1:
            return source.request(self.clock.now(), self.target.head)
        now, head = self.clock.now, self.target.head
        ahead.extend(source.request(now(), head) for _ in range(n))
        ahead.reverse()
        return ahead.pop()

    def _platform_request(self) -> bytes:
        return self._fixed

    def _batch_request(self, n: int) -> bytes:
        request = self._batch_requests.get(n)
        if request is None:
            body = json.dumps({"event_type": self.plan.event_type, "count": n,
                               "app_id": self.plan.app.app_id}).encode()
            request = self._batch_requests[n] = self.target.request(body, self._auth)
        return request

    def _conn(self) -> HttpConnection:
        conn = HttpConnection(self._on_response, self._on_failure, self._on_closed)
        if self.source is None:
            conn.body_limit = 1 << 20  # platform answers are judged by their body
        return conn

    def _on_response(self, conn: HttpConnection, status: int) -> None:
        if self.source is None:
            if self.plan.platform_batch > 1:
                results = judge_batch_answer(status, conn.body_excerpt, self.ol.carried(conn))
                bad = next((label for ok, label in results if not ok), None)
                if bad is not None:
                    self.recorder.sample(f"{bad}: {conn.body_excerpt[:300].decode('utf-8', 'replace')}")
                self.ol.verdicts(conn, results, self.perf())
                return
            ok, label = judge_platform_answer(status, conn.body_excerpt)
            if not ok:
                self.recorder.sample(f"{label}: {conn.body_excerpt[:300].decode('utf-8', 'replace')}")
            self.ol.verdict(conn, ok, label, self.perf())
            return
        if not http_acked(status, accept_2xx=self.plan.accept_2xx):
            self.recorder.sample(f"HTTP {status}: {conn.body_excerpt.decode('utf-8', 'replace')}")
        self.ol.response(conn, status, self.perf())

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
                           source=self.source.stats() if self.source else {"generated_by": "platform"})


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def judge_platform_answer(status: int, body: bytes) -> tuple[bool, str]:
    """(acked, label) from a platform's ``/_sim/push`` answer for one event: acked when the client's ack
    was judged ``acked``; otherwise the label is the outcome (``ack:timeout``, ``ack:not_delivered``...)
    or the HTTP status when the platform refused the push."""
    if status != 200:
        return False, str(status)
    try:
        doc = json.loads(body)
        summary = doc["summary"]
        if int(summary["acked"]) >= 1:
            return True, "acked"
        outcomes = summary.get("outcomes") or {}
        return False, "ack:" + (max(outcomes, key=lambda k: outcomes[k]) if outcomes else "none")
    except (ValueError, KeyError, TypeError):
        return False, "ack:unreadable"


def judge_batch_answer(status: int, body: bytes, n: int) -> list[tuple[bool, str]]:
    """One (acked, label) per event from a ``/_sim/push/batch`` answer for ``n`` events: ``acked``, or
    ``ack:<outcome>``; all of them the HTTP status when the platform refused the push, or
    ``ack:unreadable`` when the answer cannot be read or does not have ``n`` verdicts."""
    if status != 200:
        return [(False, str(status))] * n
    try:
        verdicts = json.loads(body)["verdicts"]
        if not isinstance(verdicts, list) or len(verdicts) != n:
            raise ValueError("wrong number of verdicts")
        return [(True, "acked") if v == "acked" else (False, f"ack:{v}") for v in verdicts]
    except (ValueError, KeyError, TypeError):
        return [(False, "ack:unreadable")] * n


# -- one process ---------------------------------------------------------------------------------------------
async def run_in_process(plan: LoadPlan, on_interval: OnInterval, *, clock: Clock | None = None,
                         driver_class: type[Driver] = Driver) -> tuple[Aggregate, list[WorkerStats]]:
    agg = Aggregate(1)
    driver = driver_class(plan, clock=clock)
    await driver.prepare()

    def handle(iv: Interval) -> None:
        merged = agg.add(iv)
        if merged is not None:
            on_interval(merged)

    stats = await driver.run(time.perf_counter() + 0.01, handle)
    agg.finish()
    return agg, [stats]


# -- several processes --------------------------------------------------------------------------------------
def _worker_main(plan: LoadPlan, worker: int, workers: int, out: Any, go: Any, t0: Any) -> None:
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        driver = Driver(plan, worker=worker, workers=workers)
        loop.run_until_complete(driver.prepare())
        out.put(("ready", worker, None))
        go.wait()

        def send(iv: Interval) -> None:
            service = iv.service.encode() if iv.service is not None else None
            out.put(("interval", worker, (iv.second, iv.counts.to_json(), iv.hist.encode(), service)))

        stats = loop.run_until_complete(driver.run(t0.value, send))
        out.put(("done", worker, stats.to_json()))
    except SimulatorError as exc:
        out.put(("error", worker, str(exc)))
    except BaseException as exc:  # reported to the parent, which fails the run with one line
        out.put(("error", worker, f"{type(exc).__name__}: {exc}"))
    finally:
        loop.close()


async def run_workers(plan: LoadPlan, workers: int, on_interval: OnInterval
                      ) -> tuple[Aggregate, list[WorkerStats]]:
    """Run ``plan`` in ``workers`` processes; the parent's loop stays free (it may host the receiver)."""
    from simulator.load.histogram import LatencyHistogram

    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    go = ctx.Event()
    t0 = ctx.Value("d", 0.0)
    procs = [ctx.Process(target=_worker_main, args=(plan, i, workers, out, go, t0), daemon=True,
                         name=f"feishu-sim-load-{i}") for i in range(workers)]
    for p in procs:
        p.start()
    loop = asyncio.get_running_loop()
    agg = Aggregate(workers)
    stats: list[WorkerStats] = []
    ready = 0
    limit = time.monotonic() + 60.0 + plan.schedule.duration + plan.schedule.offset
    try:
        while len(stats) < workers:
            try:
                kind, _worker, payload = await loop.run_in_executor(None, out.get, True, 0.5)
            except queue_mod.Empty:
                if time.monotonic() > limit or any(not p.is_alive() and p.exitcode not in (0, None) for p in procs):
                    raise SimulatorError("a load worker process died") from None
                continue
            if kind == "error":
                raise (TargetError(payload) if "cannot reach" in str(payload) else SimulatorError(str(payload)))
            if kind == "ready":
                ready += 1
                if ready == workers:
                    t0.value = time.perf_counter() + START_DELAY_S
                    go.set()
            elif kind == "interval":
                second, counts, encoded, service = payload
                merged = agg.add(Interval(int(second), Counts.from_json(counts), LatencyHistogram.decode(encoded),
                                          LatencyHistogram.decode(service) if service else None))
                if merged is not None:
                    on_interval(merged)
            elif kind == "done":
                stats.append(WorkerStats(**payload))
    finally:
        go.set()
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    agg.finish()
    stats.sort(key=lambda s: s.worker)
    return agg, stats

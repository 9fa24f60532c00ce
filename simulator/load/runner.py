"""Running an open-loop plan: one process (``run_in_process``) or several (``run_workers``), merged into one
result.

Worker processes (``spawn``) each run the same driver (``WebhookDriver`` or ``PlatformDriver``, see
``driver_for``) at ``rate / N`` over ``connections / N`` connections, start at one shared instant
(``perf_counter`` is system-wide on Linux and macOS) and send each closed second to the parent as counters
+ an encoded HDR histogram, which the parent merges. A worker's error reaches the parent by type: the
name of its class in the project's error hierarchy (``simulator.errors``) and its message.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import queue as queue_mod
import time
from collections.abc import Callable
from typing import Any

from simulator import errors
from simulator.clock import Clock
from simulator.errors import SimulatorError
from simulator.load.driver import Driver, LoadPlan, OnInterval, WorkerStats
from simulator.load.histogram import LatencyHistogram
from simulator.load.platform_driver import PlatformDriver
from simulator.load.recorder import Aggregate, Counts, Interval
from simulator.load.webhook_driver import WebhookDriver
from simulator.loops import new_event_loop

START_DELAY_S = 0.25  # between "everyone is ready" and the first request of a multi-process run

# The closed registry of errors that cross the process boundary by type: the project's own classes.
ERRORS: dict[str, type[SimulatorError]] = {
    cls.__name__: cls for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, SimulatorError) and cls.__module__ == errors.__name__}


def driver_for(plan: LoadPlan, *, worker: int = 0, workers: int = 1, clock: Clock | None = None) -> Driver:
    """The platform driver when the plan names a platform, the webhook driver otherwise."""
    if plan.platform:
        return PlatformDriver(plan, worker=worker, workers=workers, clock=clock)
    return WebhookDriver(plan, worker=worker, workers=workers, clock=clock)


def error_to_wire(exc: BaseException) -> tuple[str, str]:
    """(class name, message) for the parent: the nearest class of ours in ``exc``'s ancestry, so the parent
    raises the same type; anything else becomes a ``SimulatorError`` that names the original type."""
    for cls in type(exc).__mro__:
        if ERRORS.get(cls.__name__) is cls:
            return cls.__name__, str(exc)
    return SimulatorError.__name__, f"{type(exc).__name__}: {exc}"


def error_from_wire(name: str, message: str) -> SimulatorError:
    """The error ``error_to_wire`` described (an unknown name: a plain ``SimulatorError``). Built without
    calling the class's ``__init__``: some take other arguments than the message."""
    cls = ERRORS.get(name, SimulatorError)
    exc = cls.__new__(cls)
    exc.args = (message,)
    return exc


# -- one process ---------------------------------------------------------------------------------------------
async def run_in_process(plan: LoadPlan, on_interval: OnInterval, *, clock: Clock | None = None,
                         driver_class: Callable[..., Driver] = driver_for) -> tuple[Aggregate, list[WorkerStats]]:
    """``driver_class``: makes the driver from ``(plan, clock=...)`` (e.g. a ``WebhookDriver`` subclass)."""
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
        driver = driver_for(plan, worker=worker, workers=workers)
        loop.run_until_complete(driver.prepare())
        out.put(("ready", worker, None))
        go.wait()

        def send(iv: Interval) -> None:
            service = iv.service.encode() if iv.service is not None else None
            out.put(("interval", worker, (iv.second, iv.counts.to_json(), iv.hist.encode(), service)))

        stats = loop.run_until_complete(driver.run(t0.value, send))
        out.put(("done", worker, stats.to_json()))
    except BaseException as exc:  # reported to the parent, which fails the run with one line
        out.put(("error", worker, error_to_wire(exc)))
    finally:
        loop.close()


class _Merge:
    """The parent's side of a multi-process run: start everyone at once, merge their seconds."""

    def __init__(self, workers: int, go: Any, t0: Any, on_interval: OnInterval) -> None:
        self.workers = workers
        self.go = go
        self.t0 = t0
        self.on_interval = on_interval
        self.agg = Aggregate(workers)
        self.stats: list[WorkerStats] = []
        self.ready = 0

    def take(self, kind: str, payload: Any) -> None:
        if kind == "error":
            raise error_from_wire(*payload)
        if kind == "ready":
            self.ready += 1
            if self.ready == self.workers:
                self.t0.value = time.perf_counter() + START_DELAY_S
                self.go.set()
        elif kind == "interval":
            second, counts, encoded, service = payload
            merged = self.agg.add(Interval(int(second), Counts.from_json(counts), LatencyHistogram.decode(encoded),
                                           LatencyHistogram.decode(service) if service else None))
            if merged is not None:
                self.on_interval(merged)
        elif kind == "done":
            self.stats.append(WorkerStats(**payload))


async def run_workers(plan: LoadPlan, workers: int, on_interval: OnInterval
                      ) -> tuple[Aggregate, list[WorkerStats]]:
    """Run ``plan`` in ``workers`` processes; the parent's loop stays free (it may host the receiver)."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    go = ctx.Event()
    t0 = ctx.Value("d", 0.0)
    procs = [ctx.Process(target=_worker_main, args=(plan, i, workers, out, go, t0), daemon=True,
                         name=f"feishu-sim-load-{i}") for i in range(workers)]
    for p in procs:
        p.start()
    loop = asyncio.get_running_loop()
    merge = _Merge(workers, go, t0, on_interval)
    limit = time.monotonic() + 60.0 + plan.schedule.duration + plan.schedule.offset
    try:
        while len(merge.stats) < workers:
            try:
                kind, _worker, payload = await loop.run_in_executor(None, out.get, True, 0.5)
            except queue_mod.Empty:
                if time.monotonic() > limit or any(not p.is_alive() and p.exitcode not in (0, None) for p in procs):
                    raise SimulatorError("a load worker process died") from None
                continue
            merge.take(kind, payload)
    finally:
        go.set()
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    merge.agg.finish()
    merge.stats.sort(key=lambda s: s.worker)
    return merge.agg, merge.stats

"""A discrete-event scheduler on the platform clock: concurrent retry ladders, delays and bursts, ordered by
platform time.

Why: with ``VirtualClock(scale=0)`` time only moves when someone moves it. If every ladder slept on the
clock by itself, two concurrent ladders waiting 15 s would move the clock 30 s, and which one went first
would depend on socket timing. Instead every planned attempt is an *entry* ``(due, order)`` here, and one
runner task starts entries when they are due:

* entries start in ``(due, order, seq)`` order, at most ``limit`` in flight per batch (a ``push`` call);
* an **instant** clock jumps to the next due time only when nothing is in flight and nothing more is due
  (after letting concurrently submitted work arrive), so the order of attempts, hence the transcript, is
  the same on every run of the same seed -- whatever the receiver's real latencies;
* a real or scaled clock simply waits (``due - now`` x scale in real time); an entry that could not start
  on time (all slots busy) starts late and records its actual send time.

One runner exists per event loop and exits when there is nothing left, so a ``Simulator`` can be used
from several ``asyncio.run`` calls in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from simulator.clock import Clock, VirtualClock, is_instant, real_seconds

Action = Callable[[], Coroutine[Any, Any, None]]
SETTLE_YIELDS = 3
# Platform times are floats around 1.7e9 (ulp ~2.4e-7 s): an entry within a microsecond of now is due, so a
# jump of the clock to an entry's due time always makes it due despite rounding.
TIME_EPSILON = 1e-6


# A planned attempt: ``(due, order, seq, action)``, a plain tuple so that the heap compares in C (the
# unique ``seq`` decides before the action would be compared).
_Entry = tuple[float, tuple[int, ...], int, Action]
# Entries made on demand: ``(due, order, action)`` in nondecreasing ``(due, order)`` (see ``Scheduler.feed``).
Feed = Iterator[tuple[float, tuple[int, ...], Action]]


class Batch:
    """A group of entries (one ``push`` or ``deliver`` call) with its own in-flight limit.

    ``done`` resolves when the batch has nothing pending and nothing in flight (or with the first
    exception an action raised)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.heap: list[_Entry] = []
        self.feed: Feed | None = None
        self.head: _Entry | None = None  # the feed's next entry, made only when the runner looks at it
        self.inflight: set[asyncio.Task[None]] = set()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.error: BaseException | None = None  # what the feed raised (the batch fails with it)
        self.paused = False  # start nothing for now (``Scheduler.pause``)
        self.halted = False  # start nothing more (``Scheduler.halt``): no new entry is planned for it either

    @property
    def has_room(self) -> bool:
        return not self.paused and (self.limit is None or len(self.inflight) < self.limit)

    @property
    def idle(self) -> bool:
        return not self.heap and self.head is None and not self.inflight

    def top(self) -> _Entry | None:
        """The batch's next entry: the heap's or the feed's, whichever is first."""
        head = self.head
        if head is not None and (not self.heap or head < self.heap[0]):
            return head
        return self.heap[0] if self.heap else None

    def pop(self, seq: Iterator[int]) -> Action:
        head = self.head
        if head is not None and (not self.heap or head < self.heap[0]):
            self.advance(seq)
            return head[3]
        return heapq.heappop(self.heap)[3]

    def advance(self, seq: Iterator[int]) -> None:
        try:
            item = None if self.feed is None else next(self.feed, None)
        except Exception as exc:  # e.g. an event that cannot be generated: fail the batch, not the runner
            self.error = exc
            item = None
        if item is None:
            self.feed = self.head = None
        else:
            self.head = (item[0], item[1], next(seq), item[2])

    def drop(self) -> None:
        self.heap.clear()
        self.feed = self.head = None


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.loop = asyncio.get_running_loop()
        self._batches: list[Batch] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    # -- submitting ------------------------------------------------------------------------------
    def batch(self, limit: int | None = None) -> Batch:
        b = Batch(limit if limit is None or limit > 0 else None)
        self._batches.append(b)
        return b

    def schedule(self, batch: Batch, due: float, order: tuple[int, ...], action: Action) -> None:
        """Run ``action`` (one attempt) at platform time ``due``; ties are broken by ``order``."""
        heapq.heappush(batch.heap, (due, order, next(self._seq), action))
        self._wake.set()
        if self._runner is None or self._runner.done():
            self._runner = self.loop.create_task(self._run(), name="feishu-sim-scheduler")

    def feed(self, batch: Batch, entries: Feed) -> None:
        """Like ``schedule`` for many entries, made one at a time when the runner reaches them, so a
        push of a million events does not hold a million planned attempts (and the garbage collector
        does not walk them). The entries must come in nondecreasing ``(due, order)`` and sort before
        anything else the batch will get at the same due time (first attempts before retries)."""
        if batch.feed is not None or batch.head is not None:
            raise RuntimeError("a batch takes one feed")  # the engine's own bug, never a user's input
        batch.feed = entries
        batch.advance(self._seq)
        if batch.error is not None or batch.idle:  # a failed or an empty feed: nothing will finish it later
            self._finish(batch, batch.error)
            return
        self._wake.set()
        if self._runner is None or self._runner.done():
            self._runner = self.loop.create_task(self._run(), name="feishu-sim-scheduler")

    def drain(self) -> None:
        """Start nothing more: drop every batch's pending entries; what is in flight finishes, and each batch
        is done when its last attempt is (the engine's ``stop``)."""
        for batch in list(self._batches):
            batch.drop()
            if batch.idle:
                self._finish(batch)
        self._wake.set()

    def halt(self, batch: Batch) -> None:
        """``drain`` for one batch: drop its pending entries (and its feed); what is in flight finishes, and
        the batch is done when its last attempt is. Whoever plans retries for it checks ``batch.halted``."""
        batch.halted = True
        batch.drop()
        if batch.idle:
            self._finish(batch)
        self._wake.set()

    def pause(self, batch: Batch, paused: bool = True) -> None:
        """Start none of the batch's entries until ``pause(batch, False)``: those due meanwhile start late
        (they record their actual send times); what is in flight goes on."""
        batch.paused = paused
        self._wake.set()

    def cancel(self, batch: Batch) -> None:
        """Drop a batch's pending attempts and cancel those in flight (its caller was cancelled)."""
        batch.drop()
        for task in list(batch.inflight):
            task.cancel()
        self._finish(batch)
        self._wake.set()  # the runner may be waiting for one of them; let it notice

    # -- running ---------------------------------------------------------------------------------
    def _finish(self, batch: Batch, exc: BaseException | None = None) -> None:
        if batch in self._batches and (exc is not None or batch.idle):
            self._batches.remove(batch)
            if exc is not None:
                batch.drop()
                for task in list(batch.inflight):
                    task.cancel()
            if not batch.done.done():
                if exc is None:
                    batch.done.set_result(None)
                else:
                    batch.done.set_exception(exc)

    def _on_done(self, task: asyncio.Task[None], batch: Batch) -> None:
        batch.inflight.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            self._finish(batch, exc)
        elif batch.idle:
            self._finish(batch)
        elif self._start_due():
            # A slot freed and something due took it: exactly what the runner would do first when woken,
            # without waking it (one task switch less per attempt). It still runs busy, and it is woken
            # by a completion after which nothing was due.
            return
        self._wake.set()

    def _next(self, *, due_only: bool) -> tuple[_Entry, Batch] | None:
        best: tuple[_Entry, Batch] | None = None
        limit = self.clock.now() + TIME_EPSILON if due_only else None
        for b in self._batches:
            top = b.top()
            if top is None or not b.has_room or (limit is not None and top[0] > limit):
                continue
            if best is None or top < best[0]:
                best = (top, b)
        return best

    def _start_due(self) -> bool:
        started = False
        loop = self.loop
        while (found := self._next(due_only=True)) is not None:
            batch = found[1]
            inflight, on_done = batch.inflight, functools.partial(self._on_done, batch=batch)
            # Start every entry of this batch that is due and has room (one ``_next`` scan per batch run).
            while True:
                action = batch.pop(self._seq)
                task: asyncio.Task[None] = loop.create_task(action())
                inflight.add(task)
                task.add_done_callback(on_done)
                started = True
                if batch.error is not None:
                    self._finish(batch, batch.error)
                    break
                if (batch.limit is not None and len(inflight) >= batch.limit) or len(self._batches) > 1:
                    break
                top = batch.top()
                if top is None or top[0] > self.clock.now() + TIME_EPSILON:
                    break
        return started

    def _busy(self) -> bool:
        return any(b.inflight for b in self._batches)

    async def _wait(self, timeout: float | None) -> None:
        if self._wake.is_set():
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _run(self) -> None:
        instant = is_instant(self.clock)
        while any(not b.idle for b in self._batches):
            self._wake.clear()
            if self._start_due():
                continue
            if instant:
                if self._busy():
                    await self._wait(None)
                    continue
                for _ in range(SETTLE_YIELDS):  # let concurrently submitted work arrive first
                    await asyncio.sleep(0)
                if self._start_due() or self._busy():
                    continue
                nxt = self._next(due_only=False)
                if nxt is None:  # every batch with work is paused: nothing to jump to until one resumes
                    await self._wait(None)
                elif isinstance(self.clock, VirtualClock):
                    self.clock.advance_to(nxt[0][0])
            else:
                nxt = self._next(due_only=False)
                timeout = None if nxt is None else max(0.0, real_seconds(self.clock, nxt[0][0] - self.clock.now()))
                await self._wait(timeout)


class Flow:
    """Steers one push from outside while it runs (``Simulator.stream(..., flow=)``): ``pause()`` and
    ``resume()`` (start no attempt meanwhile: back-pressure from a slow reader of its results) and ``halt()``
    (start nothing more -- first attempts, retries, duplicates -- and let what is in flight finish: the
    engine's ``stop`` for this push alone). What is asked before the push starts applies when it does."""

    def __init__(self) -> None:
        self.paused = False
        self.halted = False
        self._bound: tuple[Scheduler, Batch] | None = None

    @property
    def batch(self) -> Batch | None:
        """The push's batch once it started."""
        return None if self._bound is None else self._bound[1]

    def bind(self, sched: Scheduler, batch: Batch) -> None:
        self._bound = (sched, batch)
        if self.halted:
            sched.halt(batch)
        elif self.paused:
            sched.pause(batch)

    def pause(self) -> None:
        self.paused = True
        if self._bound is not None:
            self._bound[0].pause(self._bound[1])

    def resume(self) -> None:
        self.paused = False
        if self._bound is not None:
            self._bound[0].pause(self._bound[1], False)

    def halt(self) -> None:
        self.halted = True
        if self._bound is not None:
            self._bound[0].halt(self._bound[1])

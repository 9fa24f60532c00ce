"""The engine's discrete-event scheduler (``simulator/engine/schedule.py``) on its own: plain coroutines as
attempts, a virtual clock, no sockets and no real sleeps (except one test of a compressed clock, which waits
microseconds)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import constants as C
from simulator.clock import VirtualClock
from simulator.engine.schedule import Action, Batch, Feed, Scheduler
from tests.polling import await_until

T0 = 1_700_000_000.0
LADDER = C.FEISHU_RETRY_DELAYS_S  # 15 s, 5 min, 1 h, 6 h


@dataclass
class Log:
    """What the attempts saw: who started when (platform time), who is in flight, the most ever in flight."""

    clock: VirtualClock
    started: list[tuple[str, float]] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    peak: int = 0
    cancelled: list[str] = field(default_factory=list)

    def action(self, name: str, *, gate: asyncio.Event | None = None, turns: int = 0, takes: float = 0.0,
               then: Callable[[], None] | None = None) -> Action:
        """An attempt named ``name``: it records its start, waits for ``gate`` (if any), stays in flight for
        ``turns`` turns of the event loop, takes ``takes`` seconds of platform time (moving the virtual clock,
        like a slow receiver would), then calls ``then``."""

        async def attempt() -> None:
            self.started.append((name, self.clock.now()))
            self.running.add(name)
            self.peak = max(self.peak, len(self.running))
            try:
                if gate is not None:
                    await gate.wait()
                for _ in range(turns):
                    await asyncio.sleep(0)  # a turn of the loop, no real time
                self.clock.advance(takes)
                if then is not None:
                    then()
            except asyncio.CancelledError:
                self.cancelled.append(name)
                raise
            finally:
                self.running.discard(name)

        return attempt

    async def until_started(self, name: str) -> None:
        """Let the event loop run (no timer) until ``name`` has started."""
        await await_until(lambda: name in self.names, f"attempt {name!r} to start", interval=0)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.started]

    def at(self, name: str) -> float:
        """Platform seconds after ``T0`` at which ``name`` started."""
        return next(t for n, t in self.started if n == name) - T0


def run(body: Callable[[Scheduler, Log], Awaitable[None]], *, scale: float = 0.0) -> Log:
    """Run ``body`` on a fresh scheduler over a virtual clock at ``T0``; afterwards nothing may be left
    running (the scheduler's runner exits when it has nothing to do)."""
    clock = VirtualClock(T0, scale=scale)
    log = Log(clock)

    async def main() -> None:
        await body(Scheduler(clock), log)
        await until_alone()

    asyncio.run(main())
    return log


async def until_alone() -> None:
    """Let the event loop run until the calling task is the only one left (the runner has exited)."""
    await await_until(lambda: asyncio.all_tasks() == {asyncio.current_task()}, "the scheduler's runner to exit",
                      interval=0)


def ladder(sched: Scheduler, batch: Batch, log: Log, name: str, due: float, *, fails: int,
           order: tuple[int, ...] = (0,), attempt: int = 1) -> None:
    """One event's retry ladder: attempt ``attempt`` is due at ``due``; a failed attempt (the first
    ``fails``) plans the next one the ladder's gap after its own start, as the engine does."""

    def next_attempt() -> None:
        if attempt <= fails and attempt <= len(LADDER):
            ladder(sched, batch, log, name, log.clock.now() + LADDER[attempt - 1], fails=fails, order=order,
                   attempt=attempt + 1)

    sched.schedule(batch, due, (*order, attempt), log.action(f"{name}#{attempt}", then=next_attempt))


# -- order -----------------------------------------------------------------------------------------------


def test_attempts_start_by_due_time_then_order_then_submission() -> None:
    plan = [("late", 30.0, (0,)), ("b", 10.0, (2,)), ("a", 10.0, (1,)), ("b-again", 10.0, (2,)), ("first", 0.0, (9,))]

    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(1)
        for name, due, order in plan:
            sched.schedule(batch, T0 + due, order, log.action(name))
        await batch.done

    log = run(body)
    assert log.names == ["first", "a", "b", "b-again", "late"]
    # An instant clock jumps to each due time exactly, and only when nothing is in flight.
    assert [log.at(n) for n in log.names] == [0.0, 10.0, 10.0, 10.0, 30.0]
    assert log.clock.now() == T0 + 30.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=12),
       st.integers(0, 3))
def test_any_plan_starts_in_sorted_order(plan: list[tuple[int, int]], limit: int) -> None:
    """Whatever the plan and the limit (0: none), attempts start in ``(due, order, submission)`` order."""

    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(limit)
        for i, (due, order) in enumerate(plan):
            sched.schedule(batch, T0 + due, (order,), log.action(str(i)))
        await batch.done

    log = run(body)
    expected = sorted(range(len(plan)), key=lambda i: (plan[i][0], plan[i][1], i))
    assert log.names == [str(i) for i in expected]
    assert [log.at(n) for n in log.names] == [float(plan[i][0]) for i in expected]


def test_batches_share_one_timeline() -> None:
    async def body(sched: Scheduler, log: Log) -> None:
        x, y = sched.batch(1), sched.batch(1)
        sched.schedule(x, T0 + 20, (0,), log.action("x20"))
        sched.schedule(y, T0 + 5, (0,), log.action("y5"))
        sched.schedule(x, T0 + 10, (0,), log.action("x10"))
        sched.schedule(y, T0 + 20, (1,), log.action("y20"))
        await asyncio.gather(x.done, y.done)

    log = run(body)
    assert log.names == ["y5", "x10", "x20", "y20"]


def test_an_instant_clock_waits_for_attempts_in_flight() -> None:
    """While an attempt is in flight the instant clock does not jump, even with a free slot and a later
    entry waiting: the attempt may still plan something earlier (here its retry, 15 s on)."""

    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(None)

        def retry() -> None:
            sched.schedule(batch, log.clock.now() + 15, (0,), log.action("retry"))

        sched.schedule(batch, T0, (0,), log.action("first", turns=20, then=retry))
        sched.schedule(batch, T0 + 60, (1,), log.action("later"))
        await batch.done

    log = run(body)
    assert [(n, log.at(n)) for n in log.names] == [("first", 0.0), ("retry", 15.0), ("later", 60.0)]


def test_an_attempt_that_cannot_start_on_time_starts_when_its_slot_frees() -> None:
    """A slow attempt (10 s of platform time) holds the only slot past the next one's due time: that one
    starts late, at once when the slot frees; the one after starts on time."""

    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(1)
        sched.schedule(batch, T0, (0,), log.action("slow", takes=10.0))
        sched.schedule(batch, T0 + 5, (1,), log.action("late"))
        sched.schedule(batch, T0 + 12, (2,), log.action("on-time"))
        await batch.done

    log = run(body)
    assert [(n, log.at(n)) for n in log.names] == [("slow", 0.0), ("late", 10.0), ("on-time", 12.0)]


# -- the retry ladder ------------------------------------------------------------------------------------


def gaps(log: Log, name: str) -> list[float]:
    times = [t for n, t in log.started if n.startswith(f"{name}#")]
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize("fails", [0, 1, 3, 4, 9])
def test_a_ladder_has_the_feishu_gaps(fails: int) -> None:
    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(1)
        ladder(sched, batch, log, "e", T0, fails=fails)
        await batch.done

    log = run(body)
    attempts = min(fails, len(LADDER)) + 1
    assert log.names == [f"e#{n}" for n in range(1, attempts + 1)]
    assert gaps(log, "e") == list(LADDER[: attempts - 1])
    assert log.clock.now() == T0 + sum(LADDER[: attempts - 1])  # 7 h of platform time, in no real time


def test_concurrent_ladders_interleave_on_one_clock() -> None:
    """Two ladders 10 s apart: their attempts interleave by due time, and waiting 15 s in both moves the
    clock 15 s, not 30 s."""

    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(2)
        ladder(sched, batch, log, "a", T0, fails=2, order=(0,))
        ladder(sched, batch, log, "b", T0 + 10, fails=2, order=(1,))
        await batch.done

    log = run(body)
    assert log.names == ["a#1", "b#1", "a#2", "b#2", "a#3", "b#3"]
    assert [log.at(n) for n in log.names] == [0.0, 10.0, 15.0, 25.0, 315.0, 325.0]
    assert gaps(log, "a") == gaps(log, "b") == [15.0, 300.0]


# -- concurrency slots -----------------------------------------------------------------------------------


def test_a_freed_slot_starts_the_next_due_attempt_at_once() -> None:
    async def body(sched: Scheduler, log: Log) -> None:
        gates = {name: asyncio.Event() for name in "abcd"}
        batch = sched.batch(2)
        for i, name in enumerate("abcd"):
            sched.schedule(batch, T0, (i,), log.action(name, gate=gates[name]))
        sched.schedule(batch, T0 + 60, (9,), log.action("later"))
        await log.until_started("b")
        assert log.names == ["a", "b"] and log.running == {"a", "b"}

        gates["b"].set()  # b finishes: c takes its slot, with no platform time passing
        await log.until_started("c")
        assert log.running == {"a", "c"} and log.clock.now() == T0

        gates["a"].set()
        await log.until_started("d")
        assert log.running == {"c", "d"} and log.clock.now() == T0

        gates["c"].set()
        gates["d"].set()
        await batch.done

    log = run(body)
    assert log.names == ["a", "b", "c", "d", "later"]
    assert log.peak == 2
    assert log.at("later") == 60.0  # the clock jumped only once nothing was in flight


def test_each_batch_has_its_own_limit() -> None:
    async def body(sched: Scheduler, log: Log) -> None:
        gate = asyncio.Event()
        one, three = sched.batch(1), sched.batch(3)
        for i in range(4):
            sched.schedule(one, T0, (i,), log.action(f"one{i}", gate=gate))
            sched.schedule(three, T0, (i,), log.action(f"three{i}", gate=gate))
        await log.until_started("three2")
        await log.until_started("one0")
        assert log.running == {"one0", "three0", "three1", "three2"}
        gate.set()
        await asyncio.gather(one.done, three.done)

    log = run(body)
    assert sorted(log.names) == sorted([f"one{i}" for i in range(4)] + [f"three{i}" for i in range(4)])


@pytest.mark.parametrize("limit", [None, 0])
def test_no_limit_starts_everything_due(limit: int | None) -> None:
    async def body(sched: Scheduler, log: Log) -> None:
        gate = asyncio.Event()
        batch = sched.batch(limit)
        for i in range(50):
            sched.schedule(batch, T0, (i,), log.action(str(i), gate=gate))
        await log.until_started("49")
        assert len(log.running) == 50
        gate.set()
        await batch.done

    assert run(body).peak == 50


# -- feeds -----------------------------------------------------------------------------------------------


def test_a_feed_is_made_as_the_runner_reaches_it() -> None:
    made: list[int] = []

    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(2)

        def check_lazy() -> None:
            # The feed is at most the slots plus its head ahead of what has started.
            assert len(made) <= len(log.started) + 2

        def entries() -> Feed:
            for i in range(100):
                made.append(i)
                yield T0, (i, 0, 1), log.action(f"e{i}", then=check_lazy)

        sched.feed(batch, entries())
        ladder(sched, batch, log, "retried", T0, fails=1, order=(50, 1))  # joins the feed's order after e50
        await batch.done

    log = run(body)
    assert len(made) == 100
    firsts = [n for n in log.names if n != "retried#2"]
    assert firsts[:51] == [f"e{i}" for i in range(51)] and firsts[51] == "retried#1"
    assert log.names[-1] == "retried#2" and log.at("retried#2") == LADDER[0]


def test_a_batch_takes_one_feed() -> None:
    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(1)
        sched.feed(batch, iter([(T0, (0,), log.action("only"))]))
        with pytest.raises(RuntimeError, match="one feed"):
            sched.feed(batch, iter([]))
        await batch.done

    assert run(body).names == ["only"]


def test_an_empty_feed_completes_the_batch() -> None:
    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(1)
        empty: Iterator[tuple[float, tuple[int, ...], Action]] = iter([])
        sched.feed(batch, empty)
        await asyncio.wait_for(batch.done, timeout=5)

    assert run(body).names == []


# -- cancellation and failure ----------------------------------------------------------------------------


def test_cancel_drops_pending_attempts_and_cancels_those_in_flight() -> None:
    async def body(sched: Scheduler, log: Log) -> None:
        never = asyncio.Event()
        doomed, other = sched.batch(2), sched.batch(1)
        for i in range(3):
            sched.schedule(doomed, T0, (i,), log.action(f"doomed{i}", gate=never))
        sched.schedule(doomed, T0 + 5, (9,), log.action("doomed-later"))
        ladder(sched, other, log, "other", T0 + 1, fails=1)
        await log.until_started("doomed1")

        sched.cancel(doomed)
        await doomed.done  # resolved, not failed: the caller that was cancelled re-raises its own error
        await other.done  # the other batch went on, its retry 15 s later included

    log = run(body)
    assert log.names == ["doomed0", "doomed1", "other#1", "other#2"]
    assert sorted(log.cancelled) == ["doomed0", "doomed1"]
    assert log.at("other#2") == 1.0 + LADDER[0]


def test_an_attempt_that_raises_fails_its_batch_only() -> None:
    def boom() -> None:
        raise RuntimeError("channel bug")

    async def body(sched: Scheduler, log: Log) -> None:
        never = asyncio.Event()
        bad, good = sched.batch(2), sched.batch(1)
        sched.schedule(bad, T0, (0,), log.action("stuck", gate=never))
        sched.schedule(bad, T0, (1,), log.action("raises", then=boom))
        sched.schedule(bad, T0 + 5, (2,), log.action("never-starts"))
        sched.schedule(good, T0 + 10, (0,), log.action("good"))
        with pytest.raises(RuntimeError, match="channel bug"):
            await bad.done
        await good.done

    log = run(body)
    assert log.names == ["stuck", "raises", "good"]
    assert log.cancelled == ["stuck"]


def test_the_runner_exits_when_idle_and_restarts_for_new_work() -> None:
    async def body(sched: Scheduler, log: Log) -> None:
        first = sched.batch(1)
        sched.schedule(first, T0 + 1, (0,), log.action("first"))
        await first.done
        await until_alone()
        second = sched.batch(1)
        sched.schedule(second, T0 + 2, (0,), log.action("second"))
        await second.done

    assert run(body).names == ["first", "second"]


# -- counts ----------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 600), st.integers(0, 6)), min_size=1, max_size=15), st.integers(1, 4))
def test_attempts_add_up(events: list[tuple[int, int]], limit: int) -> None:
    """Events released at any time, each failing some number of times: every event makes exactly
    ``min(fails, 4) + 1`` attempts with the ladder's gaps, and never more than ``limit`` are in flight."""

    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(limit)
        for i, (release, fails) in enumerate(events):
            ladder(sched, batch, log, f"e{i}", T0 + release, fails=fails, order=(i,))
        await batch.done

    log = run(body)
    per_event = [min(fails, len(LADDER)) + 1 for _, fails in events]
    assert len(log.started) == sum(per_event)
    assert log.peak <= limit
    for i, attempts in enumerate(per_event):
        assert gaps(log, f"e{i}") == list(LADDER[: attempts - 1])
    times = [t for _, t in log.started]
    assert times == sorted(times)  # attempts take no platform time here: each starts on time


# -- a compressed clock ----------------------------------------------------------------------------------


def test_a_compressed_clock_waits_for_due_times() -> None:
    """At scale 1e-6 ten hours take 36 ms: the runner waits (it cannot jump the clock) and every attempt
    starts no earlier than due."""

    async def body(sched: Scheduler, log: Log) -> None:
        batch = sched.batch(1)
        sched.schedule(batch, T0 + 36_000, (1,), log.action("later"))
        sched.schedule(batch, T0 + 60, (0,), log.action("minute"))
        await batch.done

    log = run(body, scale=1e-6)
    assert log.names == ["minute", "later"]
    assert 60 <= log.at("minute") < 36_000 <= log.at("later")

"""``Flow``: one push paused, resumed and halted from outside while it runs (the scheduler's ``pause`` and
``halt`` of a batch), on the instant clock; other pushes are not affected."""

from __future__ import annotations

import asyncio

from simulator.clock import VirtualClock
from simulator.config import RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.engine.schedule import Flow
from simulator.generation.factory import SEEDED_EPOCH
from simulator.verdicts.model import Delivery, Outcome
from tests.fakes import ET, FakeChannel, fail_first
from tests.polling import await_until


def _sim() -> Simulator:
    return Simulator(SimConfig(seed=1, retries=RetryPolicy.parse("feishu")), clock=VirtualClock(SEEDED_EPOCH))


def test_pause_holds_a_push_and_resume_lets_it_go_on() -> None:
    sim = _sim()
    flow = Flow()
    channel = FakeChannel(fail_first(0))

    async def go() -> tuple[int, int]:
        push = asyncio.create_task(sim.stream(channel, sim.iter_many(ET, 50, spread=False), concurrency=2, flow=flow))
        await await_until(lambda: len(channel.log) >= 10, "ten attempts", interval=0)
        flow.pause()
        held = len(channel.log)
        for _ in range(50):
            await asyncio.sleep(0)
        still = len(channel.log)
        flow.resume()
        await asyncio.wait_for(push, 10)
        return held, still

    held, still = asyncio.run(go())
    assert still <= held + 2  # only what had already been taken when it paused
    assert len(channel.log) == 50 and sim.summary().acked == 50


def test_halt_starts_nothing_more_and_retires_what_waits() -> None:
    """Halted after 10 events: the retries already planned (15 s later) are dropped, the push returns, and
    ``retire`` ends the deliveries that waited for them as pending, counted once."""
    sim = _sim()
    flow = Flow()
    channel = FakeChannel(fail_first(1))  # every first attempt fails: a retry each
    ended: list[Delivery] = []

    def halt_at_10(d: Delivery) -> None:
        if len(sim.deliveries) == 10:
            flow.halt()

    async def go() -> None:
        await sim.stream(channel, sim.iter_many(ET, 1000, spread=False), concurrency=1, flow=flow,
                         on_start=halt_at_10, on_end=ended.append)

    asyncio.run(go())
    assert len(sim.deliveries) == 10 and ended == []
    assert all([a.outcome for a in d.attempts] == [Outcome.REJECTED] for d in sim.deliveries)
    left = sim.retire(flow)
    assert len(left) == 10 and all(str(d.final) == "pending" for d in left)
    assert sim.open_deliveries() == [] and sim.retire(flow) == []
    s = sim.summary()
    assert s.total == s.pending == 10

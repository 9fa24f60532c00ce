"""A push with faults plans its first attempts at most ``plan_window`` events ahead of those started
(docs/faults.md#the-planning-window): within the window the plan is the one of planning every event at once --
the same deliveries, attempt for attempt, as before windows existed -- and beyond it memory stays flat."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.clock import VirtualClock
from simulator.config import RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.engine.sources import PLAN_WINDOW
from simulator.generation.factory import SEEDED_EPOCH
from simulator.verdicts.model import Delivery
from tests.fakes import FakeChannel, random_script

ALL = "dup=0.1,dup_new_id=0.05,reorder=5,delay=200ms..2s,drop=0.1,burst=50"
# sha256 (first 16 hex digits) of ``_run``'s record, made with the engine of commit fd771b7, which planned every
# event of a push with faults at once: (seed, spec, count, concurrency) -> digest.
BEFORE_WINDOWS = {
    (1, "dup=0.3,dup_new_id=0.2", 300, 4): "0c5663e7d69741db",
    (1, "dup=0.3,dup_new_id=0.2", 1024, 64): "cbe67ddff6f8497c",
    (1, "reorder=7,delay=200ms..2s", 300, 4): "9984b9cca895a2c0",
    (1, "reorder=7,delay=200ms..2s", 1024, 64): "97fbab76c20ae0ff",
    (1, "drop=0.3", 1024, 64): "ead2025a67ee8b48",
    (1, "burst=16,burst_gap=2s", 1024, 64): "0b2b1f9231ef8fc7",
    (1, ALL, 300, 4): "b99e4062f2a8bfbe",
    (1, ALL, 1024, 64): "33fd4f8846eb1bdb",
    (2, "dup=0.3,dup_new_id=0.2", 1024, 64): "85641ff9437fa8ec",
    (2, "reorder=7,delay=200ms..2s", 1024, 64): "a97b16033a2ce5ed",
    (2, "drop=0.3", 300, 4): "65449227c634dd11",
    (2, "burst=16,burst_gap=2s", 300, 4): "42f31672293b9917",
    (2, ALL, 1024, 64): "b9ad9b684408a8f0",
    (3, "dup=0.3,dup_new_id=0.2", 300, 4): "6b8841438ac85e73",
    (3, "reorder=7,delay=200ms..2s", 1024, 64): "3497461ce1cc2fe8",
    (3, "burst=16,burst_gap=2s", 1024, 64): "0a0bcd7f0a2efdf3",
    (3, ALL, 300, 4): "e1ea71cd12f69521",
    (3, ALL, 1024, 64): "3553844bd793766b",
}


def _envelopes(n: int) -> Iterator[dict[str, Any]]:
    """Events that need no generator (the record depends on the engine and the fault plan alone)."""
    for i in range(n):
        yield {"schema": "2.0", "header": {"event_id": f"{i:032x}", "event_type": "vc.meeting.share_ended_v1",
                                           "create_time": str(int(SEEDED_EPOCH * 1000)), "token": ""}, "event": {}}


def _run(seed: int, spec: str, count: int, concurrency: int, *, window: int | None = None,
         sim: Simulator | None = None) -> tuple[Simulator, FakeChannel, str]:
    """A push of ``count`` events to a receiver failing 30% of attempts, on the Feishu ladder and the instant
    clock; its record (every delivery with its attempts, then the order attempts started in) as a digest."""
    sim = sim or Simulator(SimConfig(seed=seed, retries=RetryPolicy.parse("feishu"), faults=FaultSpec.parse(spec)),
                           clock=VirtualClock(SEEDED_EPOCH))
    if window is not None:
        sim.plan_window = window
    channel = FakeChannel(random_script(seed, 0.3))
    asyncio.run(sim.stream(channel, _envelopes(count), concurrency=concurrency))
    rows = [[d.event_id, d.origin, d.duplicate_of, str(d.final),
             [[a.attempt, str(a.outcome), a.sent_at] for a in d.attempts]] for d in sim.deliveries]
    return sim, channel, hashlib.sha256(json.dumps([rows, channel.log]).encode()).hexdigest()[:16]


@pytest.mark.parametrize(("seed", "spec", "count", "concurrency"), sorted(BEFORE_WINDOWS))
def test_within_the_window_the_plan_is_the_one_made_at_once(seed: int, spec: str, count: int,
                                                            concurrency: int) -> None:
    assert count <= PLAN_WINDOW
    digest = _run(seed, spec, count, concurrency)[2]
    assert digest == BEFORE_WINDOWS[seed, spec, count, concurrency]
    assert digest == _run(seed, spec, count, concurrency, window=10**9)[2]


def test_beyond_the_window() -> None:
    """A window of 8 (the reorder window of 5 fits in it) over 300 events: every event is delivered once (plus
    the duplicates), no first push is earlier than planned or starts before the window reaches it, the
    counts add up, and the same seed gives the same record."""
    spec = "dup=0.2,dup_new_id=0.1,reorder=5,delay=200ms..2s,drop=0.2"
    sim = Simulator(SimConfig(seed=4, retries=RetryPolicy.parse("feishu"), faults=FaultSpec.parse(spec)),
                    clock=VirtualClock(SEEDED_EPOCH))
    planned: list[Delivery] = []
    started: list[int] = []  # the events, in the order of their first pushes (not their duplicates')
    ahead: list[int] = []

    class Counting(FakeChannel):
        async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Any:
            index = int(envelope["header"]["event_id"], 16)  # a new event_id of a duplicate is beyond 300
            if attempt_no == 1 and index < 300 and index not in started:
                started.append(index)
                ahead.append(len(planned) - len(started))
            return await super().attempt(envelope, attempt_no=attempt_no, sent_at=sent_at)

    sim.plan_window = 8
    channel = Counting(random_script(4, 0.3))

    async def go() -> None:
        await sim.stream(channel, _envelopes(300), concurrency=4, on_start=planned.append)

    asyncio.run(go())
    events = [d for d in sim.deliveries if d.origin == "event"]
    assert [d.event_id for d in events] == [f"{i:032x}" for i in range(300)] == [d.event_id for d in planned]
    assert max(ahead) <= 8
    assert sorted(started) == list(range(300)) and started != list(range(300))  # reordered and delayed
    assert all(position >= index - 8 for position, index in enumerate(started))  # never before it was planned
    for i, d in enumerate(events):
        assert d.attempts[0].sent_at >= SEEDED_EPOCH + sim.faults.release(i).offset
    s = sim.summary()
    assert s.total == len(sim.deliveries) == 300 + s.duplicates and s.duplicates > 0
    assert s.total == s.acked + s.exhausted and s.pending == 0
    assert _run(4, spec, 300, 4, window=8)[2] == _run(4, spec, 300, 4, window=8)[2]


def test_a_stop_stops_the_planning() -> None:
    sim = Simulator(SimConfig(seed=1, faults=FaultSpec.parse("delay=1s..2s")), clock=VirtualClock(SEEDED_EPOCH))
    sim.plan_window = 16
    planned: list[Delivery] = []

    def stop_at_20(d: Delivery) -> None:
        planned.append(d)
        if len(planned) == 20:
            sim.stop()

    asyncio.run(sim.stream(FakeChannel(random_script(1, 0.0)), _envelopes(10_000), concurrency=2,
                           on_start=stop_at_20))
    assert len(planned) == len(sim.deliveries) == 20

"""Seeded faults: the spec grammar, the plan (sans IO) and what the engine does with it."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from simulator.clock import VirtualClock
from simulator.config import RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultPlan, FaultSpec
from simulator.errors import ConfigError
from simulator.generation.factory import SEEDED_EPOCH
from simulator.rand import SimRandom
from simulator.verdicts.model import DeliveryState, Outcome
from tests.fakes import ET, FakeChannel, fail_first


def test_spec_grammar() -> None:
    s = FaultSpec.parse("dup=0.1,dup_new_id=0.05,reorder=5,delay=200ms..2s,drop=0.1,burst=50")
    assert (s.dup, s.dup_new_id, s.reorder, s.delay, s.drop, s.burst) == (0.1, 0.05, 5, (0.2, 2.0), 0.1, 50)
    assert FaultSpec.parse(str(s)) == s
    assert FaultSpec.parse("none") == FaultSpec() == FaultSpec.parse("") and not FaultSpec().active
    assert FaultSpec.parse(" dup = 1 , dup_after=5m..1h, burst_gap=250ms ").dup_after == (300.0, 3600.0)


def test_spec_durations_use_the_one_grammar() -> None:
    """Forms the fault grammar once refused (compound, microseconds, a space before the unit)."""
    s = FaultSpec.parse("delay=1m30s..2min,dup_after=250us..1h30m,burst_gap=200 ms")
    assert (s.delay, s.dup_after, s.burst_gap) == ((90.0, 120.0), (0.00025, 5400.0), 0.2)
    assert FaultSpec.parse(str(s)) == s


@pytest.mark.parametrize(("spec", "needle"), [
    ("delay=1e400s", "invalid fault delay '1e400s': expected a duration"),  # was an OverflowError
    ("delay=0..9999h", "longer than the limit of 30 days"),
    ("burst_gap=-1s", "cannot be negative"),
])
def test_spec_durations_are_bounded(spec: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        FaultSpec.parse(spec)
    assert needle in str(info.value)


def test_specs_built_in_code_follow_the_duration_rule() -> None:
    assert FaultSpec(delay=("1s", "2s"), burst_gap=1).delay == (1.0, 2.0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="limit of 30 days"):
        FaultSpec(delay=(0.0, float("inf")))
    with pytest.raises(ConfigError, match="upper bound is below"):
        FaultSpec(dup_after=(2.0, 1.0))


@pytest.mark.parametrize(("spec", "needle"), [
    ("explode=0.1", "unknown fault 'explode'"),
    ("dup=1.5", "probability must be in [0, 1]"),
    ("drop=-0.1", "probability must be in [0, 1]"),
    ("dup=often", "expected a probability"),
    ("reorder=0", "integer >= 1"),
    ("burst=x", "integer >= 1"),
    ("delay=2s..1s", "upper bound"),
    ("delay=soon", "invalid fault delay"),
    ("dup", "expected NAME=VALUE"),
    ("dup=0.1,dup=0.2", "given twice"),
])
def test_bad_specs_are_config_errors(spec: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=None) as exc:
        FaultSpec.parse(spec)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_plan_is_a_function_of_seed_and_key() -> None:
    spec = FaultSpec.parse("dup=0.3,dup_new_id=0.3,drop=0.3,reorder=4,delay=1s..9s")
    a, b, c = (FaultPlan(spec, SimRandom(s)) for s in (7, 7, 8))

    def plan(p: FaultPlan) -> list[object]:
        return [(p.release(i), p.drop(f"e{i}", 1), p.duplicates(f"e{i}")) for i in range(40)]

    assert plan(a) == plan(b) != plan(c)
    # asking in another order gives the same answers (no shared stream)
    assert [a.drop(f"e{i}", 1) for i in reversed(range(40))] == [b.drop(f"e{i}", 1) for i in range(40)][::-1]


def test_reorder_permutes_within_windows_only() -> None:
    plan = FaultPlan(FaultSpec(reorder=5), SimRandom(1))
    orders = [plan.release(i).order for i in range(20)]
    assert orders != list(range(20))
    for w in range(4):
        assert sorted(orders[w * 5:(w + 1) * 5]) == list(range(w * 5, (w + 1) * 5))


def test_probabilities_are_honoured_roughly() -> None:
    plan = FaultPlan(FaultSpec(drop=0.2, dup=0.5), SimRandom(3))
    drops = sum(plan.drop(f"e{i}", 1) for i in range(4000))
    dups = sum(bool(plan.duplicates(f"e{i}")) for i in range(4000))
    assert 700 < drops < 900 and 1850 < dups < 2150
    assert not any(FaultPlan(FaultSpec(drop=0.0), SimRandom(3)).drop(f"e{i}", 1) for i in range(100))
    assert all(FaultPlan(FaultSpec(drop=1.0), SimRandom(3)).drop(f"e{i}", 1) for i in range(100))


def run(spec: str, n: int = 10, *, retries: str = "feishu", seed: int = 21, fails: int = 0,
        concurrency: int = 1) -> tuple[Simulator, FakeChannel]:
    sim = Simulator(SimConfig(seed=seed, retries=RetryPolicy.parse(retries), faults=FaultSpec.parse(spec)),
                    clock=VirtualClock(SEEDED_EPOCH, scale=0))
    ch = FakeChannel(fail_first(fails), jitter_s=0.002)
    asyncio.run(sim.push(ch, sim.generate_many(ET, n), concurrency=concurrency))
    return sim, ch


def test_duplicates_after_success_same_and_new_event_id() -> None:
    sim, ch = run("dup=0.5,dup_new_id=0.5,dup_after=10s..20s", 30)
    originals = [d for d in sim.deliveries if d.origin == "event"]
    same = [d for d in sim.deliveries if d.origin == "duplicate"]
    new = [d for d in sim.deliveries if d.origin == "duplicate_new_id"]
    assert len(originals) == 30 and same and new
    by_id = {d.event_id: d for d in originals}
    for d in same:
        parent = by_id[d.duplicate_of or ""]
        assert d.event_id == parent.event_id and d.envelope == parent.envelope
        assert 10.0 <= d.attempts[0].sent_at - parent.attempts[-1].sent_at <= 20.0
    for d in new:
        parent = by_id[d.duplicate_of or ""]
        assert d.event_id != parent.event_id and len(d.event_id) == 32
        assert d.envelope["event"] == parent.envelope["event"]
    s = sim.summary()
    assert s.duplicates == len(same) + len(new) and s.total == 30 + s.duplicates
    # the receiver saw every duplicate with the same event_id
    seen = [eid for eid, _, _ in ch.log]
    assert all(seen.count(d.event_id) == 2 for d in same)


def test_same_seed_same_fault_plan_different_seed_different_plan() -> None:
    def shape(seed: int) -> list[object]:
        _sim, ch = run("dup=0.3,dup_new_id=0.2,drop=0.3,reorder=4,delay=0s..30s", 16, seed=seed, concurrency=3)
        return [(eid, k, t) for eid, k, t in ch.log]

    assert shape(4) == shape(4) != shape(5)


def test_drop_makes_the_platform_retry_an_acked_attempt() -> None:
    sim, ch = run("drop=1", 3, retries="2")
    for d in sim.deliveries:
        assert [a.outcome for a in d.attempts] == [Outcome.DROPPED] * 3 and d.final is DeliveryState.EXHAUSTED
        assert all(a.status == 200 and a.extra["fault"] == "drop" for a in d.attempts)
    assert len(ch.log) == 9  # the receiver got (and acked) every attempt


def test_reorder_changes_the_send_order_deterministically() -> None:
    sim, ch = run("reorder=5", 10)
    generated = [d.event_id for d in sim.deliveries]
    sent = [eid for eid, _, _ in ch.log]
    assert sorted(sent) == sorted(generated) and sent != generated
    assert set(sent[:5]) == set(generated[:5])  # only within the window
    _sim2, ch2 = run("reorder=5", 10)
    assert [e for e, _, _ in ch2.log] == sent


def test_delay_spreads_first_pushes() -> None:
    _sim, ch = run("delay=1s..10s", 20)
    base = min(t for _, _, t in ch.log) - 10
    offsets = [t - base for _, _, t in ch.log]
    assert len(set(offsets)) == 20 and offsets == sorted(offsets)


def test_burst_puts_a_whole_burst_in_flight() -> None:
    _sim, ch = run("burst=8,burst_gap=2s", 24, concurrency=1)
    assert ch.max_in_flight == 8
    starts = sorted({t for _, _, t in ch.log})
    assert gaps_of(starts) == [2.0, 2.0]


def gaps_of(xs: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(xs)]

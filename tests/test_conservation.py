"""Conservation: over random fault plans and random receiver behaviour, every delivery ends in exactly one
terminal state with a complete, consistent attempt history, and the summary adds up."""

from __future__ import annotations

import asyncio

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.clock import VirtualClock
from simulator.config import RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.generation.factory import SEEDED_EPOCH
from simulator.verdicts.model import DeliveryState, Outcome
from tests.fakes import ET, FakeChannel, flaky_app, random_script

LADDER = (15.0, 300.0, 3600.0, 21600.0)

probability = st.sampled_from([0.0, 0.1, 0.5, 1.0]) | st.floats(0.0, 1.0)
duration = st.sampled_from([0.0, 0.2, 1.0, 30.0])


@st.composite
def fault_specs(draw: st.DrawFn) -> FaultSpec:
    lo, hi = sorted((draw(duration), draw(duration)))
    a, b = sorted((draw(duration), draw(duration)))
    return FaultSpec(dup=draw(probability), dup_new_id=draw(probability), drop=draw(probability),
                     reorder=draw(st.integers(1, 6)), delay=(lo, hi), dup_after=(a + 0.001, b + 0.001),
                     burst=draw(st.sampled_from([0, 0, 2, 5])), burst_gap=draw(duration))


def check_conservation(sim: Simulator, n: int, retries: RetryPolicy, sent: int | None = None) -> None:
    deliveries = sim.deliveries
    originals = [d for d in deliveries if d.origin == "event"]
    assert len(originals) == n
    ids = {d.event_id for d in originals}
    total_attempts = 0
    for d in deliveries:
        assert d.final in (DeliveryState.ACKED, DeliveryState.EXHAUSTED)  # never pending
        numbers = [a.attempt for a in d.attempts]
        assert numbers == list(range(1, len(numbers) + 1)) and 1 <= len(numbers) <= retries.max_attempts
        assert {a.event_id for a in d.attempts} == {d.event_id}
        oks = [a for a in d.attempts if a.outcome is Outcome.ACKED]
        if d.final is DeliveryState.ACKED:
            assert len(oks) == 1 and d.attempts[-1] is oks[0] and d.acked_at_attempt == len(numbers)
        else:
            assert not oks and len(numbers) == retries.max_attempts
        gaps = [round(b.sent_at - a.sent_at, 6) for a, b in zip(d.attempts, d.attempts[1:], strict=False)]
        assert gaps == list(retries.delays[: len(gaps)])
        if d.origin != "event":  # duplicates only of acked originals
            assert d.duplicate_of in ids
            parent = next(p for p in originals if p.event_id == d.duplicate_of)
            assert parent.final is DeliveryState.ACKED
            assert (d.event_id == parent.event_id) == (d.origin == "duplicate")
        total_attempts += len(numbers)
    s = sim.summary()
    assert s.total == len(deliveries) == s.acked + s.exhausted and s.pending == 0
    assert s.attempts == total_attempts == sum(s.outcomes.values())
    assert sum(s.acked_at.values()) == s.acked and s.duplicates == len(deliveries) - n
    if sent is not None:
        assert sent == total_attempts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=fault_specs(), n=st.integers(1, 12), p_fail=st.floats(0.0, 1.0), seed=st.integers(0, 2**32),
       retries=st.sampled_from(["feishu", "none", "1", "3"]), concurrency=st.integers(1, 6))
def test_conservation_fake_channel(spec: FaultSpec, n: int, p_fail: float, seed: int, retries: str,
                                   concurrency: int) -> None:
    policy = RetryPolicy.parse(retries)
    sim = Simulator(SimConfig(seed=seed, retries=policy, faults=spec), clock=VirtualClock(SEEDED_EPOCH, scale=0))
    ch = FakeChannel(random_script(seed, p_fail), jitter_s=0.0005 if seed % 2 else 0.0, jitter_seed=seed)
    out = asyncio.run(sim.push(ch, sim.generate_many(ET, n), concurrency=concurrency))
    assert [d.origin for d in out] == ["event"] * n
    check_conservation(sim, n, policy, sent=len(ch.log))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=fault_specs(), n=st.integers(1, 6), fail_first_n=st.integers(0, 5), seed=st.integers(0, 2**16),
       status=st.sampled_from([500, 404, 204]))
def test_conservation_asgi_receiver(spec: FaultSpec, n: int, fail_first_n: int, seed: int, status: int) -> None:
    """Through the real webhook channel (sealing, httpx, judging) into an in-process ASGI receiver."""
    policy = RetryPolicy.feishu()
    sim = Simulator(SimConfig(seed=seed, retries=policy, faults=spec), clock=VirtualClock(SEEDED_EPOCH, scale=0))
    app, log = flaky_app(fail_first_n, status=status)

    async def go() -> None:
        ch = sim.webhook("http://testserver/hook", transport=httpx.ASGITransport(app=app))
        try:
            await sim.push(ch, sim.generate_many(ET, n), concurrency=3)
        finally:
            await ch.aclose()

    asyncio.run(go())
    check_conservation(sim, n, policy, sent=len(log))

"""The platform's retry ladder (docs/semantics.md#retry-ladder) on a virtual clock, through the engine's scheduler."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from simulator import constants as C
from simulator.clock import VirtualClock
from simulator.config import AppProfile, RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.generation.factory import SEEDED_EPOCH
from simulator.verdicts.model import Attempt, DeliveryState, Outcome
from simulator.wire.seal import AesCipher, sign
from tests.fakes import ET, FakeChannel, fail_first, flaky_app, random_script
from tests.polling import await_until

LADDER = [15.0, 300.0, 3600.0, 21600.0]


def sim_with(retries: str = "feishu", scale: float = 0.0, **kw: Any) -> Simulator:
    config = SimConfig(seed=5, retries=RetryPolicy.parse(retries), **kw)
    return Simulator(config, clock=VirtualClock(SEEDED_EPOCH, scale=scale))


def deliver_in_process(sim: Simulator, app: Starlette) -> None:
    """Deliver one generated event through the retry ladder into an in-process ASGI app."""

    async def go() -> None:
        ch = sim.webhook("http://testserver/hook", transport=httpx.ASGITransport(app=app))
        try:
            await sim.deliver(sim.generate(ET), ch)
        finally:
            await ch.aclose()

    asyncio.run(go())


def gaps(sent: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(sent)]


def test_exhausted_ladder_has_the_feishu_gaps_and_one_event_id() -> None:
    sim = sim_with()
    ch = FakeChannel(fail_first(99))
    t0 = time.perf_counter()
    d = asyncio.run(sim.deliver(sim.generate(ET), ch))
    assert time.perf_counter() - t0 < 1.0  # 7 h of platform time, instantly
    assert d.final is DeliveryState.EXHAUSTED and d.acked_at_attempt is None
    assert [a.attempt for a in d.attempts] == [1, 2, 3, 4, 5]
    assert gaps([a.sent_at for a in d.attempts]) == LADDER
    assert {a.event_id for a in d.attempts} == {d.event_id}
    assert sim.clock.now() - d.attempts[0].sent_at == pytest.approx(sum(LADDER))


@pytest.mark.parametrize(("spec", "fails", "attempts", "final"), [
    ("feishu", 2, 3, DeliveryState.ACKED),
    ("feishu", 4, 5, DeliveryState.ACKED),
    ("none", 1, 1, DeliveryState.EXHAUSTED),
    ("2", 5, 3, DeliveryState.EXHAUSTED),
    ("6", 9, 7, DeliveryState.EXHAUSTED),
])
def test_retries_option(spec: str, fails: int, attempts: int, final: DeliveryState) -> None:
    sim = sim_with(spec)
    d = asyncio.run(sim.deliver(sim.generate(ET), FakeChannel(fail_first(fails))))
    assert len(d.attempts) == attempts and d.final is final
    expected = (LADDER + [LADDER[-1]] * 4)[: attempts - 1]
    assert gaps([a.sent_at for a in d.attempts]) == expected
    if final is DeliveryState.ACKED:
        assert d.acked_at_attempt == attempts


@pytest.mark.parametrize("outcome", [Outcome.TIMEOUT, Outcome.CONNECTION_ERROR, Outcome.NOT_DELIVERED,
                                     Outcome.REJECTED])
def test_every_failure_kind_is_retried(outcome: Outcome) -> None:
    sim = sim_with()
    script = lambda eid, k: outcome if k == 1 else Outcome.ACKED  # noqa: E731
    d = asyncio.run(sim.deliver(sim.generate(ET), FakeChannel(script)))
    assert [a.outcome for a in d.attempts] == [outcome, Outcome.ACKED] and d.acked_at_attempt == 2


def test_every_webhook_retry_is_sealed_afresh() -> None:
    """Same event_id, new timestamp (following the ladder), nonce, IV, signature and request id."""
    key = "audit-key"
    sim = sim_with(app=AppProfile(encrypt_key=key, verification_token="tok"))
    app, log = flaky_app(99)

    deliver_in_process(sim, app)
    assert len(log) == 5
    cipher = AesCipher(key)
    ts = [int(r["headers"]["x-lark-request-timestamp"]) for r in log]
    assert gaps([float(t) for t in ts]) == LADDER
    for field in ("x-lark-request-nonce", "x-lark-signature", "x-request-id"):
        assert len({r["headers"][field] for r in log}) == 5, field
    assert len({r["body"] for r in log}) == 5  # a new IV every time
    ids = set()
    for r in log:
        h = r["headers"]
        assert sign(h["x-lark-request-timestamp"], h["x-lark-request-nonce"], key, r["body"]) == h["x-lark-signature"]
        ids.add(json.loads(cipher.decrypt(json.loads(r["body"])["encrypt"]))["header"]["event_id"])
    assert len(ids) == 1


def run_concurrent(jitter_seed: int, concurrency: int = 4) -> tuple[list[tuple[str, int, float]], Simulator]:
    sim = sim_with()
    ch = FakeChannel(random_script(11, 0.6), jitter_s=0.004, jitter_seed=jitter_seed)
    asyncio.run(sim.push(ch, sim.generate_many(ET, 12), concurrency=concurrency))
    return ch.log, sim


def test_concurrent_ladders_are_ordered_by_platform_time_whatever_the_latencies() -> None:
    log_a, sim = run_concurrent(1)
    log_b, _ = run_concurrent(2)  # different real completion order
    assert log_a == log_b
    assert [t for _, _, t in log_a] == sorted(t for _, _, t in log_a)  # attempts start in platform-time order
    for d in sim.deliveries:
        assert gaps([a.sent_at for a in d.attempts]) == LADDER[: len(d.attempts) - 1]
    assert any(len(d.attempts) > 2 for d in sim.deliveries)


def test_concurrency_limit_is_respected() -> None:
    sim = sim_with()
    ch = FakeChannel(random_script(3, 0.5), jitter_s=0.002)
    asyncio.run(sim.push(ch, sim.generate_many(ET, 10), concurrency=3))
    assert ch.max_in_flight == 3


def test_concurrent_deliver_calls_share_one_timeline() -> None:
    """Three ladders sleeping together move the clock 15 s + 5 min once, not three times."""
    sim = sim_with()
    ch = FakeChannel(fail_first(2), jitter_s=0.003)
    envs = sim.generate_many(ET, 3)
    start = sim.clock.now()

    async def go() -> list[object]:
        return list(await asyncio.gather(*(sim.deliver(e, ch) for e in envs)))

    asyncio.run(go())
    for d in sim.deliveries:
        assert [a.sent_at - start for a in d.attempts] == [0.0, 15.0, 315.0]
    assert sim.clock.now() - start == 315.0


def test_simulator_survives_several_event_loops() -> None:
    sim = sim_with()
    for _ in range(2):
        d = asyncio.run(sim.deliver(sim.generate(ET), FakeChannel(fail_first(1))))
        assert d.acked_at_attempt == 2


def test_compressed_clock_keeps_platform_gaps() -> None:
    """At scale 0.001 the first two gaps (15 s + 5 min) take about 0.3 s of real time."""
    sim = sim_with("2", scale=0.001)
    t0 = time.perf_counter()
    d = asyncio.run(sim.deliver(sim.generate(ET), FakeChannel(fail_first(9))))
    real = time.perf_counter() - t0
    assert 0.3 <= real < 2.0
    g = gaps([a.sent_at for a in d.attempts])
    assert g[0] == pytest.approx(15.0, abs=15) and g[1] == pytest.approx(300.0, abs=30)


def test_sent_at_is_platform_time_and_feeds_the_signature_timestamp() -> None:
    sim = sim_with("1", app=AppProfile(encrypt_key="k"))
    app, log = flaky_app(1)

    deliver_in_process(sim, app)
    d = sim.deliveries[0]
    assert [int(a.sent_at) for a in d.attempts] == [int(r["headers"][C.HEADER_TIMESTAMP.lower()]) for r in log]


class Boom(FakeChannel):
    async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        if attempt_no == 2:
            raise RuntimeError("channel bug")
        return await super().attempt(envelope, attempt_no=attempt_no, sent_at=sent_at)


def test_a_channel_exception_propagates_instead_of_hanging() -> None:
    sim = sim_with()
    with pytest.raises(RuntimeError, match="channel bug"):
        asyncio.run(sim.push(Boom(fail_first(9)), sim.generate_many(ET, 3), concurrency=2))


def test_cancelling_a_push_cancels_its_attempts() -> None:
    sim = sim_with(scale=1.0)  # real time: the 15 s retry would really wait
    ch = FakeChannel(fail_first(9))

    async def go() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sim.push(ch, sim.generate_many(ET, 2)), 0.2)
        # No scheduler or attempt left behind (cancelled, they finish within a few turns of the loop).
        await await_until(lambda: asyncio.all_tasks() == {asyncio.current_task()}, "only this task to be left",
                          timeout=1)

    t0 = time.perf_counter()
    asyncio.run(go())
    assert time.perf_counter() - t0 < 2
    assert [len(d.attempts) for d in sim.deliveries] == [1, 1]

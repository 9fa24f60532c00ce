"""Pooled envelopes (``Simulator.generate_pooled``): the general path's bytes first, then honest reuse."""

from __future__ import annotations

import pytest

from simulator.clock import VirtualClock
from simulator.config import SimConfig
from simulator.engine.core import Simulator
from simulator.engine.pool import BodyPool
from simulator.generation import schemas
from simulator.generation.factory import SEEDED_EPOCH
from simulator.wire.seal import canonical_json

ET = "vc.meeting.share_ended_v1"


def sim(seed: int = 3) -> Simulator:
    return Simulator(SimConfig(seed=seed), clock=VirtualClock(SEEDED_EPOCH, scale=0))


@pytest.mark.parametrize("longconn", [False, True])
def test_the_first_pool_size_envelopes_are_generate_many_byte_for_byte(longconn: bool) -> None:
    general = [canonical_json(e) for e in sim().generate_many(ET, 600, longconn=longconn)]
    a = sim()
    pooled = [canonical_json(e) for e in a.generate_pooled(ET, 600, longconn=longconn)]
    assert pooled[:512] == general[:512]
    b = sim()
    b.generate_many(ET, 600)
    assert a.clock.now() == b.clock.now()  # the virtual clock moved as generate_many moves it


def test_reused_bodies_are_wrapped_exactly_like_the_factory_does() -> None:
    s = sim(9)
    pool = BodyPool(s.factory, ET, size=8, refresh_every=4)
    first = [pool.envelope(longconn=True) for _ in range(8)]
    later = [pool.envelope(longconn=True) for _ in range(200)]
    assert len({e["header"]["event_id"] for e in first + later}) == 208
    known = {canonical_json(e["event"]) for e in first}
    reused = 0
    for env in later:
        body = env["event"]
        reused += canonical_json(body) in known
        known.add(canonical_json(body))
        h = env["header"]
        again = s.factory.wrap(ET, body, now=int(h["create_time"]) / 1000, longconn=True, event_id=h["event_id"])
        assert canonical_json(env) == canonical_json(again)
        assert h["token"] == ""
    assert reused > 100  # bodies come back ...
    assert len(known) > 30  # ... and the pool keeps being refreshed (50 new bodies over 200 envelopes)
    for env in later[::20]:
        schemas.validate(env, ET)


def test_types_with_a_business_dedupe_key_get_a_fresh_body_each_time() -> None:
    s = sim(4)
    envs = s.generate_pooled("im.message.receive_v1", 40)
    pool = BodyPool(s.factory, "im.message.receive_v1", size=4)
    assert pool.fresh
    more = [pool.envelope() for _ in range(40)]
    ids = {e["event"]["message"]["message_id"] for e in envs + more}
    assert len(ids) == 80


def test_the_seed_decides_the_pooled_stream() -> None:
    assert [canonical_json(e) for e in sim(5).generate_pooled(ET, 700)] == \
           [canonical_json(e) for e in sim(5).generate_pooled(ET, 700)]
    assert canonical_json(sim(5).generate_pooled(ET, 1)[0]) != canonical_json(sim(6).generate_pooled(ET, 1)[0])


def test_callbacks_get_a_fresh_body_each_time() -> None:
    """A click carries a card token the platform accepts only twice: a pooled click would be a third use."""
    s = sim(4)
    pool = BodyPool(s.factory, "card.action.trigger", size=4)
    assert pool.fresh
    tokens = {pool.envelope()["event"]["token"] for _ in range(20)}
    assert len(tokens) == 20

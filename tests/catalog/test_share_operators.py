"""Property: whoever starts or ends a screen share can share a screen -- never a phone (user_type 6) or SIP
(7) participant -- for lone events of any seed and in every scenario."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.generation import scenarios
from simulator.generation.population import NO_SCREEN_USER_TYPES
from simulator.rand import SimRandom
from tests.catalog.helpers import factory, short

SHARES = ("vc.meeting.share_started_v1", "vc.meeting.share_ended_v1")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), locale=st.sampled_from(["zh_CN", "en_US"]))
def test_lone_share_operators_can_share(seed: int, locale: str) -> None:
    f = factory(seed, locale=locale, population_size=24)  # small tenants: phone/SIP people are drawn often
    for _ in range(20):
        for event_type in SHARES:
            op = f.generate(event_type)["event"]["operator"]
            assert op["user_type"] not in NO_SCREEN_USER_TYPES, op


def test_phone_and_sip_people_still_join_meetings() -> None:
    """Only sharing is off limits to them: they still join (and the population does hold them)."""
    f = factory(11, population_size=24)
    phones = [p for p in f.population.people if not p.can_share]
    assert phones, "the population should hold phone/SIP people for this test to mean anything"
    join_types = {f.generate("vc.meeting.join_meeting_v1")["event"]["operator"]["user_type"] for _ in range(300)}
    assert join_types & NO_SCREEN_USER_TYPES  # joining by phone is fine


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), name=st.sampled_from(["share-and-record", "large-meeting"]))
def test_scenario_presenters_can_share(seed: int, name: str) -> None:
    envs = scenarios.play(scenarios.load(name), factory(seed), SimRandom(seed))
    ops = [e["event"]["operator"] for e in envs if short(e) in ("share_started", "share_ended")]
    assert ops and all(op["user_type"] not in NO_SCREEN_USER_TYPES for op in ops)

"""The shipped scenarios produce coherent sequences for every seed; the same seed gives the same bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator import SimConfig, Simulator
from simulator.clock import VirtualClock
from simulator.generation import scenarios, schemas
from simulator.generation.factory import SEEDED_EPOCH
from simulator.rand import SimRandom
from tests.catalog.helpers import factory, oid, short
from tests.catalog.invariants import check_sequence

SHIPPED = ["large-meeting", "plain-meeting", "share-and-record"]  # the meetings (chats: test_chat_scenarios.py)
CHATS = ["busy-group", "group-mention-thread", "p2p-conversation"]


def run(name: str, seed: int) -> list[dict[str, Any]]:
    sim = Simulator(SimConfig(seed=seed, start_time=SEEDED_EPOCH, time_scale=0))
    return sim.generate_scenario(name)


def test_shipped_scenarios() -> None:
    assert scenarios.names() == sorted([*SHIPPED, *CHATS])
    for name in SHIPPED:
        assert scenarios.load(name).description


@pytest.mark.parametrize(("name", "seeds"), [("plain-meeting", 40), ("share-and-record", 40), ("large-meeting", 4)])
def test_invariants_hold_over_many_seeds(name: str, seeds: int) -> None:
    sc = scenarios.load(name)
    for seed in range(seeds):
        envs = run(name, seed)
        check_sequence(envs, mirror=sc.mirror_all_meeting, subscribers=bool(sc.subscribers))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_scenario_event_is_schema_valid(name: str) -> None:
    for seed in range(1 if name == "large-meeting" else 3):
        for env in run(name, seed):
            assert schemas.errors(env) == [], (short(env), [schemas.describe(e) for e in schemas.errors(env)])


def test_the_shipped_scenarios_cover_all_fifteen_types() -> None:
    seen = {env["header"]["event_type"] for name in SHIPPED for env in run(name, 1)}
    from simulator.generation import catalog

    assert seen == {t for t in catalog.event_types() if t.startswith("vc.meeting.")}


def test_plain_meeting_shape() -> None:
    for seed in range(10):
        counts = check_sequence(run("plain-meeting", seed), mirror=False, subscribers=False)
        assert counts == {"meeting_started": 1, "join_meeting": 5, "leave_meeting": 5, "meeting_ended": 1}


def test_share_and_record_details() -> None:
    for seed in range(10):
        envs = run("share-and-record", seed)
        leaves = [e["event"] for e in envs if short(e) == "leave_meeting"]
        assert sorted(x["leave_reason"] for x in leaves) == [1, 2, 2, 2, 2, 3]
        kick = next(x for x in leaves if x["leave_reason"] == 3)
        assert kick["operator"]["user_role"] == 3  # removed by the co-host
        roles = {e["event"]["operator"]["user_role"] for e in envs
                 if "operator" in e["event"] and short(e) != "send_meeting_im"}  # whose operator has no role
        assert roles == {1, 2, 3}
        order = [short(e) for e in envs]
        assert order.index("recording_ended") < order.index("recording_ready")
        assert order.count("send_meeting_im") == 3 and order.count("share_started") == 2
        ended = next(e for e in envs if short(e) == "meeting_ended")["event"]
        assert ended["operator"]["user_role"] == 3  # the co-host ends it


def test_large_meeting_has_hundreds_of_people() -> None:
    envs = run("large-meeting", 3)
    joins = [oid(e["event"]["operator"]) for e in envs if short(e) == "join_meeting"]
    assert len(joins) == len(set(joins)) == 302
    leaves = [e["event"] for e in envs if short(e) == "leave_meeting"]
    assert sum(1 for x in leaves if x["leave_reason"] == 1) == 120
    assert sum(1 for x in leaves if x["leave_reason"] == 2) == 182
    times = [int(e["header"]["create_time"]) for e in envs]
    assert (times[-1] - times[0]) / 60_000 > 20  # a meeting of realistic length, not a burst


@pytest.mark.parametrize("name", SHIPPED)
def test_same_seed_same_bytes(name: str) -> None:
    a = json.dumps(run(name, 11), ensure_ascii=False)
    b = json.dumps(run(name, 11), ensure_ascii=False)
    c = json.dumps(run(name, 12), ensure_ascii=False)
    assert a == b and a != c


def test_runs_back_to_back_are_different_meetings_in_time_order() -> None:
    sim = Simulator(SimConfig(seed=5, start_time=SEEDED_EPOCH, time_scale=0))
    envs = sim.generate_scenario("plain-meeting", runs=3)
    ids = [e["event"]["meeting"]["id"] for e in envs]
    assert len(set(ids)) == 3
    times = [int(e["header"]["create_time"]) for e in envs]
    assert times == sorted(times)
    for mid in set(ids):
        check_sequence([e for e in envs if e["event"]["meeting"]["id"] == mid], mirror=False, subscribers=False)
    assert sim.clock.now() >= times[-1] / 1000  # the clock moved past the scenario


def test_on_the_real_clock_a_scenario_ends_now() -> None:
    import time

    sim = Simulator(SimConfig(seed=5))
    before = time.time()
    envs = sim.generate_scenario("share-and-record")
    last = int(envs[-1]["header"]["create_time"]) / 1000
    assert before - 1 <= last <= time.time() + 1
    assert int(envs[0]["header"]["create_time"]) / 1000 < last - 600


def test_live_end_time_final_keeps_the_meeting_constant() -> None:
    text = scenarios.resolve("plain-meeting").read_text(encoding="utf-8")
    sc = scenarios.loads(text.replace('[scenario]\n', '[scenario]\nlive_end_time = "final"\n'))
    envs = scenarios.play(sc, factory(2), SimRandom(2))
    ends = {e["event"]["meeting"]["end_time"] for e in envs}
    assert len(ends) == 1
    assert ends == {envs[-1]["event"]["meeting"]["end_time"]}
    check_sequence(envs, mirror=False, subscribers=False, final_end_time=True)


def test_scenario_people_are_consistent_across_events() -> None:
    envs = run("share-and-record", 4)
    ids: dict[str, tuple[str, str]] = {}
    for e in envs:
        users = [e["event"][k] for k in ("operator", "leave_user") if k in e["event"]]
        for u in users:
            assert ids.setdefault(u["id"]["union_id"], (u["id"]["user_id"], u["id"]["open_id"])) == (
                u["id"]["user_id"], u["id"]["open_id"])
    assert len(ids) == 6  # the six named people


def test_the_clock_decides_the_start() -> None:
    f = factory(1)
    f.clock = VirtualClock(1_800_000_000)
    envs = scenarios.play(scenarios.load("plain-meeting"), f, SimRandom(1))
    assert envs[0]["header"]["create_time"] == "1800000000000"
    assert envs[0]["event"]["meeting"]["start_time"] == "1800000000"


def test_the_invariant_checker_catches_broken_sequences() -> None:
    """The checker above is not vacuous: classic receiver-breaking sequences fail it."""
    good = run("share-and-record", 7)
    check_sequence(good, mirror=False, subscribers=True)
    order = [short(e) for e in good]

    def broken(mutate: Any) -> list[dict[str, Any]]:
        envs = json.loads(json.dumps(good))
        mutate(envs)
        return list(envs)

    first_join = order.index("join_meeting", 1)
    leave = next(i for i, e in enumerate(good) if short(e) == "leave_meeting"
                 and e["event"]["leave_user"] == good[first_join]["event"]["operator"])

    def leave_before_join(envs: list[dict[str, Any]]) -> None:
        envs[first_join], envs[leave] = envs[leave], envs[first_join]

    def other_meeting(envs: list[dict[str, Any]]) -> None:
        envs[5]["event"]["meeting"]["id"] = "7000000000000000000"

    def ready_without_end(envs: list[dict[str, Any]]) -> None:
        envs.pop(order.index("recording_ended"))

    def time_goes_back(envs: list[dict[str, Any]]) -> None:
        envs[3]["header"]["create_time"] = str(int(envs[3]["header"]["create_time"]) - 10_000_000)

    def role_changes(envs: list[dict[str, Any]]) -> None:
        envs[order.index("share_started")]["event"]["operator"]["user_role"] = 2

    def phone_presents(envs: list[dict[str, Any]]) -> None:
        envs[order.index("share_started")]["event"]["operator"]["user_type"] = 6

    def im_with_role(envs: list[dict[str, Any]]) -> None:
        envs[order.index("send_meeting_im")]["event"]["operator"]["user_role"] = 1

    for mutate in (leave_before_join, other_meeting, ready_without_end, time_goes_back, role_changes, phone_presents,
                   im_with_role):
        with pytest.raises(AssertionError):
            check_sequence(broken(mutate), mirror=False, subscribers=True)

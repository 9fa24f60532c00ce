from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from simulator.clock import VirtualClock
from simulator.config import AppProfile
from simulator.errors import OverrideError, UnknownEventType
from simulator.generation import schemas
from simulator.generation.factory import SEEDED_EPOCH, EventFactory
from simulator.rand import SimRandom

ET = "vc.meeting.share_ended_v1"


def factory(seed: int, **kw: Any) -> EventFactory:
    return EventFactory(rand=SimRandom(seed), clock=VirtualClock(SEEDED_EPOCH), **kw)


def test_many_seeded_events_are_schema_valid_and_coherent() -> None:
    for seed in range(40):
        f = factory(seed)
        for _ in range(5):
            env = f.generate(ET)
            assert schemas.errors(env) == []
            m = env["event"]["meeting"]
            create_s = int(env["header"]["create_time"]) / 1000
            assert int(m["start_time"]) < int(m["end_time"]) <= create_s
            assert m["host_user"]["user_role"] == 2
            assert len(env["header"]["create_time"]) == 13
            assert len(m["id"]) == 19 and len(m["meeting_no"]) == 9


def test_same_seed_same_bytes_different_seed_different() -> None:
    a = [json.dumps(factory(5).generate(ET), ensure_ascii=False) for _ in range(1)]
    b = [json.dumps(factory(5).generate(ET), ensure_ascii=False) for _ in range(1)]
    c = [json.dumps(factory(6).generate(ET), ensure_ascii=False) for _ in range(1)]
    assert a == b and a != c


def test_events_are_varied() -> None:
    f = factory(9)
    envs = [f.generate(ET) for _ in range(50)]
    assert len({e["header"]["event_id"] for e in envs}) == 50
    assert len({e["event"]["meeting"]["id"] for e in envs}) == 50
    assert len({e["event"]["meeting"]["topic"] for e in envs}) > 20
    assert len({e["event"]["operator"]["id"]["open_id"] for e in envs}) > 20


def test_a_person_keeps_the_same_ids_across_events() -> None:
    f = factory(11, population_size=8)
    seen: dict[str, tuple[str, str]] = {}
    for _ in range(60):
        ev = f.generate(ET)["event"]
        for user in (ev["operator"], ev["meeting"]["host_user"], ev["meeting"]["owner"]):
            ids = user["id"]
            prev = seen.setdefault(ids["union_id"], (ids["user_id"], ids["open_id"]))
            assert prev == (ids["user_id"], ids["open_id"])
    assert len(seen) <= 8


def test_open_id_is_per_app_union_id_is_not() -> None:
    a = factory(3, app=AppProfile(app_id="cli_aaaaaaaaaaaaaaaa")).generate(ET)["event"]["operator"]["id"]
    b = factory(3, app=AppProfile(app_id="cli_bbbbbbbbbbbbbbbb")).generate(ET)["event"]["operator"]["id"]
    assert a["union_id"] == b["union_id"] and a["user_id"] == b["user_id"]
    assert a["open_id"] != b["open_id"]


def test_header_carries_app_tenant_and_token() -> None:
    app = AppProfile(app_id="cli_0123456789abcdef", tenant_key="736588c9260f175c", verification_token="tok")
    env = factory(1, app=app).generate(ET)
    assert env["header"]["app_id"] == "cli_0123456789abcdef"
    assert env["header"]["tenant_key"] == "736588c9260f175c"
    assert env["header"]["token"] == "tok"
    assert factory(1, app=app).generate(ET, longconn=True)["header"]["token"] == ""
    assert list(env["header"]) == ["event_id", "event_type", "create_time", "token", "app_id", "tenant_key"]


def test_en_us_locale_gives_english_topics() -> None:
    f = factory(2, locale="en_US")
    topics = [f.generate(ET)["event"]["meeting"]["topic"] for _ in range(20)]
    assert all(t.isascii() for t in topics)
    zh = [factory(2).generate(ET)["event"]["meeting"]["topic"]]
    assert not zh[0].isascii()


def test_overrides_are_json_typed_and_validated() -> None:
    env = factory(1).generate(ET, overrides={"event.meeting.topic": "Q3 review", "event.operator.user_role": 3})
    assert env["event"]["meeting"]["topic"] == "Q3 review"
    assert env["event"]["operator"]["user_role"] == 3
    with pytest.raises(OverrideError, match="user_role"):
        factory(1).generate(ET, overrides={"event.operator.user_role": 7})
    with pytest.raises(OverrideError, match="does not exist"):
        factory(1).generate(ET, overrides={"event.meting.topic": "x"})
    with pytest.raises(OverrideError, match="topc"):
        factory(1).generate(ET, overrides={"event.meeting.topc": "x"})


def test_no_validate_allows_a_deliberately_broken_payload() -> None:
    env = factory(1).generate(ET, overrides={"event.meeting.id": 42, "event.extra.deep": True}, validate=False)
    assert env["event"]["meeting"]["id"] == 42 and env["event"]["extra"] == {"deep": True}


def test_unknown_event_type() -> None:
    with pytest.raises(UnknownEventType):
        factory(1).generate("vc.meeting.nope_v1")


def test_documented_example_differs_from_schema_only_by_the_documented_truncated_ids() -> None:
    from simulator.resources import fixtures_dir

    doc = json.loads((fixtures_dir() / "events" / ET / "doc_example.json").read_text())
    problems = [schemas.describe(e) for e in schemas.errors(doc) if e.validator != "unevaluatedProperties"]
    # docs/semantics.md#truncated-ids-in-the-examples: the VC pages' example ids have 31 / 30 hex digits instead of 32.
    assert len(problems) == 6 and all("ou_84aad35d084aa403a838cf73ee18467" in p or
                                      "on_8ed6aa67826108097d9ee143816345" in p for p in problems)
    fixed = copy.deepcopy(doc)
    meeting = fixed["event"]["meeting"]
    for user in (fixed["event"]["operator"], meeting["host_user"], meeting["owner"]):
        user["id"]["open_id"] += "0"
        user["id"]["union_id"] += "00"
    assert schemas.errors(fixed) == []

"""Every catalogued vc.meeting type: registered, schema-valid over many seeds, coherent on its own, and
its schema strict enough to catch the mistakes receivers trip on."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from simulator.errors import UnknownEventType
from simulator.generation import catalog, schemas
from simulator.generation.schemas import schema_path
from simulator.resources import schemas_dir
from tests.catalog.helpers import DELETE, create_s, factory, mutated, oid

TYPES = {
    "meeting_started": "register_p2_vc_meeting_meeting_started_v1",
    "meeting_ended": "register_p2_vc_meeting_meeting_ended_v1",
    "all_meeting_started": "register_p2_vc_meeting_all_meeting_started_v1",
    "all_meeting_ended": "register_p2_vc_meeting_all_meeting_ended_v1",
    "join_meeting": "register_p2_vc_meeting_join_meeting_v1",
    "leave_meeting": "register_p2_vc_meeting_leave_meeting_v1",
    "recording_started": "register_p2_vc_meeting_recording_started_v1",
    "recording_ended": "register_p2_vc_meeting_recording_ended_v1",
    "recording_ready": "register_p2_vc_meeting_recording_ready_v1",
    "share_started": "register_p2_vc_meeting_share_started_v1",
    "share_ended": "register_p2_vc_meeting_share_ended_v1",
    # no typed handler in lark-oapi 1.7.5 (docs/protocol.md#vc-event-models-across-sdks)
    "participant_meeting_started": None,
    "participant_meeting_joined": None,
    "participant_meeting_ended": "register_p2_vc_meeting_participant_meeting_ended_v1",
    "send_meeting_im": None,
}
ALL = [f"vc.meeting.{t}_v1" for t in TYPES]
# docs/semantics.md#start_time-described-as-the-end-time: the pages whose table calls start_time 会议结束时间.
QUIRK_PAGES = {"share_ended", "share_started", "recording_started", "recording_ended", "leave_meeting",
               "meeting_ended"}
SEEDS = range(8)
PER_SEED = 15  # 120 events per type: independent seeds and a run of events from each


@cache
def generated(event_type: str) -> list[dict[str, Any]]:
    out = []
    for seed in SEEDS:
        f = factory(seed)
        out += [f.generate(event_type) for _ in range(PER_SEED)]
    return out


def test_the_catalogue_lists_exactly_the_fifteen_types_with_their_sdk_handler() -> None:
    # other families (simulator/generation/families/) bring their own tests
    assert [t for t in catalog.event_types() if t.startswith("vc.meeting.")] == sorted(ALL)
    for name, method in TYPES.items():
        spec = catalog.get(f"vc.meeting.{name}_v1")
        assert spec.sdk_register == method, name
        assert spec.summary and schema_path(spec.event_type).is_file()


def test_every_event_schema_has_a_generator() -> None:
    files = {p.name.removesuffix(".schema.json") for p in schemas_dir().rglob("vc.*.schema.json")}
    assert files == set(ALL)
    with pytest.raises(UnknownEventType):
        catalog.get("vc.meeting.example_v1")  # the template is not registered


@pytest.mark.parametrize("event_type", ALL)
def test_many_seeded_events_are_schema_valid(event_type: str) -> None:
    v = schemas.validator(event_type)
    envs = generated(event_type)
    assert len(envs) == len(SEEDS) * PER_SEED
    for env in envs:
        errors = [schemas.describe(e) for e in v.iter_errors(env)]
        assert errors == [], errors


_lone = generated


@pytest.mark.parametrize("event_type", [t for t in ALL if "recording_ready" not in t and "send_meeting_im" not in t])
def test_lone_events_are_coherent(event_type: str) -> None:
    for env in _lone(event_type):
        ev, m = env["event"], env["event"]["meeting"]
        assert m["host_user"]["user_role"] == 2
        assert int(m["start_time"]) <= int(m["end_time"]) <= create_s(env)
        op = ev["operator"]
        if oid(op) == oid(m["host_user"]):
            assert op["user_role"] == 2
        if "calendar_event_id" in m:
            assert m["meeting_source"] == 1
        if event_type.endswith(("meeting_started_v1",)):
            assert op == m["host_user"] and m["start_time"] == m["end_time"]


def test_leave_reasons_set_operator_and_leave_user_coherently() -> None:
    seen = set()
    for env in _lone("vc.meeting.leave_meeting_v1"):
        ev = env["event"]
        reason, op, user = ev["leave_reason"], ev["operator"], ev["leave_user"]
        seen.add(reason)
        if reason == 1:
            assert op == user
        else:
            assert op["user_role"] in (2, 3)
        if reason == 3:
            assert oid(op) != oid(user)
    assert seen == {1, 2, 3}


def test_recording_ready_has_no_operator_a_minutes_url_and_a_millisecond_duration() -> None:
    for env in _lone("vc.meeting.recording_ready_v1"):
        ev = env["event"]
        assert set(ev) == {"meeting", "url", "duration"}
        assert re.fullmatch(r"https://meetings\.feishu\.cn/minutes/obcn[0-9a-z]{20}", ev["url"])
        assert isinstance(ev["duration"], str) and int(ev["duration"]) >= 30_000
        assert set(ev["meeting"]["owner"]) == {"id"}
        assert not {"start_time", "end_time", "host_user"} & set(ev["meeting"])


def test_participant_events_carry_subscriber_ids() -> None:
    for env in _lone("vc.meeting.participant_meeting_joined_v1"):
        ev = env["event"]
        assert ev["subscriber_ids"] == [ev["operator"]["id"]]
    for env in _lone("vc.meeting.participant_meeting_ended_v1"):
        assert 1 <= len(env["event"]["subscriber_ids"]) <= 3


def test_send_meeting_im_has_the_reduced_meeting_and_content() -> None:
    for env in _lone("vc.meeting.send_meeting_im_v1"):
        ev = env["event"]
        assert set(ev) == {"meeting", "operator", "content"} and ev["content"]
        assert list(ev["operator"]) == ["id", "user_type"]  # node-sdk 1.74 declares no user_role here
        assert set(ev["meeting"]) <= {"id", "meeting_source", "meeting_sub_type", "security_setting",
                                      "webinar_setting"}


def test_events_of_one_type_are_varied() -> None:
    envs = _lone("vc.meeting.join_meeting_v1")
    assert len({e["event"]["meeting"]["id"] for e in envs}) == len(envs)
    assert len({oid(e["event"]["operator"]) for e in envs}) > 60


def test_share_ended_output_is_unchanged_by_the_new_types() -> None:
    """Existing seeds keep producing the same share_ended events (the stream was not perturbed)."""
    env = factory(5).generate("vc.meeting.share_ended_v1")
    assert env["event"]["meeting"]["id"] == "7874585531419822618"  # as before the family was added


# -- the schemas are strict: each mutation below must be rejected -------------------------------------
MUTATIONS = [
    ("vc.meeting.join_meeting_v1", "event.meeting.id", 7123456789012345678),  # ids are strings
    ("vc.meeting.join_meeting_v1", "event.meeting.start_time", 1772415000),  # times are strings
    ("vc.meeting.join_meeting_v1", "event.meeting.calendar_event_id", "efa67a98-06a8-4df5-8559-746c8f4477ef_0"),
    ("vc.meeting.join_meeting_v1", "event.extra", 1),
    ("vc.meeting.join_meeting_v1", "event.operator.user_role", 4),
    ("vc.meeting.join_meeting_v1", "event.operator.user_type", 10),
    ("vc.meeting.join_meeting_v1", "event.operator", DELETE),
    ("vc.meeting.meeting_started_v1", "event.meeting.meeting_source", 5),
    ("vc.meeting.meeting_started_v1", "event.meeting.meeting_no", "12345678"),
    ("vc.meeting.leave_meeting_v1", "event.leave_reason", 4),
    ("vc.meeting.leave_meeting_v1", "event.leave_reason", "1"),
    ("vc.meeting.leave_meeting_v1", "event.leave_reason", DELETE),
    ("vc.meeting.recording_ready_v1", "event.operator", {"id": {"union_id": "on_" + "a" * 32,
                                                                "open_id": "ou_" + "a" * 32},
                                                         "user_role": 2, "user_type": 1}),
    ("vc.meeting.recording_ready_v1", "event.duration", 30000),
    ("vc.meeting.recording_ready_v1", "event.url", "http://example.com/x"),
    ("vc.meeting.recording_ready_v1", "event.meeting.start_time", "1772415000"),
    ("vc.meeting.recording_ready_v1", "event.meeting.owner.user_role", 2),
    ("vc.meeting.participant_meeting_joined_v1", "event.subscriber_ids", DELETE),
    ("vc.meeting.participant_meeting_ended_v1", "event.subscriber_ids",
     [{"union_id": "on_" + "a" * 32, "open_id": "ou_" + "a" * 32}] * 501),
    ("vc.meeting.send_meeting_im_v1", "event.content", DELETE),
    ("vc.meeting.send_meeting_im_v1", "event.operator.user_role", 1),
    ("vc.meeting.send_meeting_im_v1", "event.meeting.topic", "x"),
    ("vc.meeting.share_started_v1", "header.create_time", "1772415000"),
    ("vc.meeting.share_started_v1", "header.event_type", "vc.meeting.share_ended_v1"),
]


@pytest.mark.parametrize(("event_type", "path", "value"), MUTATIONS,
                         ids=[f"{t[11:-3]}:{p}" for t, p, _ in MUTATIONS])
def test_schema_rejects(event_type: str, path: str, value: Any) -> None:
    env = factory(1).generate(event_type)
    assert schemas.errors(env) == []
    assert schemas.errors(mutated(env, path, value), event_type) != []


@pytest.mark.parametrize("event_type", [t for t in ALL if "recording_ready" not in t and "send_meeting_im" not in t])
def test_schema_says_start_time_is_the_start_and_names_the_doc_quirk(event_type: str) -> None:
    doc = json.loads(schema_path(event_type).read_text(encoding="utf-8"))
    desc = doc["properties"]["event"]["properties"]["meeting"]["properties"]["start_time"]["description"]
    assert "start time" in desc.lower()
    name = event_type[len("vc.meeting."):-3]
    if name in QUIRK_PAGES:
        assert "会议结束时间" in desc and "docs/semantics.md#start_time-described-as-the-end-time" in desc
    else:
        assert "会议开始时间" in desc

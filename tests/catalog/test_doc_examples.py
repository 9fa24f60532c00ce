"""The documented example payloads (kept verbatim in fixtures/events/<type>/doc_example.json) against our
strict schemas: the only violations are the documented placeholders, and the corrected copy passes. The VC
pages (docs/semantics.md#documented-quirks) and the IM and bot-menu pages (docs/events.md#im-ids-and-message-shapes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.generation import catalog, schemas
from simulator.resources import fixtures_dir
from tests.catalog.helpers import factory

# docs/semantics.md#truncated-ids-in-the-examples: the VC pages' example ids have 31 / 30 hex digits instead of 32.
TRUNCATED = {
    "ou_84aad35d084aa403a838cf73ee18467": "ou_84aad35d084aa403a838cf73ee184670",
    "on_8ed6aa67826108097d9ee143816345": "on_8ed6aa67826108097d9ee14381634500",
}
# The 2024-09 all_meeting_started page fills security_setting.group_ids with a bracketed placeholder
# (X's and a non-hex "i"); its room_ids placeholder "[omm_XX...]" fits the (format-free) room id schema.
PLACEHOLDERS = {"[oc_XXXXf6a28a0d08c45d895267e8b4a91i]": "oc_0000f6a28a0d08c45d895267e8b4a910"}
# The IM and bot-menu pages: non-hex tenant keys, masked or shortened message / chat / thread ids and a masked
# app id (plus the reaction pages' operator_type "app/user" with both user_id and app_id, see ``corrected``).
IM_PLACEHOLDERS = {
    "72ud6639": "72ad6639d6e3f1a0", "27898y326": "27898a326b7c8d9e", "3774yuu3743": "3774aee3743f0b1c",
    "879dsyud8": "879d5ad8e1f20304", "86gwe65": "86a0e65b1c2d3e4f",
    "cli_9f53******712544": "cli_9f5343c580712544",
    "om_dc1326***************51dba21dcf": "om_dc13264520392913993dd051dba21dcf",
    "om_5ce6d572455d361153b7cb5xxfsdfsdfdsf": "om_5ce6d572455d361153b7cb51da133944",
    "oc_5ce6d572455d361153b7xx51da133945": "oc_5ce6d572455d361153b7cb51da133945",
    "oc_5ad11d72b830411d72b836c20": "oc_5ad11d72b830411d72b836c200000000",
    "omt_d4be107c616": "omt_d4be107c6160",
}
KNOWN = {**TRUNCATED, **PLACEHOLDERS, **IM_PLACEHOLDERS}

EXAMPLES = sorted(p.parent.name for p in (fixtures_dir() / "events").glob("*/doc_example.json"))
VC_EXAMPLES = [e for e in EXAMPLES if e.startswith("vc.")]
IM_EXAMPLES = [e for e in EXAMPLES if not e.startswith("vc.")]
# The eleven types with a Chinese doc page (docs/semantics.md#official-documentation D-VC-x); the participant_* and
# send_meeting_im
# events have none (docs/semantics.md#other-vc-events), so no example is shipped for them.
DOCUMENTED = {f"vc.meeting.{n}_v1" for n in (
    "all_meeting_started", "all_meeting_ended", "meeting_started", "meeting_ended", "join_meeting",
    "leave_meeting", "recording_started", "recording_ended", "recording_ready", "share_started", "share_ended")}
# Every IM type and the bot menu has a page with an example.
IM_DOCUMENTED = {t for t in catalog.event_types() if catalog.get(t).family in ("im", "application")}
# How many placeholder violations each IM example has (two per truncated user: open_id and union_id).
IM_VIOLATIONS = {
    "application.bot.menu_v6": 2, "im.chat.access_event.bot_p2p_chat_entered_v1": 2, "im.chat.disbanded_v1": 2,
    "im.chat.member.bot.added_v1": 3, "im.chat.member.bot.deleted_v1": 3, "im.chat.member.user.added_v1": 6,
    "im.chat.member.user.deleted_v1": 6, "im.chat.member.user.withdrawn_v1": 6, "im.chat.updated_v1": 13,
    "im.message.message_read_v1": 2, "im.message.reaction.created_v1": 6, "im.message.reaction.deleted_v1": 6,
    "im.message.recalled_v1": 1, "im.message.receive_v1": 8,
}


def load(event_type: str) -> dict[str, Any]:
    path = fixtures_dir() / "events" / event_type / "doc_example.json"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def corrected(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get("operator_type") == "app/user":  # the reaction pages: a user reacted (app_id dropped)
            value = {k: v for k, v in value.items() if k != "app_id"} | {"operator_type": "user"}
        return {k: corrected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [corrected(v) for v in value]
    return KNOWN.get(value, value) if isinstance(value, str) else value


def test_an_example_for_every_documented_type() -> None:
    assert set(VC_EXAMPLES) == DOCUMENTED
    assert set(IM_EXAMPLES) == IM_DOCUMENTED and len(IM_EXAMPLES) == 14


@pytest.mark.parametrize("event_type", VC_EXAMPLES)
def test_only_documented_placeholders_break_the_schema(event_type: str) -> None:
    doc = load(event_type)
    assert doc["header"]["event_type"] == event_type
    errors = [e for e in schemas.errors(doc) if e.validator != "unevaluatedProperties"]
    assert errors, "the verbatim example should show the documented truncated ids"
    for e in errors:
        assert e.validator == "pattern" and e.instance in KNOWN, schemas.describe(e)
    users = 1 if event_type.endswith("recording_ready_v1") else 3  # owner only / host, owner, operator
    expected = 2 * users + (1 if event_type.endswith("all_meeting_started_v1") else 0)
    assert len(errors) == expected, [schemas.describe(e) for e in errors]


@pytest.mark.parametrize("event_type", EXAMPLES)
def test_the_corrected_example_passes(event_type: str) -> None:
    assert schemas.errors(corrected(load(event_type))) == []


@pytest.mark.parametrize("event_type", IM_EXAMPLES)
def test_only_documented_placeholders_break_the_im_schemas(event_type: str) -> None:
    doc = load(event_type)
    assert doc["header"]["event_type"] == event_type
    errors = [e for e in schemas.errors(doc) if e.validator != "unevaluatedProperties"]
    for e in errors:
        if e.validator == "pattern":
            assert e.instance in KNOWN, schemas.describe(e)
        elif e.validator == "enum":  # the reaction pages' placeholder operator_type
            assert e.instance == "app/user", schemas.describe(e)
        else:  # ... which shows both ids, while the schema wants the one operator_type names
            assert "reaction" in event_type and e.instance == doc["event"]["user_id"], schemas.describe(e)
    assert len(errors) == IM_VIOLATIONS[event_type], [schemas.describe(e) for e in errors]


@pytest.mark.parametrize("event_type", IM_EXAMPLES)
def test_im_examples_are_kept_verbatim(event_type: str) -> None:
    doc = load(event_type)
    path = fixtures_dir() / "events" / event_type / "doc_example.json"
    assert path.read_text(encoding="utf-8").startswith('{\n    "schema": "2.0",\n    "header": {')
    assert doc["header"]["create_time"] == "1608725989000" and doc["header"]["app_id"] == "cli_9f5343c580712544"
    if event_type == "im.message.receive_v1":
        m = doc["event"]["message"]
        assert m["content"] == '{"text":"@_user_1 hello"}' and m["mentions"][0]["key"] == "@_user_1"
        assert int(m["update_time"]) > int(m["create_time"]) > int(doc["header"]["create_time"])  # not self-consistent
    if event_type == "application.bot.menu_v6":
        assert doc["event"]["timestamp"] == 1669364458  # seconds, a JSON number


@pytest.mark.parametrize("event_type", IM_EXAMPLES)
def test_generated_im_events_have_the_documented_keys(event_type: str) -> None:
    """Every key the doc example shows (at the event level, in ``message`` and in ``after_change``) is one
    our generator emits for that type, given the scopes that add optional keys."""
    doc = load(event_type)["event"]
    params = {"user_agent": True} if event_type == "im.message.receive_v1" else {}
    seen: dict[str, set[str]] = {"event": set(), "message": set(), "after_change": set()}
    f = factory(1, population_size=64)
    for _ in range(300):
        ev = f.generate(event_type, ctx=f.context(params=params))["event"]
        seen["event"] |= set(ev)
        for part in ("message", "after_change"):
            seen[part] |= set(ev.get(part, {}))
    assert set(doc) <= seen["event"]
    for part in ("message", "after_change"):
        assert set(doc.get(part, {})) <= seen[part], part


@pytest.mark.parametrize("event_type", VC_EXAMPLES)
def test_examples_are_kept_verbatim_with_their_quirks(event_type: str) -> None:
    """The examples are not self-consistent (docs/semantics.md#examples-are-not-self-consistent); the fixture
    must not "fix" that."""
    doc = load(event_type)
    path = fixtures_dir() / "events" / event_type / "doc_example.json"
    assert path.read_text(encoding="utf-8").startswith('{\n    "schema": "2.0",\n    "header": {')
    assert doc["header"]["create_time"] == "1608725989000"
    m = doc["event"]["meeting"]
    assert m["id"] == "6911188411934433028" and m["meeting_no"] == "235812466"
    if "start_time" in m:
        assert int(doc["header"]["create_time"]) < int(m["start_time"]) * 1000  # create before start
        assert m["host_user"]["user_role"] == 1  # the host shown as an ordinary participant


def test_recording_ready_example_values() -> None:
    ev = load("vc.meeting.recording_ready_v1")["event"]
    assert ev["url"] == "https://meetings.feishu.cn/minutes/obcn37dxcftoc3656rgyejm7"
    assert ev["duration"] == "30000"
    assert set(ev) == {"meeting", "url", "duration"} and set(ev["meeting"]["owner"]) == {"id"}


@pytest.mark.parametrize("event_type", VC_EXAMPLES)
def test_generated_events_have_the_documented_shape(event_type: str) -> None:
    """Every key the doc example shows is one our generator emits for that type (so a receiver written
    against the doc sees the same fields), at the event and the meeting level."""
    doc = load(event_type)["event"]
    event_keys: set[str] = set()
    meeting_keys: set[str] = set()
    f = factory(1, population_size=32)
    for _ in range(300):  # webinar_setting only comes with meeting_sub_type 6 (a few % of meetings)
        ev = f.generate(event_type)["event"]
        event_keys |= set(ev)
        meeting_keys |= set(ev["meeting"])
    assert set(doc) <= event_keys
    assert set(doc["meeting"]) <= meeting_keys


def test_fixture_files_are_plain_utf8_json() -> None:
    for event_type in EXAMPLES:
        raw = (fixtures_dir() / "events" / event_type / "doc_example.json").read_bytes()
        assert raw.decode("utf-8") and not raw.startswith(b"\xef\xbb\xbf")
    assert Path(fixtures_dir()).is_dir()

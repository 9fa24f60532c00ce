"""The documented example payloads (kept verbatim in fixtures/events/<type>/doc_example.json) against our
strict schemas: the only violations are the documented placeholders, and the corrected copy passes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.generation import schemas
from simulator.resources import fixtures_dir
from tests.catalog.helpers import factory

# semantics §3.4.2: the VC pages' example ids have 31 / 30 hex digits instead of 32.
TRUNCATED = {
    "ou_84aad35d084aa403a838cf73ee18467": "ou_84aad35d084aa403a838cf73ee184670",
    "on_8ed6aa67826108097d9ee143816345": "on_8ed6aa67826108097d9ee14381634500",
}
# The 2024-09 all_meeting_started page fills security_setting.group_ids with a bracketed placeholder
# (X's and a non-hex "i"); its room_ids placeholder "[omm_XX...]" fits the (format-free) room id schema.
PLACEHOLDERS = {"[oc_XXXXf6a28a0d08c45d895267e8b4a91i]": "oc_0000f6a28a0d08c45d895267e8b4a910"}
KNOWN = {**TRUNCATED, **PLACEHOLDERS}

EXAMPLES = sorted(p.parent.name for p in (fixtures_dir() / "events").glob("*/doc_example.json"))
# The eleven types with a Chinese doc page (semantics §0.1 D-VC-x); the participant_* and send_meeting_im
# events have none (semantics §3.5), so no example is shipped for them.
DOCUMENTED = {f"vc.meeting.{n}_v1" for n in (
    "all_meeting_started", "all_meeting_ended", "meeting_started", "meeting_ended", "join_meeting",
    "leave_meeting", "recording_started", "recording_ended", "recording_ready", "share_started", "share_ended")}


def load(event_type: str) -> dict[str, Any]:
    path = fixtures_dir() / "events" / event_type / "doc_example.json"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def corrected(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: corrected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [corrected(v) for v in value]
    return KNOWN.get(value, value) if isinstance(value, str) else value


def test_an_example_for_every_documented_type() -> None:
    assert set(EXAMPLES) == DOCUMENTED


@pytest.mark.parametrize("event_type", EXAMPLES)
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


@pytest.mark.parametrize("event_type", EXAMPLES)
def test_examples_are_kept_verbatim_with_their_quirks(event_type: str) -> None:
    """semantics §3.4.3: the examples are not self-consistent; the fixture must not "fix" that."""
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


@pytest.mark.parametrize("event_type", EXAMPLES)
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

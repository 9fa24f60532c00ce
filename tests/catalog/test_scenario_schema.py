"""schemas/scenario.schema.json: a valid draft 2020-12 schema that every shipped scenario meets, in step
with the families' step vocabularies, never taken for an event schema, and whose errors become one
``file:line:`` message each."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from simulator.cli import main
from simulator.errors import FixtureError, UnknownEventType
from simulator.generation import catalog, scenarios
from simulator.generation.scenarios import _schema_check
from simulator.generation.scenarios._vocabulary import FAMILIES
from simulator.generation.schemas import schema_path
from simulator.resources import schemas_dir
from tests.catalog.helpers import SCENARIO_TOML
from tests.docs_examples import example

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schemas_dir() / "scenario.schema.json"


def schema() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return doc


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    doc = schema()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(doc)


def test_every_shipped_scenario_and_the_readme_example_validate() -> None:
    v = Draft202012Validator(schema())
    files = sorted(scenarios.scenarios_dir().glob("*.toml"))
    assert [f.stem for f in files] == scenarios.names() and files
    docs = [tomllib.loads(f.read_text(encoding="utf-8")) for f in files]
    docs += [tomllib.loads(example(name).code) for name in ("scenario-toml", "scenario-chat-toml",
                                                                  "scenario-chat-click")]
    for doc in docs:
        assert [e.message for e in v.iter_errors(doc)] == []
        doc["step"][0]["colour"] = "red"  # and the same file with an unknown key does not
        assert [e.validator for e in v.iter_errors(doc)] == ["unevaluatedProperties"]


def test_each_family_vocabulary_is_wired_into_the_schema() -> None:
    doc = schema()
    defs = doc["$defs"]
    assert {r["$ref"] for r in defs["step_event"]["anyOf"]} == {f"#/$defs/{v.family}/$defs/event" for v in FAMILIES}
    assert {r["$ref"] for r in defs["step"]["allOf"]} == {f"#/$defs/{v.family}/$defs/step" for v in FAMILIES}
    assert {r["$ref"] for r in doc["allOf"] if "$ref" in r} == {f"#/$defs/{v.family}/$defs/document" for v in FAMILIES}
    assert doc["anyOf"] == [{"required": [v.table]} for v in FAMILIES]  # exactly one family table (with the not)
    for vocab in FAMILIES:
        assert doc["properties"][vocab.table] == {"$ref": f"#/$defs/{vocab.family}/$defs/table"}
        assert defs[vocab.family]["$defs"]["document"]["if"] == {"required": [vocab.table]}
        for action in vocab.actions:  # every step that sends an event sends a catalogued type
            assert vocab.event_type(action) is None or catalog.get(str(vocab.event_type(action)))
    event = Draft202012Validator({"$ref": "#/$defs/step_event", "$defs": defs})
    for vocab in FAMILIES:
        family = defs[vocab.family]["$defs"]
        dispatch = family["step"]["allOf"]
        assert [d["then"]["$ref"] for d in dispatch] == [f"#/$defs/{vocab.family}/$defs/{a}" for a in vocab.actions]
        for action, d in zip(vocab.actions, dispatch, strict=True):
            condition = Draft202012Validator(d["if"])
            step_schema = family[action]
            assert step_schema["unevaluatedProperties"] is False
            assert {"$ref": "#/$defs/step_common"} in step_schema["allOf"]
            spellings = vocab.spellings(action)
            assert action in spellings and (vocab.event_type(action) in spellings or not vocab.event_type(action))
            for spelling in spellings:
                assert event.is_valid(spelling) and condition.is_valid({"event": spelling}), spelling
                assert scenarios._vocabulary.resolve(spelling) == (vocab, action)  # no other family's
            assert [a for a in vocab.actions if condition.is_valid({"event": a})] == [action]
            family_event = Draft202012Validator({"$ref": f"#/$defs/{vocab.family}/$defs/event", "$defs": defs})
            assert {e for v in FAMILIES for a in v.actions for e in v.spellings(a) if family_event.is_valid(e)} == {
                e for a in vocab.actions for e in vocab.spellings(a)}  # exactly its own spellings
        for derived in vocab.derived:
            assert not event.is_valid(derived) and not event.is_valid(f"{vocab.prefix}{derived}_v1")


def test_the_meeting_table_enums_are_the_event_schemas_enums() -> None:
    table = schema()["$defs"]["vc_meeting"]["$defs"]["table"]["properties"]
    common = json.loads((schemas_dir() / "vc_meeting" / "common.schema.json").read_text(encoding="utf-8"))["$defs"]
    assert table["source"]["enum"] == common["meeting_source"]["enum"]
    assert table["sub_type"]["enum"] == common["meeting_sub_type"]["enum"]
    assert table["webinar_type"]["enum"] == common["webinar_setting"]["properties"]["webinar_type"]["enum"]
    assert table["security_level"]["enum"] == common["security_setting"]["properties"]["security_level"]["enum"]


def test_the_chat_step_enums_are_the_generators_values() -> None:
    from simulator.generation.families.callbacks.cards import CLICKABLE
    from simulator.generation.families.callbacks.world import FORM
    from simulator.generation.families.im.chats import CHANGES
    from simulator.generation.families.im.content import MESSAGE_TYPES
    from simulator.generation.families.im.message_events import RECALL_TYPES
    from simulator.platform.openapi.content import MSG_TYPES  # what the mock send API lets a bot send

    chat = schema()["$defs"]["im_chat"]["$defs"]
    assert chat["message_type"]["enum"] == list(MESSAGE_TYPES)
    assert chat["bot_message_type"]["enum"] == list(MSG_TYPES) and set(MSG_TYPES) < set(MESSAGE_TYPES)
    assert chat["chat_updated"]["properties"]["change"]["enum"] == list(CHANGES)
    assert chat["recalled"]["properties"]["recall_type"]["enum"] == list(RECALL_TYPES)
    assert chat["click"]["properties"]["tag"]["enum"] == sorted(CLICKABLE | {FORM})  # what a click can target


def test_the_scenario_schema_is_not_an_event_schema(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("scenario", "envelope_v2", "common", "_template"):
        with pytest.raises(UnknownEventType):
            schema_path(name)
    assert "scenario" not in catalog.event_types()
    assert main(["generate", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "vc.meeting.join_meeting_v1" in listed and "scenario" not in listed


def test_the_schema_ships_in_the_wheel() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert include["schemas"] == "simulator/_data/schemas"
    assert SCHEMA.is_relative_to(schemas_dir()) and SCHEMA.is_file()
    assert _schema_check.schema() == schema()


def message(text: str) -> str:
    with pytest.raises(FixtureError) as info:
        scenarios.loads(text, source="s.toml")
    return str(info.value)


def line(text: str, needle: str) -> int:
    return next(i for i, s in enumerate(text.splitlines(), start=1) if needle in s)


@pytest.mark.parametrize(("body", "needle", "problem"), [
    ('event = "share_started"\nby = "a"\ncolour = "red"\n', "colour",
     "unknown field 'colour' for share_started (allowed: after, at, by, delay, event, id)"),
    ('by = 3\nevent = "share_paused"\n', "share_paused", "unknown event type 'share_paused' (steps: meeting_started, "
     "meeting_ended, join_meeting, leave_meeting, share_started, share_ended, recording_started, recording_ended, "
     "send_meeting_im)"),
    ('event = "recording_ready_v1"\n', "event", "vc.meeting.recording_ready_v1 cannot be a step: it is emitted after "
     "recording_ended (set ready_delay on that step)"),
    ('event = "join_meeting"\nwho = ["a", "x y"]\n', "who",
     "who item 2 must be a simple name (letters, digits, _ . -), got 'x y'"),
    ('event = "join_meeting"\nwho = []\n', "who", "who must be a name or a non-empty list of distinct names, got []"),
    ('event = "join_meeting"\nwho = ["a", "a"]\n', "who", "who: 'a' is listed twice"),
    ('event = "share_started"\nby = ["a", "b"]\n', "by", "by must be one name, got ['a', 'b']"),
    ('event = "leave_meeting"\nwho = "b"\nby = "h"\n', "by", 'by is only for reason = "kicked" (who removed them)'),
    ('event = "share_started"\nafter = "start"\nat = "1m"\n', "at", "give either 'after' or 'at', not both"),
    ('event = "share_started"\ndelay = [1, 2, 3]\n', "delay",
     "delay must be a duration or a [min, max] range of durations, got [1, 2, 3]"),
    ('event = "share_started"\ndelay = [true, 2]\n', "delay",
     'delay item 1 must be a duration like 30, "90s", "5m" or "1h30m", got True'),
    ('event = "share_started"\ndelay = ["5m", "1m"]\n', "delay",
     "invalid delay ['5m', '1m']: the range's max is below its min"),
    ('event = "join_meeting"\nwho = "crowd"\nspread = ["1m", "2m"]\n', "spread",
     "spread must be a duration like 30, \"90s\", \"5m\" or \"1h30m\", got ['1m', '2m']"),
    ('event = "join_meeting"\nwho = "crowd"\ncount = 0\n', "count", "count must be a positive integer, got 0"),
    ('event = "leave_meeting"\nwho = "a"\ncount = 1\n', "count", "count needs a crowd in 'who'"),
    ('event = "leave_meeting"\nwho = ["a", "crowd"]\n', "who", "a crowd must be the only name in 'who'"),
    ('event = "share_started"\nby = "crowd"\n', "by", "by must be one named person ('crowd' is a crowd)"),
    ('event = "leave_meeting"\nwho = "b"\nreason = true\n', "reason", 'reason must be "left" (1) or "kicked" (3) '
     "(leave_reason 2 is emitted for everyone still present when the meeting ends), got True"),
    ('event = "send_meeting_im"\ncontent = ""\n', "content", "content must be a non-empty string, got ''"),
    ('event = 5\n', "event = 5", "event must be the event type of a step (short like join_meeting, or full like "
     "vc.meeting.join_meeting_v1), got 5"),
])
def test_step_problems_name_the_line_and_the_step(body: str, needle: str, problem: str) -> None:
    text = SCENARIO_TOML + '\n[[step]]\nid = "s"\n' + body
    at = line(text, 'id = "s"') - 1 + line(text[text.index('id = "s"'):], needle)
    assert message(text) == f"s.toml:{at}: step 3 ('s'): {problem}"


@pytest.mark.parametrize(("old", "new", "where"), [
    ('cohosts = ["c"]', 'cohosts = ["c"]\nsource = 7', "7: [meeting]: source must be one of 1, 2, 3, 4, 100, got 7"),
    ('cohosts = ["c"]', 'cohosts = ["c"]\ncolour = 1', "7: [meeting]: unknown key 'colour' (allowed: cohosts, host, "
     "owner, security_level, source, sub_type, topic, webinar_type)"),
    ('host = "h"', 'host = ["h", "c"]', "5: [meeting]: host must be one name, got ['h', 'c']"),
    ('host = "h"', 'host = "z"', "5: [meeting] host: 'z' is not declared in [people] named"),
    ('cohosts = ["c"]', 'cohosts = ["h"]', "6: [meeting] cohosts: 'h' is the host and cannot also be a co-host"),
    ('"a", "b"]', '"a", "a"]', "9: [people]: named: 'a' is listed twice"),
    ("crowd = 20", "crowd = 0", "10: [people]: crowds.crowd must be a size from 1 to 5000, got 0"),
    ("crowd = 20", '"x y" = 3', "10: [people]: crowds name must be a simple name (letters, digits, _ . -), got 'x y'"),
    ("crowd = 20", "a = 3", "10: [people] crowds: 'a' is both a named person and a crowd"),
    ("crowds = { crowd = 20 }", "crowds = 3", "10: [people]: crowds must be a table"),
    ("crowds = { crowd = 20 }", "\n[people.crowds]\ncrowd = 0", "11: [people]: crowds.crowd must be a size from 1 to "
     "5000, got 0"),
    ('"test"', '"test"\nlive_end_time = "now"', "3: [scenario]: live_end_time must be one of event, final, got 'now'"),
    ('"test"', '"test"\nmirror_all_meeting = "yes"',
     "3: [scenario]: mirror_all_meeting must be true or false, got 'yes'"),
    ('"test"', '"test"\nparticipant_subscribers = ["q"]',
     "3: [scenario] participant_subscribers: 'q' is not declared in [people] named"),
    ("[scenario]", "foo = 1\n[scenario]", "1: unknown table or key 'foo' (expected [scenario], [meeting], [people] and "
     "[[step]])"),
    ('[meeting]\nhost = "h"\ncohosts = ["c"]\n', "", " missing [meeting] table"),
    ('[people]\nnamed = ["h", "c", "a", "b"]\ncrowds = { crowd = 20 }\n', "", " missing [people] table"),
])
def test_table_problems_name_the_line_and_the_table(old: str, new: str, where: str) -> None:
    assert old in SCENARIO_TOML
    assert message(SCENARIO_TOML.replace(old, new, 1)) == f"s.toml:{where}"  # " missing ...": no line


def test_a_file_without_steps() -> None:
    no_steps = SCENARIO_TOML.split("[[step]]")[0]
    assert message(no_steps) == "s.toml: no [[step]] tables: a scenario needs at least one step"
    assert message("step = 5\n" + no_steps).endswith("no [[step]] tables: a scenario needs at least one step")


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.sampled_from(
    ["", "a", "h", "crowd", "x y", "1m", "soon", "kicked", "start", "join_meeting", "leave_meeting", "share_started",
     "vc.meeting.recording_ready_v1", "meeting_ended"]), st.lists(st.sampled_from(["a", "b", "crowd", "1m", 2]),
                                                                  max_size=3))
KEYS = st.sampled_from(["id", "event", "after", "at", "delay", "who", "count", "spread", "by", "reason", "content",
                        "ready_delay", "colour"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_any_step_loads_or_fails_with_one_line(step: dict[str, Any]) -> None:
    """Whatever a step holds, loading gives a scenario or one ``FixtureError`` line, never another exception."""
    body = "".join(f"{k} = {json.dumps(v)}\n" for k, v in step.items() if v is not None)
    text = SCENARIO_TOML + "\n[[step]]\n" + body
    try:
        scenarios.loads(text, source="s.toml")
    except FixtureError as exc:
        assert str(exc).startswith("s.toml") and "\n" not in str(exc)

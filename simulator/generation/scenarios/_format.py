"""The scenario file format (TOML): reading a file into the model.

TOML because scenario files are written by hand: comments, no brace matching, and a parser in the
standard library (``tomllib``, Python 3.11+; the ``tomli`` backport on 3.10). A scenario is one family's
table (a ``[meeting]``, or a ``[chat]``: see ``_chat_format``), its people and a list of ``[[step]]`` tables,
each one action of that meeting's or chat's life::

    [scenario]
    description = "..."
    mirror_all_meeting = true          # also emit all_meeting_* (tenant-wide subscribers)
    participant_subscribers = ["li"]   # emit participant_meeting_* for these subscribed users

    [meeting]
    host = "li"                        # user_role 2; starts the meeting
    cohosts = ["wang"]                 # user_role 3

    [people]
    named = ["li", "wang", "zhao"]     # labels, each bound to a distinct person of the tenant
    crowds = { audience = 300 }        # anonymous groups for large meetings

    [[step]]
    event = "meeting_started"

    [[step]]
    event = "join_meeting"
    who = "wang"
    delay = ["10s", "1m"]              # after the previous step, a random delay in this range

The complete format (every table, key, type and which keys each step event takes) is
``schemas/scenario.schema.json``. Reading is three passes, each raising one ``FixtureError`` line naming
the file, the line and the step: the schema (``_schema_check``), building the model here (durations are
parsed here, by ``parse_duration``), then the cross-references (``_refs``). The timeline checks follow in
``_check``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from simulator import durations
from simulator.errors import ConfigError, FixtureError
from simulator.generation.scenarios._chat_format import chat_keys, chat_table
from simulator.generation.scenarios._lines import LineMap
from simulator.generation.scenarios._model import Scenario, Span, Step
from simulator.generation.scenarios._refs import check_references
from simulator.generation.scenarios._schema_check import validate
from simulator.generation.scenarios._vocabulary import IM_CHAT, family_of, resolve

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

LEAVE_REASONS = {"left": 1, "kicked": 3, 1: 1, 3: 3}
def parse_span(value: Any, *, what: str) -> Span:
    """A fixed duration (the one grammar of ``simulator.durations``), or ``[min, max]``; a ``ConfigError``
    names ``what``."""
    if isinstance(value, list):
        if len(value) != 2:
            raise ConfigError(f"invalid {what} {value!r}: expected a duration or [min, max]")
        lo, hi = durations.parse_duration(value[0], what=what), durations.parse_duration(value[1], what=what)
        if hi < lo:
            raise ConfigError(f"invalid {what} {value!r}: the range's max is below its min")
        return Span(lo, hi)
    d = durations.parse_duration(value, what=what)
    return Span(d, d)


def read(path: Path, display: str | None = None) -> Scenario:
    source = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FixtureError(f"{source}: not UTF-8 text") from None
    except OSError as exc:
        raise FixtureError(f"{source}: cannot read: {exc.strerror or exc}") from None
    return parse(text, source=source, default_name=path.stem)


def parse(text: str, *, source: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FixtureError(f"{source}: invalid TOML: {exc}") from None
    sc = Scenario(name=default_name, source=source, lines=LineMap(text))
    validate(doc, sc)
    family = family_of(doc)
    assert family is not None, "the schema requires a family table"
    sc.family = family
    _tables(sc, doc)
    sc.steps = [_step(sc, i, raw) for i, raw in enumerate(doc["step"])]
    check_references(sc)
    return sc


def _names(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _tables(sc: Scenario, doc: dict[str, Any]) -> None:
    """[scenario], the family's table and [people], already of the right shape."""
    s, p = doc.get("scenario", {}), doc["people"]
    sc.name = s.get("name", sc.name)
    sc.description = s.get("description", "")
    sc.named = _names(p["named"])
    sc.crowds = {name: int(size) for name, size in p.get("crowds", {}).items()}
    if sc.family is IM_CHAT:
        sc.chat = chat_table(doc["chat"])
    else:
        _meeting(sc, s, doc["meeting"])


def _meeting(sc: Scenario, s: dict[str, Any], m: dict[str, Any]) -> None:
    sc.mirror_all_meeting = s.get("mirror_all_meeting", False)
    sc.subscribers = _names(s.get("participant_subscribers", []))
    sc.live_end_time = s.get("live_end_time", "event")
    sc.host = _names(m["host"])[0]
    sc.cohosts = _names(m.get("cohosts", []))
    sc.owner = _names(m["owner"])[0] if "owner" in m else None
    sc.topic = m.get("topic")
    sc.meeting_source = int(m.get("source", 4))
    for key in ("sub_type", "webinar_type", "security_level"):
        if key in m:
            setattr(sc, key, int(m[key]))


def _step(sc: Scenario, index: int, raw: dict[str, Any]) -> Step:
    """One [[step]], already of the right shape for its event."""
    found = resolve(raw["event"], sc.family)
    assert found is not None, "the schema admits only the family's step events"
    vocab, action = found
    step = Step(index, sc.lines.step_line(index) if sc.lines else None, raw.get("id", f"step-{index + 1}"),
                action, vocabulary=vocab)

    def span(key: str) -> Span:
        try:
            return parse_span(raw[key], what=key)
        except ConfigError as exc:
            raise sc.error(str(exc), step, key=key) from None

    step.after = raw.get("after")
    if "at" in raw:
        step.at = span("at")
        step.delay = Span(0.0, 0.0)
    if "delay" in raw:
        step.delay = span("delay")
    elif index == 0 or action == "meeting_started":
        step.delay = Span(0.0, 0.0)
    if "spread" in raw:
        step.spread = span("spread").lo
    if "ready_delay" in raw:
        step.ready_delay = span("ready_delay")
    step.who = _names(raw.get("who", []))
    if len(step.who) == 1 and step.who[0] in sc.crowds:
        step.crowd = step.who[0]
    if "by" in raw:
        step.by = _names(raw["by"])[0]
    if "count" in raw:
        step.count = int(raw["count"])
    step.reason = LEAVE_REASONS[raw.get("reason", "left")]
    step.content = raw.get("content")
    if sc.family is IM_CHAT:
        step.chat = chat_keys(raw)
    return step

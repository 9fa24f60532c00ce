"""The scenario file format (TOML) and its parsed model.

TOML because scenario files are written by hand: comments, no brace matching, and a parser in the
standard library (``tomllib``, Python 3.11+; the ``tomli`` backport on 3.10). A scenario is a meeting,
its people and a list of ``[[step]]`` tables, each one action of the meeting's life::

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

Step fields: ``event`` (required), ``id``, timing (``after = "id"`` or ``at``, then ``delay``: a duration
like ``30``, ``"90s"``, ``"5m"``, or a ``[min, max]`` range drawn from the seed; default 2-20 s after the
previous step), ``who`` (join / leave: names or one crowd, with ``count``), ``spread`` (the step's events
fall within this window; listed people act in the listed order), ``by`` (who acts; default the host, or
the presenter / recorder for share_ended / recording_ended), ``reason = "kicked"`` (leave_reason 3),
``content`` and ``count`` (send_meeting_im), ``ready_delay`` (recording_ended -> recording_ready).

Every problem is reported as one line naming the file, the line and the step (``FixtureError``).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.durations import parse_duration
from simulator.errors import ConfigError, FixtureError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

PREFIX = "vc.meeting."

# Actions a step may name (short or full event type). The engine derives the rest.
ACTIONS = ("meeting_started", "meeting_ended", "join_meeting", "leave_meeting", "share_started", "share_ended",
           "recording_started", "recording_ended", "send_meeting_im")
DERIVED = {
    "all_meeting_started": "it is emitted with meeting_started when [scenario] mirror_all_meeting = true",
    "all_meeting_ended": "it is emitted with meeting_ended when [scenario] mirror_all_meeting = true",
    "participant_meeting_started": "it is emitted when [scenario] participant_subscribers is set",
    "participant_meeting_joined": "it is emitted when [scenario] participant_subscribers is set",
    "participant_meeting_ended": "it is emitted when [scenario] participant_subscribers is set",
    "recording_ready": "it is emitted after recording_ended (set ready_delay on that step)",
}
LEAVE_REASONS = {"left": 1, "kicked": 3, 1: 1, 3: 3}
LIVE_END_TIME = ("event", "final")

_STEP_KEYS = {
    "meeting_started": {"delay", "at", "after"},
    "meeting_ended": {"by"},
    "join_meeting": {"who", "count", "spread"},
    "leave_meeting": {"who", "count", "spread", "reason", "by"},
    "share_started": {"by"},
    "share_ended": {"by"},
    "recording_started": {"by"},
    "recording_ended": {"by", "ready_delay"},
    "send_meeting_im": {"by", "content", "count", "spread"},
}
_COMMON_KEYS = {"id", "event", "after", "at", "delay"}
_TABLES = {
    "scenario": {"name", "description", "mirror_all_meeting", "participant_subscribers", "live_end_time"},
    "meeting": {"host", "cohosts", "owner", "topic", "source", "sub_type", "webinar_type", "security_level"},
    "people": {"named", "crowds"},
}
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")

DEFAULT_DELAY = (2.0, 20.0)
DEFAULT_READY_DELAY = (30.0, 300.0)


@dataclass(frozen=True)
class Span:
    """A duration in seconds, fixed (lo == hi) or drawn uniformly from [lo, hi]."""

    lo: float
    hi: float


@dataclass
class Step:
    index: int  # position in the file, 0-based
    line: int | None
    id: str
    action: str  # short name, one of ACTIONS
    after: str | None = None
    at: Span | None = None
    delay: Span = Span(*DEFAULT_DELAY)
    spread: float = 0.0
    who: tuple[str, ...] = ()
    crowd: str | None = None  # set when ``who`` names a crowd
    count: int | None = None
    by: str | None = None
    reason: int = 1
    content: str | None = None
    ready_delay: Span = Span(*DEFAULT_READY_DELAY)

    @property
    def event_type(self) -> str:
        return f"{PREFIX}{self.action}_v1"


@dataclass
class Scenario:
    name: str
    source: str  # the file, for messages
    description: str = ""
    mirror_all_meeting: bool = False
    subscribers: tuple[str, ...] = ()
    live_end_time: str = "event"
    host: str = ""
    cohosts: tuple[str, ...] = ()
    owner: str | None = None
    topic: str | None = None
    meeting_source: int = 4
    sub_type: int | None = None
    webinar_type: int | None = None
    security_level: int | None = None
    named: tuple[str, ...] = ()
    crowds: dict[str, int] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    lines: LineMap | None = None

    def where(self, step: Step | None = None, key: str | None = None, table: str | None = None) -> str:
        """``file:line: step 'id'`` (or the table) for error messages."""
        line = None
        if self.lines is not None:
            if step is not None:
                line = self.lines.step_line(step.index, key)
            elif table is not None:
                line = self.lines.table_line(table, key)
        if line is None and step is not None:
            line = step.line
        loc = f"{self.source}:{line}" if line else self.source
        if step is not None:
            return f"{loc}: step {step.index + 1} ({step.id!r})"
        if table is not None:
            return f"{loc}: [{table}]" + (f" {key}" if key else "")
        return loc

    def error(self, message: str, step: Step | None = None, *, key: str | None = None,
              table: str | None = None) -> FixtureError:
        return FixtureError(f"{self.where(step, key, table)}: {message}")


class LineMap:
    """Line numbers of ``[[step]]`` / ``[table]`` headers and their keys (tomllib reports none)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.steps: list[tuple[int, dict[str, int]]] = []
        self.tables: dict[str, tuple[int, dict[str, int]]] = {}
        current: dict[str, int] | None = None
        for number, raw in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(raw)
            if header:
                current = {}
                name = header.group(1)
                if raw.lstrip().startswith("[[") and name == "step":
                    self.steps.append((number, current))
                else:
                    self.tables.setdefault(name, (number, current))
                continue
            key = self._KEY.match(raw)
            if key and current is not None:
                current.setdefault(key.group(1), number)

    def step_line(self, index: int, key: str | None = None) -> int | None:
        if index >= len(self.steps):
            return None
        line, keys = self.steps[index]
        return keys.get(key, line) if key else line

    def table_line(self, table: str, key: str | None = None) -> int | None:
        if table not in self.tables:
            return None
        line, keys = self.tables[table]
        return keys.get(key, line) if key else line


def parse_span(value: Any, *, what: str) -> Span:
    """A fixed duration (``simulator.durations``), or ``[min, max]``; ``ConfigError`` names ``what``."""
    if isinstance(value, list):
        if len(value) != 2:
            raise ConfigError(f"invalid {what} {value!r}: expected a duration or [min, max]")
        lo, hi = parse_duration(value[0], what=what), parse_duration(value[1], what=what)
        if hi < lo:
            raise ConfigError(f"invalid {what} {value!r}: the range's max is below its min")
        return Span(lo, hi)
    d = parse_duration(value, what=what)
    return Span(d, d)


def short_action(name: str) -> str:
    short = name.removeprefix(PREFIX)
    if short.endswith("_v1"):
        short = short[:-3]
    return short


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
    _Parser(sc, doc).run()
    return sc


class _Parser:
    def __init__(self, sc: Scenario, doc: dict[str, Any]) -> None:
        self.sc = sc
        self.doc = doc

    # -- helpers -----------------------------------------------------------------------------------
    def table(self, name: str, *, required: bool = False) -> dict[str, Any]:
        value = self.doc.get(name)
        if value is None:
            if required:
                raise FixtureError(f"{self.sc.source}: missing [{name}] table")
            return {}
        if not isinstance(value, dict):
            raise self.sc.error(f"{name} must be a table", table=name)
        unknown = sorted(set(value) - _TABLES[name])
        if unknown:
            raise self.sc.error(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_TABLES[name]))})",
                                table=name, key=unknown[0])
        return value

    def labels(self, value: Any, table: str, key: str) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise self.sc.error("expected a name or a list of names", table=table, key=key)
        for item in items:
            if not _LABEL.match(item):
                raise self.sc.error(f"invalid name {item!r} (letters, digits, _ . -)", table=table, key=key)
        return tuple(items)

    def integer(self, value: Any, allowed: tuple[int, ...], table: str, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            raise self.sc.error(f"{key} must be one of {', '.join(map(str, allowed))}, got {value!r}",
                                table=table, key=key)
        return value

    # -- tables ------------------------------------------------------------------------------------
    def run(self) -> None:
        sc = self.sc
        unknown = sorted(set(self.doc) - {*_TABLES, "step"})
        if unknown:
            raise FixtureError(f"{sc.source}: unknown table or key {unknown[0]!r} "
                               f"(expected [scenario], [meeting], [people] and [[step]])")
        s = self.table("scenario")
        if "name" in s:
            if not isinstance(s["name"], str) or not _LABEL.match(s["name"]):
                raise sc.error("name must be a simple name", table="scenario", key="name")
            sc.name = s["name"]
        if not isinstance(s.get("description", ""), str):
            raise sc.error("description must be a string", table="scenario", key="description")
        sc.description = s.get("description", "")
        mirror = s.get("mirror_all_meeting", False)
        if not isinstance(mirror, bool):
            raise sc.error("mirror_all_meeting must be true or false", table="scenario", key="mirror_all_meeting")
        sc.mirror_all_meeting = mirror
        if "participant_subscribers" in s:
            sc.subscribers = self.labels(s["participant_subscribers"], "scenario", "participant_subscribers")
        live = s.get("live_end_time", "event")
        if live not in LIVE_END_TIME:
            raise sc.error(f"live_end_time must be one of {', '.join(LIVE_END_TIME)}, got {live!r}",
                           table="scenario", key="live_end_time")
        sc.live_end_time = live

        m = self.table("meeting", required=True)
        if "host" not in m:
            raise sc.error("missing field 'host'", table="meeting")
        host = self.labels(m["host"], "meeting", "host")
        if len(host) != 1:
            raise sc.error("host must be one name", table="meeting", key="host")
        sc.host = host[0]
        sc.cohosts = self.labels(m.get("cohosts", []), "meeting", "cohosts")
        if "owner" in m:
            owner = self.labels(m["owner"], "meeting", "owner")
            if len(owner) != 1:
                raise sc.error("owner must be one name", table="meeting", key="owner")
            sc.owner = owner[0]
        if "topic" in m:
            if not isinstance(m["topic"], str) or not m["topic"]:
                raise sc.error("topic must be a non-empty string", table="meeting", key="topic")
            sc.topic = m["topic"]
        if "source" in m:
            sc.meeting_source = self.integer(m["source"], (1, 2, 3, 4, 100), "meeting", "source")
        if "sub_type" in m:
            sc.sub_type = self.integer(m["sub_type"], (1, 2, 3, 4, 5, 6), "meeting", "sub_type")
        if "webinar_type" in m:
            sc.webinar_type = self.integer(m["webinar_type"], (1, 2), "meeting", "webinar_type")
        if "security_level" in m:
            sc.security_level = self.integer(m["security_level"], (1, 2, 3, 4), "meeting", "security_level")

        p = self.table("people", required=True)
        if "named" not in p:
            raise sc.error("missing field 'named'", table="people")
        sc.named = self.labels(p["named"], "people", "named")
        if len(set(sc.named)) != len(sc.named):
            dup = next(n for n in sc.named if sc.named.count(n) > 1)
            raise sc.error(f"{dup!r} is listed twice", table="people", key="named")
        crowds = p.get("crowds", {})
        if not isinstance(crowds, dict):
            raise sc.error("crowds must be a table of name = size", table="people", key="crowds")
        for name, size in crowds.items():
            if not _LABEL.match(name) or isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 5000:
                raise sc.error(f"crowd {name!r} must have a size from 1 to 5000, got {size!r}",
                               table="people", key="crowds")
            if name in sc.named:
                raise sc.error(f"{name!r} is both a named person and a crowd", table="people", key="crowds")
        sc.crowds = dict(crowds)
        for key, names in (("host", (sc.host,)), ("cohosts", sc.cohosts), ("owner", (sc.owner,) if sc.owner else ())):
            for n in names:
                if n not in sc.named:
                    raise sc.error(f"{n!r} is not declared in [people] named", table="meeting", key=key)
        if sc.host in sc.cohosts:
            raise sc.error(f"{sc.host!r} is the host and cannot also be a co-host", table="meeting", key="cohosts")
        for n in sc.subscribers:
            if n not in sc.named:
                raise sc.error(f"{n!r} is not declared in [people] named", table="scenario",
                               key="participant_subscribers")

        steps = self.doc.get("step")
        if not isinstance(steps, list) or not steps or not all(isinstance(t, dict) for t in steps):
            raise FixtureError(f"{sc.source}: no [[step]] tables: a scenario needs at least a meeting_started step")
        ids: set[str] = set()
        for i, raw in enumerate(steps):
            step = self.step(i, raw)
            if step.id in ids:
                raise sc.error(f"duplicate step id {step.id!r}", step, key="id")
            ids.add(step.id)
            sc.steps.append(step)

    # -- steps -------------------------------------------------------------------------------------
    def step(self, index: int, raw: dict[str, Any]) -> Step:
        sc = self.sc
        line = sc.lines.step_line(index) if sc.lines else None
        step_id = raw.get("id", f"step-{index + 1}")
        if not isinstance(step_id, str) or not _LABEL.match(step_id):
            step_id = f"step-{index + 1}"
            raise sc.error("id must be a simple name", Step(index, line, step_id, ""), key="id")
        step = Step(index, line, step_id, "")
        if "event" not in raw:
            raise sc.error("missing field 'event'", step)
        event = raw["event"]
        if not isinstance(event, str):
            raise sc.error("event must be a string", step, key="event")
        action = short_action(event)
        if action in DERIVED:
            raise sc.error(f"{PREFIX}{action}_v1 cannot be a step: {DERIVED[action]}", step, key="event")
        if action not in ACTIONS:
            raise sc.error(f"unknown event type {event!r} (steps: {', '.join(ACTIONS)})", step, key="event")
        step.action = action
        allowed = _COMMON_KEYS | _STEP_KEYS[action]
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise sc.error(f"unknown field {unknown[0]!r} for {action} (allowed: {', '.join(sorted(allowed))})",
                           step, key=unknown[0])

        def span(key: str) -> Span:
            try:
                return parse_span(raw[key], what=key)
            except ConfigError as exc:
                raise sc.error(str(exc), step, key=key) from None

        if "after" in raw and "at" in raw:
            raise sc.error("give either 'after' or 'at', not both", step, key="at")
        if "after" in raw:
            if not isinstance(raw["after"], str):
                raise sc.error("after must be a step id", step, key="after")
            step.after = raw["after"]
        if "at" in raw:
            step.at = span("at")
            step.delay = Span(0.0, 0.0)
        if "delay" in raw:
            step.delay = span("delay")
        elif index == 0 or action == "meeting_started":
            step.delay = Span(0.0, 0.0)
        if "spread" in raw:
            s = span("spread")
            if s.lo != s.hi:
                raise sc.error("spread must be one duration", step, key="spread")
            step.spread = s.lo
        if "ready_delay" in raw:
            step.ready_delay = span("ready_delay")
        if "who" in raw:
            who = self._names(raw["who"], step, "who")
            crowds = [n for n in who if n in sc.crowds]
            if crowds:
                if len(who) != 1:
                    raise sc.error("a crowd must be the only name in 'who'", step, key="who")
                step.crowd = crowds[0]
            step.who = who
        elif action in ("join_meeting", "leave_meeting"):
            raise sc.error("missing field 'who'", step)
        if "by" in raw:
            by = self._names(raw["by"], step, "by")
            if len(by) != 1 or by[0] in sc.crowds:
                raise sc.error("by must be one named person", step, key="by")
            step.by = by[0]
        if "count" in raw:
            count = raw["count"]
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise sc.error(f"count must be a positive integer, got {count!r}", step, key="count")
            if action != "send_meeting_im" and step.crowd is None:
                raise sc.error("count needs a crowd in 'who'", step, key="count")
            step.count = count
        if "reason" in raw:
            reason = raw["reason"]
            if isinstance(reason, bool) or reason not in LEAVE_REASONS:
                raise sc.error(f"reason must be \"left\" (1) or \"kicked\" (3), got {reason!r} (leave_reason 2 "
                               "is emitted for everyone still present when the meeting ends)", step, key="reason")
            step.reason = LEAVE_REASONS[reason]
        if step.by is not None and action == "leave_meeting" and step.reason != 3:
            raise sc.error("by is only for reason = \"kicked\" (who removed them)", step, key="by")
        if "content" in raw:
            if not isinstance(raw["content"], str) or not raw["content"]:
                raise sc.error("content must be a non-empty string", step, key="content")
            step.content = raw["content"]
        return step

    def _names(self, value: Any, step: Step, key: str) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            raise self.sc.error(f"{key} must be a name or a list of names", step, key=key)
        for n in items:
            if n not in self.sc.named and n not in self.sc.crowds:
                raise self.sc.error(f"{key}: {n!r} is not declared in [people]", step, key=key)
        if len(set(items)) != len(items):
            raise self.sc.error(f"{key}: a name is listed twice", step, key=key)
        return tuple(items)

"""Scenario files checked against ``schemas/scenario.schema.json``, each problem one ``file:line:`` message.

The schema fixes the shape of a file (tables, keys, types, enums, which keys each step event takes); this
module only turns jsonschema's errors into the messages a person fixing the file wants: the line of the
key at fault (``tomllib`` reports none, see ``_lines``), the step or table, and what was expected, in the
words of the schema (a ``title`` on a value schema is the noun phrase of what is expected, a ``title`` on
a ``not`` rule is the whole message). The first problem in file order is reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from simulator.errors import FixtureError
from simulator.generation.scenarios._model import Scenario, Step
from simulator.generation.scenarios._vocabulary import FAMILIES, Vocabulary, event_problem, family_of, resolve
from simulator.resources import schemas_dir

SCHEMA_FILE = "scenario.schema.json"
NO_STEPS = "no [[step]] tables: a scenario needs at least one step"

Where = tuple[str | int, ...]  # an instance path: keys and list indexes


@cache
def schema() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((schemas_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))
    return doc


@cache
def validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


@dataclass(frozen=True)
class Problem:
    path: Where  # the instance path whose line is reported (a missing key: its table or step)
    message: str


def validate(doc: dict[str, Any], sc: Scenario) -> None:
    """Raise ``FixtureError`` for the first problem (in file order) ``doc`` has against the schema. A step
    whose ``event`` is wrong reports that, not what the other keys lack for it."""
    family = family_of(doc)
    problems = [p for p in (explain(e, family) for e in validator().iter_errors(doc)) if p is not None]
    bad_events = {p.path[:2] for p in problems if len(p.path) == 3 and p.path[0] == "step" and p.path[2] == "event"}
    problems = [p for p in problems if p.path[:2] not in bad_events or p.path[2:] == ("event",)]
    if problems:
        first = min(enumerate(problems), key=lambda ip: (_line(sc, ip[1].path) or 0, ip[0]))[1]
        raise FixtureError(f"{_where(sc, doc, first.path)}: {first.message}")


def explain(err: ValidationError, family: Vocabulary | None = None) -> Problem | None:
    """The message for one jsonschema error (None for a consequence of another error); ``family`` is the
    file's (``family_of``), for messages that depend on it."""
    path: Where = tuple(err.absolute_path)
    keyword = str(err.validator)
    value: Any = err.instance
    rule: Any = err.validator_value
    sub: Mapping[str, Any] = err.schema if isinstance(err.schema, Mapping) else {}
    if keyword == "required":
        absent = [k for k in rule if k not in value]  # one error per absent key; its message names it
        missing = next((k for k in absent if err.message.startswith(repr(k))), absent[0])
        if path:
            return Problem(path, f"missing field {missing!r}")
        return Problem((), NO_STEPS if missing == "step" else f"missing [{missing}] table")
    if path == ("step",):
        return Problem((), NO_STEPS)
    if not path and keyword == "anyOf":  # no family table
        tables = [family] if family is not None else list(FAMILIES)
        return Problem((), f"missing {' or '.join(f'[{v.table}]' for v in tables)} table")
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return _unknown_key(path, value, _keys(sub), family)
    if keyword == "not":
        key = _forbidden(rule, value)
        return Problem((*path, key) if key else path, str(sub.get("title", err.message)))
    if len(path) == 3 and path[0] == "step" and path[2] == "event" and isinstance(value, str):
        return Problem(path, event_problem(value, family))
    subject = _subject(path, err)
    if keyword == "uniqueItems":
        dup = next(v for i, v in enumerate(value) if v in value[:i])
        return Problem(path, f"{subject}: {dup!r} is listed twice")
    if keyword == "type" and "object" in _listed(rule):
        return Problem(path, f"{subject} must be a table")
    if "title" in sub:
        return Problem(path, f"{subject} must be {sub['title']}, got {value!r}")
    return Problem(path, f"{subject}: {err.message}")


def _forbidden(rule: Any, value: Any) -> str | None:
    """The key whose line a broken ``not`` rule is reported on: one the rule forbids (the first of its ``anyOf``
    the value has), else the last it requires."""
    if not isinstance(rule, Mapping):
        return None
    present = [k for alt in rule.get("anyOf", []) for k in alt.get("required", []) if k in value]
    keys = present[:1] or list(rule.get("required", []))
    return str(keys[-1]) if keys else None


def _unknown_key(path: Where, value: Mapping[str, Any], allowed: set[str],
                 family: Vocabulary | None) -> Problem | None:
    extra = [k for k in value if k not in allowed]
    if not extra:
        return None
    key = extra[0]
    if not path:
        others = {v.table for v in FAMILIES if family is not None and v is not family}
        tables = [f"[[{k}]]" if k == "step" else f"[{k}]" for k in schema()["properties"] if k not in others]
        expected = f"{', '.join(tables[:-1])} and {tables[-1]}"
        return Problem((key,), f"unknown table or key {key!r} (expected {expected})")
    listed = ", ".join(sorted(allowed))
    if path[0] == "step":
        found = resolve(value["event"], family) if isinstance(value.get("event"), str) else None
        what = f" for {found[1]}" if found else ""
        return Problem((*path, key), f"unknown field {key!r}{what} (allowed: {listed})")
    return Problem((*path, key), f"unknown key {key!r} (allowed: {listed})")


def _keys(sub: Mapping[str, Any]) -> set[str]:
    """The keys a (sub-)schema declares, through ``allOf`` and local ``$ref``."""
    if "$ref" in sub:
        return _keys(_resolve(sub["$ref"])) | _keys({k: v for k, v in sub.items() if k != "$ref"})
    keys = set(sub.get("properties", {}))
    for part in sub.get("allOf", []):
        keys |= _keys(part)
    return keys


def _resolve(ref: str) -> Mapping[str, Any]:
    node: Any = schema()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    assert isinstance(node, Mapping), ref
    return node


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _subject(path: Where, err: ValidationError) -> str:
    """``who``, ``delay item 2``, ``crowds.audience``: the key at fault, inside its table or step."""
    in_step = path[:1] == ("step",)
    base = path[2:] if in_step else path[min(1, len(path) - 1):]  # a key in a step or table, or a table
    parts = [str(base[0])] if base else ["a [[step]]"]
    parts += [f" item {p + 1}" if isinstance(p, int) else f".{p}" for p in base[1:]]
    if "propertyNames" in err.relative_schema_path:
        parts.append(" name")
    return "".join(parts)


def _step_ref(doc: Mapping[str, Any], index: int) -> Step:
    steps = doc.get("step")
    raw = steps[index] if isinstance(steps, list) and index < len(steps) else None
    sid = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(sid, str) or not re.search(schema()["$defs"]["label"]["pattern"], sid):
        sid = f"step-{index + 1}"
    return Step(index, None, sid, "")


def _split(path: Where) -> tuple[int | None, str | None, str | None]:
    """(step index, table, key) of an instance path."""
    if path[:1] == ("step",) and len(path) > 1 and isinstance(path[1], int):
        return path[1], None, (path[2] if len(path) > 2 and isinstance(path[2], str) else None)
    if not path:
        return None, None, None
    return None, str(path[0]), (path[1] if len(path) > 1 and isinstance(path[1], str) else None)


def _line(sc: Scenario, path: Where) -> int | None:
    index, table, key = _split(path)
    if sc.lines is None:
        return None
    if index is not None:
        return sc.lines.step_line(index, key)
    return sc.lines.table_line(table, key) if table is not None else None


def _where(sc: Scenario, doc: Mapping[str, Any], path: Where) -> str:
    index, table, key = _split(path)
    if index is not None:
        return sc.where(_step_ref(doc, index), key)
    if len(path) == 1 and table not in schema()["properties"]:  # an unknown table: its own header
        line = _line(sc, path)
        return f"{sc.source}:{line}" if line else sc.source
    if table is None:
        return sc.source
    return sc.where(key=key, table=table, show_key=False)


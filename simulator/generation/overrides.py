"""``--set path=value`` overrides: dotted paths into the envelope, JSON-typed values.

``event.meeting.topic=Q3 review`` sets a string; ``event.operator.user_role=2`` an integer;
``event.meeting.security_setting={"security_level":1}`` an object (anything that parses as JSON is JSON,
anything else is a string; quote it to force a string: ``header.token='"123"'``). List items are
addressed by index (``event.subscriber_ids.0.open_id``). The parent of the last key must exist; the
last key may be new (the schema decides whether it is allowed).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

from simulator.errors import OverrideError

Overrides = Mapping[str, Any]


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        path, sep, value = item.partition("=")
        path = path.strip()
        if not sep or not path:
            raise OverrideError(f"invalid override {item!r}: expected PATH=VALUE, e.g. event.meeting.topic=Standup")
        parsed = parse_value(value)
        try:  # a lone surrogate (JSON "\ud800", or bytes that are not UTF-8 on the command line) cannot be sent
            json.dumps([path, parsed], ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise OverrideError(f"invalid override {item!r}: not valid Unicode text (a lone surrogate "
                                "or bytes that are not UTF-8)") from None
        out[path] = parsed
    return out


def apply(envelope: dict[str, Any], overrides: Overrides | None, *, create: bool = False) -> dict[str, Any]:
    """A copy of ``envelope`` with ``overrides`` applied. ``create`` builds missing parents
    (``--no-validate`` mode)."""
    if not overrides:
        return envelope
    out = copy.deepcopy(envelope)
    for path, value in overrides.items():
        set_path(out, path, value, create=create)
    return out


def set_path(obj: Any, path: str, value: Any, *, create: bool = False) -> None:
    keys = [k for k in path.split(".")]
    if not path or any(k == "" for k in keys):
        raise OverrideError(f"invalid override path {path!r}")
    cur = obj
    for i, key in enumerate(keys[:-1]):
        nxt = _child(cur, key)
        if nxt is _MISSING:
            if not create:
                where = ".".join(keys[: i + 1])
                raise OverrideError(f"override path {path!r} does not exist (no {where!r})")
            nxt = {}
            _assign(cur, key, nxt, path)
        if not isinstance(nxt, (dict, list)):
            raise OverrideError(f"override path {path!r} does not exist ({'.'.join(keys[: i + 1])!r} is a value)")
        cur = nxt
    _assign(cur, keys[-1], value, path)


class _Missing:
    pass


_MISSING: Any = _Missing()


def _child(cur: Any, key: str) -> Any:
    if isinstance(cur, dict):
        return cur.get(key, _MISSING)
    if isinstance(cur, list):
        try:
            return cur[int(key)]
        except (ValueError, IndexError):
            return _MISSING
    return _MISSING


def _assign(cur: Any, key: str, value: Any, path: str) -> None:
    if isinstance(cur, dict):
        cur[key] = value
        return
    if isinstance(cur, list):
        try:
            idx = int(key)
            cur[idx] = value
            return
        except (ValueError, IndexError):
            pass
    raise OverrideError(f"override path {path!r} does not exist")

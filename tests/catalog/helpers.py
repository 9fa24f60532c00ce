"""Shared helpers of the catalogue and scenario tests."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from simulator.clock import VirtualClock
from simulator.generation.factory import SEEDED_EPOCH, EventFactory
from simulator.rand import SimRandom

VC = "vc.meeting."
DELETE = object()  # ``mutated``'s value that removes the key
# A small valid scenario file, ending in the middle of its last step (a test may add fields to it, or steps).
SCENARIO_TOML = """\
[scenario]
description = "test"

[meeting]
host = "h"
cohosts = ["c"]

[people]
named = ["h", "c", "a", "b"]
crowds = { crowd = 20 }

[[step]]
id = "start"
event = "meeting_started"

[[step]]
id = "joins"
event = "join_meeting"
who = ["c", "a", "b"]
"""


def factory(seed: int, **kw: Any) -> EventFactory:
    return EventFactory(rand=SimRandom(seed), clock=VirtualClock(SEEDED_EPOCH), **kw)


def short(envelope: dict[str, Any]) -> str:
    """``vc.meeting.join_meeting_v1`` -> ``join_meeting``."""
    return str(envelope["header"]["event_type"]).removeprefix(VC).removesuffix("_v1")


def oid(user: dict[str, Any]) -> str:
    return str(user["id"]["open_id"])


def create_s(envelope: dict[str, Any]) -> float:
    return int(envelope["header"]["create_time"]) / 1000


def _walk(obj: Any, keys: Iterable[str]) -> Any:
    for k in keys:
        obj = obj[int(k)] if isinstance(obj, list) else obj[k]
    return obj


def at_path(obj: Any, path: str) -> Any:
    """The value at a dotted ``path``; a number indexes a list (``event.users.0.name``)."""
    return _walk(obj, path.split("."))


def mutated(envelope: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``envelope`` with ``value`` at the dotted ``path`` (``DELETE``: that key removed)."""
    out = copy.deepcopy(envelope)
    keys = path.split(".")
    target = _walk(out, keys[:-1])
    if value is DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return out

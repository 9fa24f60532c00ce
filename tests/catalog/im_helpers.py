"""Shared helpers of the IM family tests: the types, a run's world, and the content schemas."""

from __future__ import annotations

import json
import os
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from simulator.generation import catalog, schemas
from simulator.generation.factory import EventFactory
from simulator.generation.families.im.world import ImWorld

IM_TYPES = sorted(t for t in catalog.event_types() if catalog.get(t).family == "im")
ALL = [*IM_TYPES, "application.bot.menu_v6"]
RECEIVE = "im.message.receive_v1"
# Events per type in the schema sweep; FEISHU_SIM_IM_EVENTS=5000 for a long run.
PER_TYPE = int(os.environ.get("FEISHU_SIM_IM_EVENTS", "300"))
CONTENT_ID = "https://feishu-sim.example/schemas/im/message_content.schema.json"
KEY_RE = re.compile(r"@_user_\d+")


def world(f: EventFactory) -> ImWorld:
    w = f.world["im"]
    assert isinstance(w, ImWorld)
    return w


@cache
def content_validator(message_type: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{CONTENT_ID}#/$defs/{message_type}"},
                                registry=schemas._registry())  # the same registry the event schemas use


def parsed_content(message: dict[str, Any]) -> Any:
    """``message.content`` decoded: JSON, except merge_forward's plain text."""
    raw = message["content"]
    return raw if message["message_type"] == "merge_forward" else json.loads(raw)


def content_errors(message: dict[str, Any]) -> list[str]:
    v = content_validator(message["message_type"])
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(parsed_content(message))]


def mention_keys_in(message: dict[str, Any]) -> list[str]:
    """The @_user_N keys the content names, in order (text: in the text; post: its ``at`` elements)."""
    doc = parsed_content(message)
    if message["message_type"] == "text":
        return KEY_RE.findall(doc["text"])
    if message["message_type"] == "post":
        return [el["user_id"] for para in doc["content"] for el in para if el["tag"] == "at"]
    return []

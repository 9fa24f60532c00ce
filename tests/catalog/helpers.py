"""Shared helpers of the catalogue and scenario tests."""

from __future__ import annotations

from typing import Any

from simulator.clock import VirtualClock
from simulator.generation.factory import SEEDED_EPOCH, EventFactory
from simulator.rand import SimRandom

VC = "vc.meeting."


def factory(seed: int, **kw: Any) -> EventFactory:
    return EventFactory(rand=SimRandom(seed), clock=VirtualClock(SEEDED_EPOCH), **kw)


def short(envelope: dict[str, Any]) -> str:
    """``vc.meeting.join_meeting_v1`` -> ``join_meeting``."""
    return str(envelope["header"]["event_type"]).removeprefix(VC).removesuffix("_v1")


def oid(user: dict[str, Any]) -> str:
    return str(user["id"]["open_id"])


def create_s(envelope: dict[str, Any]) -> float:
    return int(envelope["header"]["create_time"]) / 1000

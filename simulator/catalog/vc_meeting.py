"""Generators of the ``vc.meeting.*`` event bodies (semantics §3, protocol §3)."""

from __future__ import annotations

from typing import Any

from . import register
from ._base import EventSpec, GenContext
from ._meeting import NO_CALENDAR, Meeting, lone_meeting, meeting_json, user_json


def _meeting(ctx: GenContext) -> Meeting:
    m = ctx.meeting
    if m is None:
        m = lone_meeting(ctx.rand, ctx.population, ctx.now)
        ctx.meeting = m
    assert isinstance(m, Meeting)
    return m


def _operator(ctx: GenContext, m: Meeting) -> dict[str, Any]:
    op = ctx.operator
    if op is None:
        # The host shares most often; otherwise any participant.
        op = m.host if ctx.rand.chance(0.4) else ctx.population.pick(ctx.rand)
        ctx.operator = op
    return user_json(op, ctx.app_id, m.role_of(op))


def share_ended(ctx: GenContext) -> dict[str, Any]:
    m = _meeting(ctx)
    return {"meeting": meeting_json(m, ctx.app_id, NO_CALENDAR), "operator": _operator(ctx, m)}


register(EventSpec("vc.meeting.share_ended_v1", share_ended, "a screen share ended (结束屏幕共享)",
                   sdk_register="register_p2_vc_meeting_share_ended_v1"))

"""Generators of the ``vc.meeting.*`` event bodies (docs/semantics.md#the-vc-meeting-event-family,
docs/protocol.md#vc-meeting-events-in-the-sdks).

Each generator returns the ``event`` body only; the envelope is added by ``simulator.wire.envelope``. A
generator called with a bare context (a lone event) invents a coherent meeting and people; a scenario
passes the meeting, the operator and these ``GenContext.params``, which generators use as given:

- ``leave_reason`` (int 1/2/3) and ``leave_user`` (``Person``): ``leave_meeting_v1``;
- ``url`` (str) and ``duration_ms`` (int): ``recording_ready_v1``;
- ``subscribers`` (list of ``Person``): the ``participant_meeting_*_v1`` events;
- ``content`` (str): ``send_meeting_im_v1``.

The operator's ``user_role`` is always their role in that meeting (host 2, co-host 3, others 1), except in
``send_meeting_im_v1``, whose operator node-sdk types as ``{id, user_type}`` only (no ``user_role``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.generation.catalog import register
from simulator.generation.catalog._base import EventSpec, GenContext, Generator
from simulator.generation.families.vc_meeting.meeting import (
    FULL,
    NO_CALENDAR,
    RECORDING_READY,
    SEND_IM,
    Meeting,
    just_started_meeting,
    lone_meeting,
    meeting_json,
    user_json,
)
from simulator.generation.population import Person

# docs/semantics.md#field-types-and-enums leave_reason: 1 left, 2 the meeting ended, 3 removed by the host.
LEAVE_LEFT = 1
LEAVE_MEETING_ENDED = 2
LEAVE_KICKED = 3
_LEAVE_REASONS = (LEAVE_LEFT,) * 7 + (LEAVE_MEETING_ENDED,) * 2 + (LEAVE_KICKED,)

# docs/semantics.md#field-types-and-enums (recording_ready doc example): https://meetings.feishu.cn/minutes/obcn37dxcftoc3656rgyejm7
RECORDING_URL_PREFIX = "https://meetings.feishu.cn/minutes/obcn"

PersonPicker = Callable[[GenContext, Meeting], Person]


def meeting_of(ctx: GenContext, *, just_started: bool = False) -> Meeting:
    """The scenario's meeting, or (lone event) a fresh coherent one kept on ``ctx``."""
    m = ctx.scene.get("meeting")
    if m is None:
        make = just_started_meeting if just_started else lone_meeting
        m = make(ctx.rand, ctx.population, ctx.now)
        ctx.scene["meeting"] = m
    assert isinstance(m, Meeting)
    return m


def _anyone(ctx: GenContext, m: Meeting) -> Person:
    # The host acts most often; otherwise any participant.
    return m.host if ctx.rand.chance(0.4) else ctx.population.pick(ctx.rand)


def _host(ctx: GenContext, m: Meeting) -> Person:
    return m.host


def _host_or_cohost(ctx: GenContext, m: Meeting) -> Person:
    """The host, or (one time in five) a co-host who acts for them."""
    if ctx.rand.chance(0.8):
        return m.host
    cohost = ctx.population.pick(ctx.rand, staff=True)
    if cohost.key != m.host.key:
        m.cohosts.add(cohost.key)
    return cohost


def _presenter(ctx: GenContext, m: Meeting) -> Person:
    """Like ``_anyone``, but someone with a screen to share: a phone (6) or SIP (7) participant drawn is
    replaced by a draw among those who can share (the same stream, so other picks are not disturbed)."""
    p = _anyone(ctx, m)
    if not p.can_share and ctx.population.sharers:
        p = ctx.population.pick(ctx.rand, sharer=True)
    return p


def _participant(ctx: GenContext, m: Meeting) -> Person:
    return ctx.population.pick(ctx.rand)


def operator_of(ctx: GenContext, m: Meeting, pick: PersonPicker = _anyone) -> Person:
    """The scenario's operator, or (lone event) one chosen by ``pick`` and kept on ``ctx``."""
    if ctx.operator is None:
        ctx.operator = pick(ctx, m)
    return ctx.operator


def _operator(ctx: GenContext, m: Meeting, pick: PersonPicker = _anyone) -> dict[str, Any]:
    op = operator_of(ctx, m, pick)
    return user_json(op, ctx.app_id, m.role_of(op))


def meeting_and_operator(fields: tuple[str, ...], pick: PersonPicker = _anyone, *,
                         just_started: bool = False) -> Generator:
    """A generator of ``{meeting, operator}`` bodies: the shape most of the family shares."""

    def generate(ctx: GenContext) -> dict[str, Any]:
        m = meeting_of(ctx, just_started=just_started)
        operator = _operator(ctx, m, pick)
        return {"meeting": meeting_json(m, ctx.app_id, fields), "operator": operator}

    return generate


def leave_meeting(ctx: GenContext) -> dict[str, Any]:
    """``leave_reason`` 1: the operator left (operator == leave_user); 2: the meeting ended (operator is who
    ended it); 3: removed (operator is the host or a co-host, leave_user the removed person). semantics
    docs/semantics.md#leave_user-missing-from-the-doc-table: that leave_user and operator differ on kicks is inferred
    from the field names."""
    m = meeting_of(ctx)
    reason = int(ctx.params.get("leave_reason") or ctx.rand.choice(_LEAVE_REASONS))
    leave_user: Person | None = ctx.params.get("leave_user")
    if reason == LEAVE_LEFT:
        if leave_user is None:
            leave_user = operator_of(ctx, m, _participant)
        if ctx.operator is None:
            ctx.operator = leave_user
        op = ctx.operator
    else:
        op = operator_of(ctx, m, _host_or_cohost)
        while leave_user is None or (reason == LEAVE_KICKED and leave_user.key == op.key):
            leave_user = ctx.population.pick(ctx.rand)
    return {
        "meeting": meeting_json(m, ctx.app_id, NO_CALENDAR),
        "operator": user_json(op, ctx.app_id, m.role_of(op)),
        "leave_reason": reason,
        "leave_user": user_json(leave_user, ctx.app_id, m.role_of(leave_user)),
    }


def recording_ready(ctx: GenContext) -> dict[str, Any]:
    """No operator (the platform uploads the file); ``duration`` is milliseconds as a string."""
    m = meeting_of(ctx)
    url = ctx.params.get("url") or RECORDING_URL_PREFIX + ctx.rand.alnum(20, lower=True)
    duration_ms = ctx.params.get("duration_ms")
    if duration_ms is None:
        duration_ms = ctx.rand.randint(30, 2 * 3600) * 1000 + ctx.rand.randint(0, 999)
    return {"meeting": meeting_json(m, ctx.app_id, RECORDING_READY), "url": str(url), "duration": str(int(duration_ms))}


def participant_event(pick: PersonPicker, *, just_started: bool = False, self_subscribed: bool = False) -> Generator:
    """``participant_meeting_*``: user-identity subscriptions; ``subscriber_ids`` are the subscribed users
    the event is pushed for (0-500, docs/semantics.md#other-vc-events)."""

    def generate(ctx: GenContext) -> dict[str, Any]:
        m = meeting_of(ctx, just_started=just_started)
        op = operator_of(ctx, m, pick)
        subscribers: list[Person] | None = ctx.params.get("subscribers")
        if subscribers is None:
            subscribers = [op] if self_subscribed else [m.host, *ctx.population.pick_many(
                ctx.rand, ctx.rand.randint(0, 2), exclude=(m.host,))]
        return {
            "meeting": meeting_json(m, ctx.app_id, FULL),
            "operator": user_json(op, ctx.app_id, m.role_of(op)),
            "subscriber_ids": [p.user_id_json(ctx.app_id) for p in subscribers],
        }

    return generate


def send_meeting_im(ctx: GenContext) -> dict[str, Any]:
    """An in-meeting chat message: the reduced meeting, the sender and the text."""
    m = meeting_of(ctx)
    op = operator_of(ctx, m, _anyone)
    content = ctx.params.get("content")
    if content is None:
        content = str(ctx.rand.faker(ctx.population.locale).sentence())
    operator = {"id": op.user_id_json(ctx.app_id), "user_type": op.user_type}  # node-sdk 1.74: no user_role
    return {"meeting": meeting_json(m, ctx.app_id, SEND_IM), "operator": operator, "content": str(content)}


def _reg(name: str, generate: Generator, summary: str, *, typed: bool = True) -> None:
    event_type = f"vc.meeting.{name}_v1"
    register(EventSpec(event_type, generate, summary, family="vc_meeting",
                       sdk_register=f"register_p2_vc_meeting_{name}_v1" if typed else None))


# docs/protocol.md#vc-event-models-across-sdks: lark-oapi 1.7.5 has a typed handler for all but
# participant_meeting_started/joined and
# send_meeting_im, which need ``register_p2_customized_event``.
_reg("meeting_started", meeting_and_operator(FULL, _host, just_started=True), "a meeting started (会议开始)")
_reg("meeting_ended", meeting_and_operator(FULL, _host_or_cohost), "a meeting ended (会议结束)")
_reg("all_meeting_started", meeting_and_operator(FULL, _host, just_started=True),
     "any meeting of the tenant started (企业会议开始)")
_reg("all_meeting_ended", meeting_and_operator(FULL, _host_or_cohost), "any meeting of the tenant ended (企业会议结束)")
_reg("join_meeting", meeting_and_operator(NO_CALENDAR, _anyone), "someone joined a meeting (加入会议)")
_reg("leave_meeting", leave_meeting, "someone left or was removed from a meeting (离开会议)")
_reg("recording_started", meeting_and_operator(NO_CALENDAR, _host_or_cohost), "a recording started (开始录制)")
_reg("recording_ended", meeting_and_operator(NO_CALENDAR, _host_or_cohost), "a recording ended (停止录制)")
_reg("recording_ready", recording_ready, "a recording file is ready (录制完成)")
_reg("share_started", meeting_and_operator(NO_CALENDAR, _presenter), "a screen share started (开始屏幕共享)")
_reg("share_ended", meeting_and_operator(NO_CALENDAR, _presenter), "a screen share ended (结束屏幕共享)")
_reg("participant_meeting_started", participant_event(_host, just_started=True),
     "a meeting of a subscribed user started", typed=False)
_reg("participant_meeting_joined", participant_event(_participant, self_subscribed=True),
     "a subscribed user joined a meeting", typed=False)
_reg("participant_meeting_ended", participant_event(_host_or_cohost), "a meeting a subscribed user joined ended")
_reg("send_meeting_im", send_meeting_im, "a chat message was sent in a meeting", typed=False)

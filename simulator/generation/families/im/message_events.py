"""Events about a message the world knows: reactions, read receipts and recalls.

Each targets a real message of the run's ``ImWorld`` -- ``params["message"]`` / ``scene["message"]`` (a
``Message`` or message id; the message a scenario's ``receive_v1`` just left there), else a recent one of
a chat the bot is in, else (a lone event in an empty world) a message sent before the run started -- and
names a time after that message and at or before the envelope's ``create_time`` (with param
``not_before_ms``, as a scenario passes it: a moment before the envelope and not before that time, so that
the times a scenario's bodies name never go back).

- ``im.message.reaction.created_v1`` / ``deleted_v1``: params ``emoji_type`` and ``operator`` (the
  reacting ``Person``) or ``operator_type="app"`` (the app itself reacting through the API, as bots do to
  acknowledge a message). A created reaction is remembered on the message; a deleted one removes one that
  was there when there is one.
- ``im.message.message_read_v1``: the p2p user read messages the bot sent them (group reads do not fire
  it). Params ``reader`` (``Person``), ``messages`` (the bot's messages read; default: its unread ones in
  that p2p chat). Each message is reported read once.
- ``im.message.recalled_v1``: params ``recall_type`` (message_owner / group_owner / group_manager /
  enterprise_manager). Only a user's message is recalled here, and only once.
"""

from __future__ import annotations

from typing import Any

from simulator.errors import ConfigError
from simulator.generation.catalog._base import GenContext
from simulator.generation.families.im.ids import EMOJI_TYPES, person_ids
from simulator.generation.families.im.messages import past_message
from simulator.generation.families.im.scene import message_param, now_ms, person_param, tenant_of, world
from simulator.generation.families.im.world import Chat, ImWorld, Message

RECALL_TYPES = ("message_owner", "group_owner", "group_manager", "enterprise_manager")


LATENCY_MS = 1500  # a live event is created within this much of the action it reports


def _after(ctx: GenContext, m: Message, now: int) -> int:
    """A time after ``m`` was sent, at or before ``now`` (at most an hour before ``now``; with
    ``not_before_ms``, a moment before ``now`` and not before that)."""
    gap = now - m.create_time_ms
    if gap <= 0:
        raise ConfigError(f"message {m.message_id} was not sent before the event time")
    floor = ctx.params.get("not_before_ms")
    if floor is None:
        return now - ctx.rand.randint(0, min(3600_000, gap - 1))
    lo = max(m.create_time_ms + 1, int(floor), now - LATENCY_MS)
    return ctx.rand.randint(min(lo, now), now)


def target(ctx: GenContext, w: ImWorld, *, users_only: bool = False) -> Message:
    """The message the event is about (see the module docstring)."""
    now = now_ms(ctx)
    given = message_param(ctx, "message")
    if given is not None:
        return given
    chat = w.pick_group(ctx.rand) if ctx.rand.chance(0.6) else w.p2p_chat(ctx.population.pick(ctx.rand, staff=True))
    recent = [m for m in w.recent_in(chat.chat_id, 16) if not m.recalled and m.create_time_ms < now
              and not (users_only and m.sender is None)]
    if recent:
        return ctx.rand.choice(recent)
    sender = chat.owner if chat.chat_type == "p2p" else ctx.rand.choice(chat.members)
    return past_message(ctx, w, chat, sender=sender if users_only or ctx.rand.chance(0.8) else None, before_ms=now)


def _chat_of(w: ImWorld, m: Message) -> Chat:
    chat = w.chat(m.chat_id)
    if chat is None:
        raise ConfigError(f"message {m.message_id} is in a chat this run does not know")
    return chat


def reaction(created: bool) -> Any:
    def generate(ctx: GenContext) -> dict[str, Any]:
        w, r = world(ctx), ctx.rand
        m = target(ctx, w)
        chat = _chat_of(w, m)
        emoji = ctx.params.get("emoji_type")
        operator = person_param(ctx, "operator") or ctx.operator
        kind = ctx.params.get("operator_type")
        if kind not in (None, "user", "app"):
            raise ConfigError(f"param operator_type={kind!r}: expected 'user' or 'app'")
        as_app = kind == "app" or (kind is None and operator is None and r.chance(0.05))
        if not created and emoji is None and operator is None and kind is None and m.reactions:
            emoji, who = r.choice(m.reactions)  # take back a reaction that is there
            as_app = who.startswith("app:")
            if not as_app:
                operator = next((p for p in chat.members if p.key == who), None)
        if emoji is None:
            emoji = r.choice(EMOJI_TYPES)
        body: dict[str, Any] = {"message_id": m.message_id, "reaction_type": {"emoji_type": str(emoji)}}
        if as_app:
            body["operator_type"] = "app"
            body["app_id"] = ctx.app_id
            who = "app:" + ctx.app_id
        else:
            if operator is None:
                operator = chat.owner if chat.chat_type == "p2p" else r.choice(chat.members)
            body["operator_type"] = "user"
            body["user_id"] = person_ids(operator, ctx.app_id)
            who = operator.key
        body["action_time"] = str(_after(ctx, m, now_ms(ctx)))
        if created:
            m.reactions = (*m.reactions, (str(emoji), who))
        elif (str(emoji), who) in m.reactions:
            m.reactions = tuple(x for x in m.reactions if x != (str(emoji), who))
        ctx.scene["message"] = m
        return body

    return generate


def _bot_messages(ctx: GenContext, w: ImWorld, chat: Chat, now: int) -> list[Message]:
    given = ctx.params.get("messages")
    if given is not None:
        out = []
        for item in given if isinstance(given, list) else [given]:
            m = item if isinstance(item, Message) else w.message(str(item))
            if m is None:
                raise ConfigError(f"param messages: no message {item!r} in this run")
            out.append(m)
        return out
    unread = [m for m in w.recent_in(chat.chat_id) if m.sender is None and not m.read and m.create_time_ms < now]
    if not unread:
        unread = [past_message(ctx, w, chat, sender=None, before_ms=now) for _ in range(ctx.rand.randint(1, 3))]
        unread.sort(key=lambda m: m.create_time_ms)
    return unread[-20:]


def message_read(ctx: GenContext) -> dict[str, Any]:
    w, now = world(ctx), now_ms(ctx)
    reader = person_param(ctx, "reader") or ctx.operator
    given = message_param(ctx, "message")
    if reader is None and given is not None:
        chat = _chat_of(w, given)
        reader = chat.owner if chat.chat_type == "p2p" else None
    if reader is None:
        reader = ctx.population.pick(ctx.rand, staff=True)
    chat = w.p2p_chat(reader)
    read = [given] if given is not None and "messages" not in ctx.params else _bot_messages(ctx, w, chat, now)
    read_time = _after(ctx, max(read, key=lambda m: m.create_time_ms), now)
    for m in read:
        m.read = True
    return {"reader": {"reader_id": person_ids(reader, ctx.app_id), "read_time": str(read_time),
                       "tenant_key": tenant_of(ctx)},
            "message_id_list": list(dict.fromkeys(m.message_id for m in read))}


def recalled(ctx: GenContext) -> dict[str, Any]:
    w, r = world(ctx), ctx.rand
    m = target(ctx, w, users_only=True)
    chat = _chat_of(w, m)
    kind = ctx.params.get("recall_type")
    if kind is None:
        roll = r.random.random()
        group = chat.chat_type == "group"
        kind = ("group_owner" if group and roll < 0.06 else "group_manager" if group and roll < 0.1
                else "enterprise_manager" if roll < 0.12 else "message_owner")
    if kind not in RECALL_TYPES:
        raise ConfigError(f"param recall_type={kind!r}: expected one of {', '.join(RECALL_TYPES)}")
    m.recalled = True
    ctx.scene["message"] = m
    return {"message_id": m.message_id, "chat_id": m.chat_id, "recall_time": str(_after(ctx, m, now_ms(ctx))),
            "recall_type": kind}

"""``im.message.receive_v1``: a message that reaches the bot (docs/events.md#im-ids-and-message-shapes).

Who sees what: every message of a p2p chat between a user and the bot; in a group the bot is a member
of, the messages that @ the bot -- or every message when the app has the "read all group messages" scope
(``im:message.group_msg``, param ``group_msg_scope``). Without that scope a group message that reaches the
bot mentions it, so it is a text or a post (the only types that can @).

A lone call invents what it needs from the run's ``ImWorld``; a scenario or a test steers it with
``GenContext.params`` (each also read from ``GenContext.scene``), every one optional:

- ``chat``: the ``Chat`` (or chat id) the message is sent in; else ``chat_type`` (``"p2p"`` / ``"group"``)
  picks the kind and the world picks the chat (p2p 40 %, group 60 %);
- ``sender``: the ``Person`` (or open_id / union_id / user_id) who sends it (default: a member of the chat;
  the p2p chat's user); ``GenContext.operator`` works too. A person with user_type 9 sends as an app;
- ``message_type``: one of the 21 documented types (default: a realistic mix, text dominant);
- ``text``: the text of a text message (or of a post's first paragraph); the @ keys are put in front;
- ``mention_bot`` (bool): whether the bot is @-ed (default: always in a group without the scope, 30 % with
  it, never in p2p); ``mentions``: other people to @ (default: sometimes a member or two in groups);
- ``group_msg_scope`` (bool, default False): the app reads all group messages;
- ``reply_to``: the ``Message`` (or message id) replied to, or ``False`` (not a reply); ``thread`` (bool):
  reply in its thread. Default: now and then a reply to a recent message of the same chat, some of them in
  a thread;
- ``user_agent`` (bool, default False): send ``message.user_agent`` (needs the im:user_agent:read scope);
- ``not_before_ms``: the message is created no earlier than this (a scenario passes the previous event's
  time, so that the times its bodies name never go back).

Afterwards ``scene["chat"]`` and ``scene["message"]`` hold the chat and the new message, so the next event
of a scenario (a reaction, a recall, a reply) can name them. Every message is recorded in the world.
Keys that would be empty (root_id, parent_id, thread_id, mentions, user_agent) are left out, as real
traffic does; ``update_time`` equals ``create_time`` (a new message is unedited); ``create_time`` is a
little before the envelope's ``create_time`` (the platform's latency).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from simulator.errors import ConfigError
from simulator.generation.catalog._base import GenContext
from simulator.generation.families.im.content import (
    ANY_TYPE,
    MENTIONABLE,
    MENTIONABLE_TYPE,
    MESSAGE_TYPES,
    At,
    Draft,
    content,
)
from simulator.generation.families.im.ids import USER_AGENTS
from simulator.generation.families.im.scene import (
    chat_param,
    flag,
    message_param,
    now_ms,
    people_param,
    person_param,
    tenant_of,
    world,
)
from simulator.generation.families.im.vocab import vocab
from simulator.generation.families.im.world import Chat, ImWorld, Message
from simulator.generation.population import Person

APP_USER_TYPE = 9  # docs/semantics.md#field-types-and-enums user_type 9: an app


@dataclass(frozen=True)
class Steer:
    """The params of one ``receive_v1`` call, resolved once (all None / False for a lone event)."""

    chat: Chat | None = None
    chat_type: str | None = None
    sender: Person | None = None
    message_type: str | None = None
    text: str | None = None
    mention_bot: bool | None = None
    mentions: list[Person] | None = None
    scope: bool = False
    reply_to: Message | None = None
    no_reply: bool = False
    thread: bool | None = None
    user_agent: bool = False
    not_before_ms: int | None = None


_LONE = Steer()


def steer(ctx: GenContext) -> Steer:
    if not ctx.params and not ctx.scene and ctx.operator is None:
        return _LONE  # the common case, without a dozen lookups
    kind = ctx.params.get("chat_type")
    if kind not in (None, "p2p", "group"):
        raise ConfigError(f"param chat_type={kind!r}: expected 'p2p' or 'group'")
    message_type = ctx.params.get("message_type")
    if message_type is not None and message_type not in MESSAGE_TYPES:
        raise ConfigError(f"param message_type={message_type!r}: not a documented message type")
    text = ctx.params.get("text")
    no_reply = ctx.params.get("reply_to") is False
    floor = ctx.params.get("not_before_ms")
    return Steer(chat=chat_param(ctx), chat_type=kind, sender=ctx.operator or person_param(ctx, "sender"),
                 message_type=message_type, text=None if text is None else str(text),
                 mention_bot=flag(ctx, "mention_bot"), mentions=people_param(ctx, "mentions"),
                 scope=bool(ctx.params.get("group_msg_scope", False)),
                 reply_to=None if no_reply else message_param(ctx, "reply_to"), no_reply=no_reply,
                 thread=flag(ctx, "thread"), user_agent=bool(ctx.params.get("user_agent", False)),
                 not_before_ms=None if floor is None else int(floor))


def pick_chat(ctx: GenContext, w: ImWorld, st: Steer = _LONE) -> Chat:
    if st.chat is not None:
        return st.chat
    rnd = ctx.rand.random.random
    if st.chat_type == "p2p" or (st.chat_type is None and rnd() < 0.4):
        who = st.sender
        if who is None:
            staff = ctx.population.staff
            who = staff[int(rnd() * len(staff))]
        return w.p2p_chat(who)
    return w.pick_group(ctx.rand)


def _sender(ctx: GenContext, w: ImWorld, chat: Chat, st: Steer) -> Person:
    if st.sender is not None:
        if chat.chat_type == "group" and st.sender.user_type != APP_USER_TYPE and not chat.has(st.sender):
            chat.members.append(st.sender)  # they evidently are in the chat
        return st.sender
    if chat.chat_type == "p2p":
        return chat.owner
    rnd = ctx.rand.random.random
    if rnd() < 0.01:
        apps = w.apps()
        if apps:
            return apps[int(rnd() * len(apps))]
    return chat.members[int(rnd() * len(chat.members))]


def _reply_target(ctx: GenContext, w: ImWorld, chat: Chat, before_ms: int, st: Steer) -> Message | None:
    if st.reply_to is not None:
        if st.reply_to.chat_id != chat.chat_id:
            raise ConfigError(f"param reply_to={st.reply_to.message_id}: that message is in another chat")
        return st.reply_to
    if st.no_reply or ctx.rand.random.random() >= (0.2 if chat.chat_type == "group" else 0.1):
        return None
    candidates = [m for m in w.recent_in(chat.chat_id, 20) if not m.recalled and m.create_time_ms < before_ms]
    return candidates[int(ctx.rand.random.random() * len(candidates))] if candidates else None


def _others(ctx: GenContext, chat: Chat, sender: Person) -> list[Person]:
    """One or two members other than the sender, @-ed along (in a group)."""
    rnd, members = ctx.rand.random.random, chat.members
    out: list[Person] = []
    for _ in range(1 if rnd() < 0.7 else 2):
        p = members[int(rnd() * len(members))]
        if p.key != sender.key and p not in out:
            out.append(p)
    return out


def _mentions(ctx: GenContext, w: ImWorld, chat: Chat, sender: Person, message_type: str,
              st: Steer) -> list[dict[str, Any]]:
    if message_type not in MENTIONABLE:
        return []
    rnd, group = ctx.rand.random.random, chat.chat_type == "group"
    mention_bot = st.mention_bot
    if mention_bot is None:
        mention_bot = group and (not st.scope or rnd() < 0.3)
    others = st.mentions
    if others is None:
        others = _others(ctx, chat, sender) if group and rnd() < 0.15 else []
    entries: list[tuple[dict[str, str], str, str]] = [(w.ids_of(p), "user", p.name) for p in others]
    if mention_bot:
        entries.insert(0 if not entries or rnd() < 0.8 else len(entries), (w.bot_ids(), "bot", w.bot.name))
    tenant = tenant_of(ctx)
    return [{"key": f"@_user_{i}", "id": ids, "mentioned_type": kind, "name": name, "tenant_key": tenant}
            for i, (ids, kind, name) in enumerate(entries, 1)]


def _thread(ctx: GenContext, w: ImWorld, chat: Chat, parent: Message, st: Steer) -> tuple[str, str]:
    """(root_id, thread_id) of a reply to ``parent``: a quote reply keeps the parent's thread (if any); a
    reply in thread opens the root's thread on first use."""
    root_id = parent.root_id or parent.message_id
    in_thread = st.thread
    if in_thread is None:
        in_thread = bool(parent.thread_id) or (chat.chat_type == "group" and ctx.rand.random.random() < 0.35)
    if not in_thread:
        return root_id, parent.thread_id
    thread_id = parent.thread_id
    if not thread_id:
        root = w.message(root_id)
        thread_id = (root.thread_id if root is not None else "") or w.new_thread_id()
        for m in (root, parent):
            if m is not None and not m.thread_id:
                m.thread_id = thread_id
    return root_id, thread_id


def thread_of(ctx: GenContext, w: ImWorld, chat: Chat, parent: Message, thread: bool | None) -> tuple[str, str]:
    """(root_id, thread_id) of a reply to ``parent`` (in its thread when ``thread``; None: the platform's
    habit), opening the root's thread if needed."""
    return _thread(ctx, w, chat, parent, Steer(thread=thread))


def receive(ctx: GenContext) -> dict[str, Any]:
    w, st = world(ctx), steer(ctx)
    rnd = ctx.rand.random.random
    now = now_ms(ctx)
    chat = pick_chat(ctx, w, st)
    sender = _sender(ctx, w, chat, st)
    message_type = st.message_type
    if message_type is None:
        types = MENTIONABLE_TYPE if chat.chat_type == "group" and not st.scope else ANY_TYPE
        message_type = types[int(rnd() * len(types))]
    create = now - 30 - int(rnd() * 1470)  # the event is created a moment (30 ms - 1.5 s) after the message
    if st.not_before_ms is not None:
        create = max(create, min(st.not_before_ms, now))
    parent = _reply_target(ctx, w, chat, create, st)
    root_id = thread_id = ""
    if parent is not None:
        if parent.create_time_ms >= create:
            create = parent.create_time_ms + 1
            if create > now:
                raise ConfigError(f"param reply_to={parent.message_id}: not sent before the event time")
        root_id, thread_id = _thread(ctx, w, chat, parent, st)
    mentions = _mentions(ctx, w, chat, sender, message_type, st)
    draft = Draft(ctx.rand, vocab(ctx), w, ctx.app_id, now, chat, sender,
                  [At(m["key"], m["name"]) for m in mentions], st.text)
    msg = w.record(Message(w.new_message_id(), chat.chat_id, create, sender, message_type, content(message_type, draft),
                           root_id=root_id, parent_id=parent.message_id if parent else "", thread_id=thread_id,
                           mentions=mentions, update_time_ms=create))
    ctx.scene["chat"], ctx.scene["message"] = chat, msg
    return {"sender": sender_json(ctx, w, sender),
            "message": message_json(msg, chat, user_agent=ctx.rand.choice(USER_AGENTS) if st.user_agent else "")}


def sender_json(ctx: GenContext, w: ImWorld, sender: Person) -> dict[str, Any]:
    if sender.user_type == APP_USER_TYPE:  # the id shape of an app sender is undocumented: open_id only
        return {"sender_id": {"open_id": sender.open_id(ctx.app_id)}, "sender_type": "app",
                "tenant_key": tenant_of(ctx)}
    return {"sender_id": w.ids_of(sender), "sender_type": "user", "tenant_key": tenant_of(ctx)}


def message_json(m: Message, chat: Chat, *, user_agent: str = "") -> dict[str, Any]:
    """``EventMessage`` in the documented key order, empty optional keys left out."""
    out: dict[str, Any] = {"message_id": m.message_id}
    if m.root_id:
        out["root_id"] = m.root_id
    if m.parent_id:
        out["parent_id"] = m.parent_id
    out["create_time"] = str(m.create_time_ms)
    out["update_time"] = str(m.update_time_ms or m.create_time_ms)
    out["chat_id"] = m.chat_id
    if m.thread_id:
        out["thread_id"] = m.thread_id
    out["chat_type"] = chat.chat_type
    out["message_type"] = m.message_type
    out["content"] = m.content
    if m.mentions:
        out["mentions"] = m.mentions
    if user_agent:
        out["user_agent"] = user_agent
    return out


def past_message(ctx: GenContext, w: ImWorld, chat: Chat, *, sender: Person | None, before_ms: int,
                 message_type: str | None = None) -> Message:
    """A message sent in ``chat`` before this run saw anything of it (seconds to hours before
    ``before_ms``), recorded in the world but not delivered: the target a lone reaction, recall or read
    receipt needs when the world has none."""
    r = ctx.rand
    kind = message_type or r.choice(ANY_TYPE if sender is not None else ("text", "text", "post", "interactive"))
    create = before_ms - r.randint(2_000, 6 * 3600_000)
    draft = Draft(r, vocab(ctx), w, ctx.app_id, create, chat, sender)
    return w.record(Message(w.new_message_id(), chat.chat_id, create, sender, kind, content(kind, draft),
                            update_time_ms=create))


def bot_message(ctx: GenContext, w: ImWorld, chat: Chat, *, message_type: str = "text", text: str | None = None,
                reply_to: Message | None = None, thread: bool | None = None,
                card: dict[str, Any] | None = None) -> Message:
    """A message the bot sends (through the API) at ``ctx.now``, recorded in the world as the mock OpenAPI
    records one: no event (the platform does not deliver a bot its own messages), but later events may react
    to it, reply to it, report it read or (a ``card``, the card JSON sent as an interactive message: its
    content as sent) click it."""
    now = now_ms(ctx)
    root_id = thread_id = ""
    if reply_to is not None:
        if reply_to.chat_id != chat.chat_id or reply_to.create_time_ms >= now:
            raise ConfigError(f"reply_to={reply_to.message_id}: not an earlier message of chat {chat.chat_id}")
        root_id, thread_id = thread_of(ctx, w, chat, reply_to, thread)
    if card is not None and message_type != "interactive":
        raise ConfigError(f"a card is sent as an interactive message, not {message_type}")
    if card is not None:
        body = json.dumps(card, ensure_ascii=False, separators=(",", ":"))
    else:
        body = content(message_type, Draft(ctx.rand, vocab(ctx), w, ctx.app_id, now, chat, None, [], text))
    return w.record(Message(w.new_message_id(), chat.chat_id, now, None, message_type, body,
                            root_id=root_id, parent_id=reply_to.message_id if reply_to else "", thread_id=thread_id,
                            update_time_ms=now))

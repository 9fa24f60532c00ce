"""The message APIs' rules, sans-IO: send, reply, update a card, get, react, download a resource, delayed card
update. Each function takes the state, the calling app and the request's parameters, and returns the answer's
``data`` (or raises ``ApiRefused`` with the platform's code). The world decides: a chat the bot is not in (230002),
a user outside the app's availability (230013), a recalled message (230011), an unknown id (230001).
"""

from __future__ import annotations

import re
from typing import Any

from simulator.errors import ApiRefused
from simulator.generation.families.im.world import Chat, ImWorld, Message
from simulator.generation.population import Person
from simulator.platform.openapi import codes, media
from simulator.platform.openapi.content import Content, check, check_card
from simulator.platform.openapi.state import OpenApiState, Reaction

RECEIVE_ID_TYPES = ("open_id", "union_id", "user_id", "email", "chat_id")
UPDATE_WINDOW_MS = 14 * 24 * 3600 * 1000
_EMOJI = re.compile(r"^[A-Za-z0-9_]{1,64}$")


# -- shapes ---------------------------------------------------------------------------------------------------
def message_json(state: OpenApiState, app_id: str, m: Message) -> dict[str, Any]:
    """The message object of send/reply/get answers (docs/openapi.md#send-a-message)."""
    out: dict[str, Any] = {"message_id": m.message_id}
    for key in ("root_id", "parent_id", "thread_id"):
        if getattr(m, key):
            out[key] = getattr(m, key)
    updated = m.update_time_ms or m.create_time_ms
    if m.sender is None:
        sender = {"id": app_id, "id_type": "app_id", "sender_type": "app", "tenant_key": state.tenant_key}
    else:
        sender = {"id": m.sender.open_id(app_id), "id_type": "open_id", "sender_type": "user",
                  "tenant_key": state.tenant_key}
    out.update(msg_type=m.message_type, create_time=str(m.create_time_ms), update_time=str(updated),
               deleted=m.recalled, updated=updated != m.create_time_ms, chat_id=m.chat_id, sender=sender,
               body={"content": m.content})
    if m.mentions:
        out["mentions"] = [_mention(mention, state.tenant_key) for mention in m.mentions]
    return out


def _mention(mention: dict[str, Any], tenant_key: str) -> dict[str, Any]:
    ident = mention.get("id")
    open_id = ident.get("open_id", "") if isinstance(ident, dict) else str(ident or "")
    return {"key": mention.get("key", ""), "id": open_id, "id_type": "open_id", "name": mention.get("name", ""),
            "tenant_key": mention.get("tenant_key", tenant_key)}


# -- who and where ------------------------------------------------------------------------------------------
def _person(world: ImWorld, id_type: str, receive_id: str) -> Person | None:
    if id_type == "email":
        local, at, _ = receive_id.partition("@")
        return world.person(user_id=local) if at and local else None
    return world.person(**{id_type: receive_id})


def _writable_chat(state: OpenApiState, app_id: str, chat: Chat | None, chat_id: str) -> Chat:
    """The chat, if the bot may post in it: 230002 when it is not a member (or the chat was disbanded),
    230013 for a p2p chat with someone outside the app's availability."""
    if chat is None:
        raise codes.invalid("receive_id", f"chat {chat_id} does not exist")
    if chat.disbanded or not chat.bot_member:
        raise codes.refuse(codes.BOT_NOT_IN_CHAT, f"the bot is not a member of chat {chat.chat_id}")
    if chat.chat_type == "p2p" and not state.available(app_id, chat.owner):
        raise codes.refuse(codes.NO_AVAILABILITY, f"user {chat.owner.open_id(app_id)} is outside the availability")
    return chat


def _recipient(state: OpenApiState, app_id: str, id_type: str, receive_id: object) -> Chat:
    world = state.world(app_id)
    if id_type not in RECEIVE_ID_TYPES:
        raise codes.invalid("receive_id_type", f"receive_id_type must be one of {', '.join(RECEIVE_ID_TYPES)}")
    if not isinstance(receive_id, str) or not receive_id:
        raise codes.invalid("receive_id", "receive_id is required")
    if id_type == "chat_id":
        return _writable_chat(state, app_id, world.chat(receive_id), receive_id)
    person = _person(world, id_type, receive_id)
    if person is None:
        raise codes.invalid("receive_id", f"no user with {id_type} {receive_id}")
    if not state.available(app_id, person):
        raise codes.refuse(codes.NO_AVAILABILITY, f"user {person.open_id(app_id)} is outside the availability")
    return world.p2p_chat(person)


def _message(state: OpenApiState, app_id: str, message_id: str) -> Message:
    found = state.world(app_id).message(message_id)
    if found is None:
        raise codes.invalid("message_id", f"message {message_id} does not exist")
    if found.recalled:
        raise codes.refuse(codes.RECALLED, f"message {message_id} was recalled")
    return found


def _body(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise codes.invalid("body", "the request body must be a JSON object")
    return body


# -- send and reply -----------------------------------------------------------------------------------------
def _post(state: OpenApiState, app_id: str, chat: Chat, content: Content, uuid: str, *, root_id: str = "",
          parent_id: str = "", thread_id: str = "") -> dict[str, Any]:
    state.limiter.recipient(chat.chat_id, state.clock.now())
    now_ms = state.now_ms()
    m = Message("om_" + state.ids(app_id).hex(32), chat.chat_id, now_ms, None, content.msg_type, content.raw,
                root_id=root_id, parent_id=parent_id, thread_id=thread_id, update_time_ms=now_ms)
    state.world(app_id).record(m)
    state.uuids.remember(app_id, uuid, m.message_id, state.clock.now())
    return message_json(state, app_id, m)


def _repeat(state: OpenApiState, app_id: str, uuid: str) -> dict[str, Any] | None:
    """The answer of an earlier call with the same uuid, if it is within the hour and still remembered."""
    earlier = state.uuids.seen(app_id, uuid, state.clock.now())
    found = state.world(app_id).message(earlier) if earlier else None
    return message_json(state, app_id, found) if found is not None else None


def send(state: OpenApiState, app_id: str, receive_id_type: str, body: object) -> dict[str, Any]:
    """``POST /open-apis/im/v1/messages?receive_id_type=...``."""
    b = _body(body)
    content = check(b.get("msg_type"), b.get("content"), templates=state.templates)
    uuid = state.uuids.key_of(b.get("uuid"))
    chat = _recipient(state, app_id, receive_id_type, b.get("receive_id"))
    repeated = _repeat(state, app_id, uuid)
    return repeated if repeated is not None else _post(state, app_id, chat, content, uuid)


def reply(state: OpenApiState, app_id: str, message_id: str, body: object) -> dict[str, Any]:
    """``POST /open-apis/im/v1/messages/:message_id/reply``: in the replied message's chat, with its root and
    parent; ``reply_in_thread`` opens a thread on the replied message (or joins the one it is in)."""
    b = _body(body)
    in_thread = b.get("reply_in_thread", False)
    if not isinstance(in_thread, bool):
        raise codes.invalid("reply_in_thread", "reply_in_thread must be a boolean")
    parent = _message(state, app_id, message_id)
    content = check(b.get("msg_type"), b.get("content"), templates=state.templates)
    uuid = state.uuids.key_of(b.get("uuid"))
    world = state.world(app_id)
    chat = _writable_chat(state, app_id, world.chat(parent.chat_id), parent.chat_id)
    repeated = _repeat(state, app_id, uuid)
    if repeated is not None:
        return repeated
    root_id, thread_id = parent.root_id or parent.message_id, parent.thread_id
    if in_thread and not thread_id:
        thread_id = parent.thread_id = "omt_" + state.ids(app_id).hex(16)
        root_id = parent.message_id
    return _post(state, app_id, chat, content, uuid, root_id=root_id, parent_id=parent.message_id,
                 thread_id=thread_id)


# -- cards --------------------------------------------------------------------------------------------------
def _bot_card(state: OpenApiState, app_id: str, message_id: str) -> Message:
    m = _message(state, app_id, message_id)
    if not m.from_bot:
        raise codes.invalid("message_id", "only messages the app sent can be updated")
    if m.message_type != "interactive":
        raise codes.invalid("message_id", f"only interactive messages can be updated, not {m.message_type}")
    return m


def _replace_card(state: OpenApiState, m: Message, new: Content) -> None:
    old = check("interactive", m.content)
    if not (old.shared_card and new.shared_card):
        raise codes.invalid("content", 'the card config must set "update_multi": true before and after the update')
    m.content = new.raw
    m.update_time_ms = max(state.now_ms(), m.create_time_ms + 1)


def patch(state: OpenApiState, app_id: str, message_id: str, body: object) -> dict[str, Any]:
    """``PATCH /open-apis/im/v1/messages/:message_id`` (docs/openapi.md#update-a-card-message)."""
    b = _body(body)
    m = _bot_card(state, app_id, message_id)
    if state.now_ms() - m.create_time_ms > UPDATE_WINDOW_MS:
        raise codes.refuse(codes.TOO_OLD_TO_UPDATE)
    state.limiter.message_update(message_id, state.clock.now())
    _replace_card(state, m, check("interactive", b.get("content"), templates=state.templates))
    return {}


def card_update(state: OpenApiState, app_id: str, body: object) -> dict[str, Any]:
    """``POST /open-apis/interactive/v1/card/update`` with a callback's ``c-`` token
    (docs/openapi.md#delayed-card-update-with-a-callback-token)."""
    b = _body(body)
    new = check_card(b.get("card"), templates=state.templates)
    grant = state.cards.use(b.get("token"), app_id, state.clock.now())
    m = _bot_card(state, app_id, grant.message_id)
    _replace_card(state, m, new)
    return {}


# -- reading ------------------------------------------------------------------------------------------------
def get(state: OpenApiState, app_id: str, message_id: str) -> dict[str, Any]:
    """``GET /open-apis/im/v1/messages/:message_id``: ``items[]`` (a recalled message comes back ``deleted``)."""
    m = state.world(app_id).message(message_id)
    if m is None:
        raise codes.invalid("message_id", f"message {message_id} does not exist")
    chat = state.world(app_id).chat(m.chat_id)
    if chat is None or not chat.bot_member:
        raise codes.refuse(codes.BOT_NOT_IN_CHAT, f"the bot is not a member of chat {m.chat_id}")
    return {"items": [message_json(state, app_id, m)]}


def resource(state: OpenApiState, app_id: str, message_id: str, file_key: str, kind: str) -> media.Blob:
    """``GET /open-apis/im/v1/messages/:message_id/resources/:file_key?type=image|file``."""
    if kind not in ("image", "file"):
        raise codes.invalid("type", "type must be image or file")
    m = _message(state, app_id, message_id)
    if f'"{file_key}"' not in m.content:
        raise codes.invalid("file_key", f"{file_key} is not a resource of message {message_id}")
    name = ""
    doc = check_or_none(m)
    if doc is not None and doc.get("file_key") == file_key and isinstance(doc.get("file_name"), str):
        name = doc["file_name"]
    return media.resource(state.media, file_key, kind, name)


def check_or_none(m: Message) -> dict[str, Any] | None:
    try:
        return check(m.message_type, m.content).doc
    except ApiRefused:  # a generated message type this module does not check (merge_forward...)
        return None


# -- reactions ----------------------------------------------------------------------------------------------
def _reaction_json(r: Reaction) -> dict[str, Any]:
    return {"reaction_id": r.reaction_id, "operator": {"operator_id": r.app_id, "operator_type": "app"},
            "action_time": str(r.action_time_ms), "reaction_type": {"emoji_type": r.emoji_type}}


def react(state: OpenApiState, app_id: str, message_id: str, body: object) -> dict[str, Any]:
    """``POST /open-apis/im/v1/messages/:message_id/reactions`` (docs/openapi.md#reactions)."""
    b = _body(body)
    kind = b.get("reaction_type")
    emoji = kind.get("emoji_type") if isinstance(kind, dict) else None
    if not isinstance(emoji, str) or not _EMOJI.match(emoji):
        raise codes.invalid("reaction_type.emoji_type", "reaction_type.emoji_type is required")
    m = _message(state, app_id, message_id)
    chat = state.world(app_id).chat(m.chat_id)
    if chat is None or chat.disbanded or not chat.bot_member:
        raise codes.refuse(codes.BOT_NOT_IN_CHAT, f"the bot is not a member of chat {m.chat_id}")
    r = Reaction(state.ids(app_id).alnum(40), message_id, emoji, app_id, state.now_ms())
    state.add_reaction(r)
    return _reaction_json(r)


def unreact(state: OpenApiState, app_id: str, message_id: str, reaction_id: str) -> dict[str, Any]:
    """``DELETE /open-apis/im/v1/messages/:message_id/reactions/:reaction_id``."""
    _message(state, app_id, message_id)
    r = state.reactions.get(reaction_id)
    if r is None or r.message_id != message_id or r.app_id != app_id:
        raise codes.invalid("reaction_id", f"reaction {reaction_id} does not exist on message {message_id}")
    del state.reactions[reaction_id]
    return _reaction_json(r)


def bot_info(state: OpenApiState, app_id: str) -> dict[str, Any]:
    """The top-level ``bot`` object of ``GET /open-apis/bot/v3/info`` (docs/openapi.md#bot-info)."""
    bot = state.world(app_id).bot
    avatar = f"https://s1-imfile.feishucdn.com/static-resource/v1/v2_{bot.open_id[3:]}g~?image_size=72x72"
    return {"activate_status": 2, "app_name": bot.name, "avatar_url": avatar, "ip_white_list": [],
            "open_id": bot.open_id}

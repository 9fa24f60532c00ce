"""A chat scenario's own keys: the ``[chat]`` table and the chat steps' keys (``schemas/scenario.schema.json``
``#/$defs/im_chat``), read from a document the schema has already checked::

    [chat]
    type = "group"                     # or "p2p" (then user = "li": the person talking to the bot)
    owner = "lin"
    members = ["mo", "team"]           # named people and crowds in the group from the start
    group_msg_scope = true             # the app receives every group message, not only those that @ it

    [[step]]
    id = "question"
    event = "message"                  # im.message.receive_v1
    by = "mo"
    mention_bot = true

    [[step]]
    event = "reaction_created"
    on = "question"                    # a message of that step

    [[step]]
    id = "card"
    event = "bot_message"              # the bot's own message: no event
    message_type = "interactive"       # a card people can click

    [[step]]
    event = "click"                    # card.action.trigger, a callback
    on = "card"
    by = "mo"
    tag = "form"                       # submit its form (default: a button)
    value = { action = "approve" }     # the component's value as the app set it (default: the card's)
"""

from __future__ import annotations

from typing import Any

from simulator.generation.scenarios._model import ChatKeys, ChatTable


def _names(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def chat_table(raw: dict[str, Any]) -> ChatTable:
    kind = raw.get("type", "group")
    if kind == "p2p":
        return ChatTable("p2p", user=_names(raw["user"])[0])
    return ChatTable("group", owner=_names(raw["owner"])[0], members=_names(raw.get("members")),
                     name=raw.get("name"), group_msg_scope=bool(raw.get("group_msg_scope", False)),
                     external=bool(raw.get("external", False)))


def chat_keys(raw: dict[str, Any]) -> ChatKeys:
    replies = raw.get("replies", 0.0)
    return ChatKeys(
        on=_names(raw.get("on")), reply_to=raw.get("reply_to"), thread=raw.get("thread"),
        replies=float(replies), message_types=_names(raw.get("message_type")), text=raw.get("text"),
        mention_bot=raw.get("mention_bot"), mentions=_names(raw.get("mentions")), emoji=raw.get("emoji"),
        recall_type=raw.get("recall_type"), change=raw.get("change"), tag=raw.get("tag"), value=raw.get("value"))

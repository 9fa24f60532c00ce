"""The ``im.*`` family: messages that reach the bot, reactions, read receipts, recalls, chat membership and
chat settings -- every event speaking about the same chats, people and messages (``world.ImWorld``).

Modules: ``world`` (the run's chats, bot and messages), ``scene`` (what a scenario or test passes in),
``ids`` and ``vocab`` (formats and pooled wording), ``content`` (``message.content`` per message type),
``messages`` (``im.message.receive_v1``), ``message_events`` (reactions, reads, recalls), ``members`` and
``chats`` (chat events). Each generator's params are documented in its module.
"""

from __future__ import annotations

from typing import Any

from simulator.generation.catalog import register
from simulator.generation.catalog._base import EventSpec, Generator
from simulator.generation.families.im import chats, members, message_events, messages


def message_id_of(body: dict[str, Any]) -> str:
    """The business key of ``im.message.receive_v1``: the platform's advice is to dedupe on
    ``message_id``, because a redelivery can carry a new event_id (docs/semantics.md#dedupe-and-event_id-reuse)."""
    return str(body["message"]["message_id"])


def _reg(event_type: str, generate: Generator, summary: str, **kw: Any) -> None:
    register(EventSpec(event_type, generate, summary, family="im",
                       sdk_register="register_p2_" + event_type.replace(".", "_"), **kw))


_reg("im.message.receive_v1", messages.receive, "a message reached the bot (接收消息)", dedupe_key=message_id_of)
_reg("im.message.reaction.created_v1", message_events.reaction(created=True),
     "a reaction was added to a message (新增消息表情回复)")
_reg("im.message.reaction.deleted_v1", message_events.reaction(created=False),
     "a reaction was removed from a message (删除消息表情回复)")
_reg("im.message.message_read_v1", message_events.message_read, "a user read the bot's messages (消息已读)")
_reg("im.message.recalled_v1", message_events.recalled, "a message was recalled (撤回消息)")
for _type, (_gen, _summary) in members.GENERATORS.items():
    _reg(_type, _gen, _summary)
_reg("im.chat.updated_v1", chats.updated, "a group's settings changed (群配置修改)")
_reg("im.chat.disbanded_v1", chats.disbanded, "a group was disbanded (群解散)")
_reg("im.chat.access_event.bot_p2p_chat_entered_v1", chats.p2p_entered,
     "a user opened their chat with the bot (用户进入与机器人的会话)")

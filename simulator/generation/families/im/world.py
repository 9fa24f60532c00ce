"""The tenant's chats, the bot and the messages of one run: the objects every IM event refers to.

One ``ImWorld`` lives in ``GenContext.world["im"]`` for the whole run of an ``EventFactory`` (see
``world_of``), so every IM event of a run speaks about the same chats, the same people (drawn from the
factory's one tenant ``Population``, so a person keeps their ids across families) and the same messages.
The mock platform's OpenAPI reads and extends the same world: a message the bot sends becomes part of its
chat, a later reaction or reply can target it, a send to a chat the bot is not in is refused.

ID formats: ``oc_`` + 32 hex chat ids, ``om_`` + 32 hex message ids, ``omt_`` + 16 hex thread ids
(docs/events.md, docs/semantics.md). Memory stays bounded: the world keeps the most recent
``MESSAGE_MEMORY`` messages (older ones are forgotten, as a receiver's cache would).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from simulator.generation.population import Person, Population
from simulator.rand import SimRandom

ChatType = Literal["p2p", "group"]

# How many messages a world remembers (targets for replies, reactions, read receipts and recalls).
MESSAGE_MEMORY = 10_000
# Groups a fresh world starts with; more are created on demand (``new_group``).
INITIAL_GROUPS = 6


@dataclass(frozen=True)
class Bot:
    """The app's bot as other people see it: its per-app ``open_id`` and its display name."""

    app_id: str
    name: str

    @property
    def open_id(self) -> str:
        return "ou_" + hashlib.md5(f"bot:{self.app_id}".encode()).hexdigest()

    @property
    def union_id(self) -> str:
        return "on_" + hashlib.md5(f"bot-union:{self.app_id}".encode()).hexdigest()


@dataclass
class Chat:
    chat_id: str
    chat_type: ChatType
    name: str  # "" for p2p chats
    owner: Person
    members: list[Person]
    bot_member: bool = True
    external: bool = False
    description: str = ""
    disbanded: bool = False

    def has(self, person: Person) -> bool:
        return any(p.key == person.key for p in self.members)

    def i18n_names(self) -> dict[str, str]:
        return {"zh_cn": self.name, "en_us": self.name} if self.name else {}


@dataclass
class Message:
    """A message of a chat, sent by a person (``sender``) or by the bot (``sender is None``)."""

    message_id: str
    chat_id: str
    create_time_ms: int
    sender: Person | None
    message_type: str
    content: str  # the JSON string as delivered
    root_id: str = ""
    parent_id: str = ""
    thread_id: str = ""
    mentions: list[dict[str, Any]] = field(default_factory=list)
    recalled: bool = False
    update_time_ms: int = 0

    @property
    def from_bot(self) -> bool:
        return self.sender is None


class ImWorld:
    """Chats, the bot and recent messages. Deterministic for a seeded ``SimRandom``."""

    def __init__(self, rand: SimRandom, population: Population, app_id: str, *, bot_name: str = "") -> None:
        self.rand = rand.fork("im-world")
        self.population = population
        self.app_id = app_id
        zh = population.locale.lower().startswith("zh")
        self.bot = Bot(app_id, bot_name or ("值班机器人" if zh else "Ops Bot"))
        self.chats: dict[str, Chat] = {}
        self.messages: OrderedDict[str, Message] = OrderedDict()
        self._p2p: dict[str, str] = {}  # person key -> chat id
        self._fk = rand.faker(population.locale)
        for _ in range(INITIAL_GROUPS):
            self.new_group()

    # -- ids ----------------------------------------------------------------------------------------------
    def new_chat_id(self) -> str:
        return "oc_" + self.rand.hex(32)

    def new_message_id(self) -> str:
        return "om_" + self.rand.hex(32)

    def new_thread_id(self) -> str:
        return "omt_" + self.rand.hex(16)

    # -- chats --------------------------------------------------------------------------------------------
    def new_group(self, *, size: int | None = None, name: str = "", bot_member: bool = True) -> Chat:
        r = self.rand
        n = size if size is not None else r.randint(3, 40)
        members = self.population.pick_many(r, max(2, n))
        owner = members[0] if members[0].user_type == 1 else self.population.pick(r, staff=True)
        if not any(p.key == owner.key for p in members):
            members.insert(0, owner)
        chat = Chat(self.new_chat_id(), "group", name or self._group_name(), owner, members,
                    bot_member=bot_member, external=r.chance(0.05), description=str(self._fk.sentence()))
        self.chats[chat.chat_id] = chat
        return chat

    def p2p_chat(self, person: Person) -> Chat:
        """The one p2p chat between ``person`` and the bot (created on first use)."""
        chat_id = self._p2p.get(person.key)
        if chat_id is None:
            chat = Chat(self.new_chat_id(), "p2p", "", person, [person])
            self.chats[chat.chat_id] = chat
            self._p2p[person.key] = chat.chat_id
            return chat
        return self.chats[chat_id]

    def groups(self, *, with_bot: bool = True) -> list[Chat]:
        return [c for c in self.chats.values()
                if c.chat_type == "group" and not c.disbanded and (c.bot_member or not with_bot)]

    def pick_group(self, r: SimRandom | None = None) -> Chat:
        groups = self.groups()
        return (r or self.rand).choice(groups) if groups else self.new_group()

    def chat(self, chat_id: str) -> Chat | None:
        return self.chats.get(chat_id)

    def person(self, *, open_id: str = "", union_id: str = "", user_id: str = "") -> Person | None:
        """The tenant member with one of these ids (``open_id`` for this app), or None."""
        for p in self.population.people:
            if (open_id and p.open_id(self.app_id) == open_id) or (union_id and p.union_id == union_id) \
                    or (user_id and p.user_id == user_id):
                return p
        return None

    # -- messages -----------------------------------------------------------------------------------------
    def record(self, message: Message) -> Message:
        self.messages[message.message_id] = message
        self.messages.move_to_end(message.message_id)
        while len(self.messages) > MESSAGE_MEMORY:
            self.messages.popitem(last=False)
        return message

    def message(self, message_id: str) -> Message | None:
        return self.messages.get(message_id)

    def messages_in(self, chat_id: str) -> Iterator[Message]:
        return (m for m in self.messages.values() if m.chat_id == chat_id)

    def _group_name(self) -> str:
        zh = self.population.locale.lower().startswith("zh")
        topic = self.rand.choice(self.population.topics)
        if zh:
            return f"{topic}{self.rand.choice(('群', '项目群', '讨论组', '值班群', ''))}"
        return f"{topic} {self.rand.choice(('team', 'project', 'on-call', 'chat', ''))}".strip()


def world_of(world: dict[str, Any], rand: SimRandom, population: Population, app_id: str) -> ImWorld:
    """The run's ``ImWorld`` kept in ``GenContext.world`` (created on first use)."""
    found = world.get("im")
    if not isinstance(found, ImWorld) or found.app_id != app_id:
        found = ImWorld(rand, population, app_id)
        world["im"] = found
    return found

"""The tenant's chats, the bot and the messages of one run: the objects every IM event refers to.

One ``ImWorld`` lives in ``GenContext.world["im"]`` for the whole run of an ``EventFactory`` (see
``world_of``), so every IM event of a run speaks about the same chats, the same people (drawn from the
factory's one tenant ``Population``, so a person keeps their ids across families) and the same messages.
The mock platform's OpenAPI reads and extends the same world: a message the bot sends becomes part of its
chat, a later reaction or reply can target it, a send to a chat the bot is not in is refused.

ID formats: ``oc_`` + 32 hex chat ids, ``om_`` + 32 hex message ids, ``omt_`` + 16 hex thread ids
(docs/events.md, docs/semantics.md). Memory stays bounded: the world keeps the most recent
``MESSAGE_MEMORY`` messages (older ones are forgotten, as a receiver's cache would), the last
``CHAT_RECENT`` of them per chat in an index (reply, reaction and recall targets are drawn from it
without scanning every message), and at most ``MAX_GROUPS`` group chats (the oldest disbanded or bot-less
ones are forgotten first). Chat members are Feishu users (``Population.staff``): rooms, phones and SIP
endpoints do not chat.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal

from simulator.generation.families.im.names import ChatNamer
from simulator.generation.population import Person, Population
from simulator.rand import SimRandom

ChatType = Literal["p2p", "group"]

# How many messages a world remembers (targets for replies, reactions, read receipts and recalls).
MESSAGE_MEMORY = 10_000
# Groups a fresh world starts with; more are created on demand (``new_group``).
INITIAL_GROUPS = 6
# The most recent messages of each chat kept in the per-chat index (``recent_in``).
CHAT_RECENT = 64
# Group chats a world remembers; past it the oldest disbanded (then bot-less, then any) group is forgotten.
MAX_GROUPS = 2_000


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
    # Chat settings as ``im.chat.updated_v1`` names them (add_member_permission, ...), filled on first use.
    settings: dict[str, Any] = field(default_factory=dict)
    # The localised names (names.py), set with the name by ``ImWorld.new_group`` and ``ImWorld.rename``.
    i18n: dict[str, str] = field(default_factory=dict)

    def has(self, person: Person) -> bool:
        return any(p.key == person.key for p in self.members)

    def i18n_names(self) -> dict[str, str]:
        """The chat's ``i18n_names`` (a fresh dict; none for a chat without a name)."""
        if not self.name:
            return {}
        return dict(self.i18n) if self.name in self.i18n.values() else {"zh_cn": self.name}


@dataclass(slots=True)
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
    # Live reactions: (emoji_type, who) with who a person key, or ``app:<app_id>`` for an app (a tuple,
    # replaced on change: most messages get none, and an empty tuple costs no memory or GC work).
    reactions: tuple[tuple[str, str], ...] = ()
    # A bot message the p2p reader has read (``im.message.message_read_v1`` names it once).
    read: bool = False

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
        self._recent: dict[str, deque[str]] = {}  # chat id -> its latest message ids
        self._groups = 0
        self._group_list: list[Chat] = []
        self._group_list_for = -1  # len(self.chats) when _group_list was built
        self._apps: tuple[Person, ...] | None = None
        self._ids: dict[str, dict[str, str]] = {}
        self._bot_ids: dict[str, str] | None = None
        self._fk = rand.faker(population.locale)
        self._namer = ChatNamer(self.rand, population.locale)
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
        staff = self.population.staff
        members = r.sample(staff, min(max(2, n), len(staff)))
        owner = members[0]
        chat = Chat(self.new_chat_id(), "group", name or self._group_name(), owner, members,
                    bot_member=bot_member, external=r.chance(0.05), description=str(self._fk.sentence()))
        chat.i18n = self._namer.given(name) if name else self._namer.names(chat.name)
        self.chats[chat.chat_id] = chat
        self._groups += 1
        if self._groups > MAX_GROUPS:
            self._forget_a_group(keep=chat.chat_id)
        return chat

    def _forget_a_group(self, *, keep: str) -> None:
        groups = [c for c in self.chats.values() if c.chat_type == "group" and c.chat_id != keep]
        victim = next((c for c in groups if c.disbanded), None) or next((c for c in groups if not c.bot_member),
                                                                          None) or groups[0]
        del self.chats[victim.chat_id]
        self._recent.pop(victim.chat_id, None)
        self._groups -= 1
        self._group_list_for = -1

    def p2p_chat(self, person: Person) -> Chat:
        """The one p2p chat between ``person`` and the bot (created on first use)."""
        chat_id = self._p2p.get(person.key)
        if chat_id is None:
            chat = Chat(self.new_chat_id(), "p2p", "", person, [person])
            self.chats[chat.chat_id] = chat
            self._p2p[person.key] = chat.chat_id
            return chat
        return self.chats[chat_id]

    def _all_groups(self) -> list[Chat]:
        if self._group_list_for != len(self.chats):  # the group list, rebuilt when chats come or go
            self._group_list = [c for c in self.chats.values() if c.chat_type == "group"]
            self._group_list_for = len(self.chats)
        return self._group_list

    def groups(self, *, with_bot: bool = True) -> list[Chat]:
        return [c for c in self._all_groups() if not c.disbanded and (c.bot_member or not with_bot)]

    def pick_group(self, r: SimRandom | None = None) -> Chat:
        """A live group the bot is in (a new one when there is none)."""
        rnd = (r or self.rand).random.random
        every = self._all_groups()
        for _ in range(4):  # most groups qualify: a few tries avoid filtering them all
            if not every:
                break
            c = every[int(rnd() * len(every))]
            if c.bot_member and not c.disbanded:
                return c
        groups = self.groups()
        return groups[int(rnd() * len(groups))] if groups else self.new_group()

    def chat(self, chat_id: str) -> Chat | None:
        return self.chats.get(chat_id)

    def bot_ids(self) -> dict[str, str]:
        """The bot's ids as a mention names them (no user_id: bots have none); a fresh dict each call."""
        if self._bot_ids is None:
            self._bot_ids = {"union_id": self.bot.union_id, "open_id": self.bot.open_id}
        return dict(self._bot_ids)

    def apps(self) -> tuple[Person, ...]:
        """The tenant's apps (user_type 9): they may send messages too."""
        if self._apps is None:
            self._apps = tuple(p for p in self.population.people if p.user_type == 9)
        return self._apps

    def ids_of(self, person: Person) -> dict[str, str]:
        """``person.user_id_json(app_id)`` (a fresh dict each call; the md5 of the open_id is cached)."""
        ids = self._ids.get(person.key)
        if ids is None:
            ids = self._ids[person.key] = person.user_id_json(self.app_id)
        return dict(ids)

    def person(self, *, open_id: str = "", union_id: str = "", user_id: str = "") -> Person | None:
        """The tenant member with one of these ids (``open_id`` for this app), or None."""
        for p in self.population.people:
            if (open_id and p.open_id(self.app_id) == open_id) or (union_id and p.union_id == union_id) \
                    or (user_id and p.user_id == user_id):
                return p
        return None

    # -- messages -----------------------------------------------------------------------------------------
    def record(self, message: Message) -> Message:
        if message.message_id in self.messages:
            self.messages.move_to_end(message.message_id)
        self.messages[message.message_id] = message
        while len(self.messages) > MESSAGE_MEMORY:
            self.messages.popitem(last=False)
        recent = self._recent.get(message.chat_id)
        if recent is None:
            recent = self._recent[message.chat_id] = deque(maxlen=CHAT_RECENT)
        recent.append(message.message_id)
        return message

    def recent_in(self, chat_id: str, limit: int = CHAT_RECENT) -> list[Message]:
        """The chat's latest remembered messages (at most ``limit`` <= ``CHAT_RECENT``), oldest first."""
        ids = self._recent.get(chat_id)
        if not ids:
            return []
        found = [self.messages.get(mid) for mid in islice(reversed(ids), limit)]
        return [m for m in reversed(found) if m is not None]

    def message(self, message_id: str) -> Message | None:
        return self.messages.get(message_id)

    def messages_in(self, chat_id: str) -> Iterator[Message]:
        return (m for m in self.messages.values() if m.chat_id == chat_id)

    def rename(self, chat: Chat) -> None:
        """Give ``chat`` a fresh realistic name, and localised names to go with it."""
        chat.name = self._group_name()
        chat.i18n = self._namer.names(chat.name)

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

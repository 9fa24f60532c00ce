"""An independent checker of a chat scenario's event sequence (written from the rules, not from the engine).

Only the delivered envelopes are read, plus ``lookup`` for message ids the bot knows without an event: its
own messages (sent through the API, never echoed to it) and messages from before the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.catalog.im_helpers import mention_keys_in

Lookup = Callable[[str], Any]  # message id -> the world's ``Message`` (or None)
MENTIONABLE = ("text", "post")
SHORT = {"im.message.receive_v1": "message", "im.message.reaction.created_v1": "reaction_created",
         "im.message.reaction.deleted_v1": "reaction_deleted", "im.message.message_read_v1": "message_read",
         "im.message.recalled_v1": "recalled", "im.chat.member.bot.added_v1": "bot_added",
         "im.chat.member.bot.deleted_v1": "bot_deleted", "im.chat.member.user.added_v1": "user_added",
         "im.chat.member.user.deleted_v1": "user_deleted", "im.chat.member.user.withdrawn_v1": "user_withdrawn",
         "im.chat.updated_v1": "chat_updated", "im.chat.disbanded_v1": "chat_disbanded",
         "im.chat.access_event.bot_p2p_chat_entered_v1": "p2p_chat_entered", "card.action.trigger": "click"}


def short(env: dict[str, Any]) -> str:
    return SHORT[env["header"]["event_type"]]


def uid(ids: dict[str, Any]) -> str:
    return str(ids["open_id"])


@dataclass
class Known:
    """A message as the sequence (or the bot itself) knows it."""

    create: int
    chat_id: str
    by_bot: bool
    root_id: str = ""
    thread_id: str = ""
    recalled: bool = False
    read: bool = False
    reactions: set[tuple[str, str]] = field(default_factory=set)


class ChatSequence:
    def __init__(self, envs: list[dict[str, Any]], lookup: Lookup, *, scope: bool) -> None:
        self.envs, self.lookup, self.scope = envs, lookup, scope
        self.start = int(envs[0]["header"]["create_time"])
        self.known: dict[str, Known] = {}
        self.chat_id: str | None = None
        self.kind: str | None = None
        self.user: str | None = None  # the p2p user
        self.left: set[str] = set()  # people seen leaving (and not back)
        self.joined: set[str] = set()
        self.owner: str | None = None  # the group's owner, once a transfer names them
        self.bot_in = True
        self.ended = False
        self.threads: dict[str, str] = {}  # thread_id -> root message id
        self.roots: dict[str, str] = {}  # root message id -> thread_id
        self.prev = 0  # the previous envelope's create_time

    # -- helpers -----------------------------------------------------------------------------------------
    def same_chat(self, chat_id: str, kind: str | None = None) -> None:
        self.chat_id = self.chat_id or chat_id
        assert chat_id == self.chat_id, "one chat per scenario"
        if kind is not None:
            self.kind = self.kind or kind
            assert kind == self.kind

    def message(self, mid: str, at: int) -> Known:
        """A message that exists (delivered before, or known to the bot), sent before ``at``, not recalled."""
        k = self.known.get(mid)
        if k is None:
            m = self.lookup(mid)
            assert m is not None, f"{mid}: no such message"
            assert m.sender is None or m.create_time_ms < self.start, f"{mid}: a user's message never delivered"
            # (not its thread_id: a thread can be opened on a message after it was sent, and the world holds today's)
            k = self.known[mid] = Known(m.create_time_ms, m.chat_id, m.sender is None, m.root_id)
        assert k.chat_id == self.chat_id, f"{mid} is in another chat"
        assert k.create < at, f"{mid} was not sent before"
        assert not k.recalled, f"{mid} was recalled"
        return k

    def actor(self, person: str) -> None:
        assert person not in self.left, "someone who left acts"
        if self.kind == "p2p":
            self.user = self.user or person
            assert person == self.user, "only the user acts in a p2p chat"

    def own_time(self, value: str, header: int) -> int:
        t = int(value)
        assert self.prev <= t <= header, "a body time before the previous event or after its own"
        return t

    # -- the walk ----------------------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        ids = [e["header"]["event_id"] for e in self.envs]
        assert len(set(ids)) == len(ids)
        for i, env in enumerate(self.envs):
            t, header = short(env), int(env["header"]["create_time"])
            assert header > self.prev, "create_time must go forward"
            assert not self.ended, "an event after the bot left or the group was disbanded"
            assert t != "bot_added" or i == 0, "the bot receives nothing from a group before it is added"
            getattr(self, "on_" + t)(env["event"], header)
            counts[t] = counts.get(t, 0) + 1
            self.prev = header
        return counts

    def on_message(self, ev: dict[str, Any], header: int) -> None:
        m, sender = ev["message"], ev["sender"]
        self.same_chat(m["chat_id"], m["chat_type"])
        assert m["message_id"] not in self.known, "a message delivered twice"
        create = self.own_time(m["create_time"], header)
        assert m["update_time"] == m["create_time"]
        self.actor(uid(sender["sender_id"]))
        mentions = m.get("mentions", [])
        assert mention_keys_in(m) == [x["key"] for x in mentions]
        if m["chat_type"] == "p2p":
            assert not mentions
        elif not self.scope:
            assert m["message_type"] in MENTIONABLE and any(x.get("mentioned_type") == "bot" for x in mentions)
        for x in mentions:
            if x.get("mentioned_type") != "bot":
                assert uid(x["id"]) not in self.left, "@ someone who left"
        self.reply(m, create)
        self.known[m["message_id"]] = Known(create, m["chat_id"], False, m.get("root_id", ""), m.get("thread_id", ""))

    def reply(self, m: dict[str, Any], create: int) -> None:
        parent_id, root_id, thread_id = m.get("parent_id", ""), m.get("root_id", ""), m.get("thread_id", "")
        if not parent_id:
            assert not root_id and not thread_id, "a root, or a thread, without a parent"
            return
        parent = self.message(parent_id, create)
        assert root_id == (parent.root_id or parent_id), "root_id is the parent's root"
        if parent.thread_id:
            assert thread_id == parent.thread_id, "a reply to a message in a thread stays in it"
        if thread_id:
            assert self.threads.setdefault(thread_id, root_id) == root_id, "one thread, one root"
            assert self.roots.setdefault(root_id, thread_id) == thread_id, "one root, one thread"
            assert all(k.thread_id in ("", thread_id) for mid, k in self.known.items() if mid == root_id)

    def on_reaction_created(self, ev: dict[str, Any], header: int) -> None:
        at = self.own_time(ev["action_time"], header)
        k = self.message(ev["message_id"], at)
        who = uid(ev["user_id"]) if ev["operator_type"] == "user" else "app"
        self.actor(who)
        key = (ev["reaction_type"]["emoji_type"], who)
        assert key not in k.reactions, "the same reaction twice"
        k.reactions.add(key)

    def on_reaction_deleted(self, ev: dict[str, Any], header: int) -> None:
        at = self.own_time(ev["action_time"], header)
        k = self.message(ev["message_id"], at)
        who = uid(ev["user_id"]) if ev["operator_type"] == "user" else "app"
        self.actor(who)
        key = (ev["reaction_type"]["emoji_type"], who)
        assert key in k.reactions, "a reaction taken back that was not there"
        k.reactions.discard(key)

    def on_message_read(self, ev: dict[str, Any], header: int) -> None:
        assert self.kind in (None, "p2p"), "read receipts are a p2p chat's"
        self.actor(uid(ev["reader"]["reader_id"]))
        read_time = self.own_time(ev["reader"]["read_time"], header)
        assert ev["message_id_list"]
        for mid in ev["message_id_list"]:
            k = self.message(mid, read_time + 1)
            assert k.by_bot and not k.read, "a read receipt names the bot's unread messages"
            k.read = True

    def on_recalled(self, ev: dict[str, Any], header: int) -> None:
        self.same_chat(ev["chat_id"])
        at = self.own_time(ev["recall_time"], header)
        k = self.message(ev["message_id"], at)
        assert not k.by_bot and ev["message_id"] in self.known
        k.recalled = True

    def on_click(self, ev: dict[str, Any], header: int) -> None:
        context = ev["context"]
        self.same_chat(context["open_chat_id"])
        k = self.message(context["open_message_id"], header)
        assert k.by_bot and self.lookup(context["open_message_id"]).message_type == "interactive", \
            "a click on something other than the bot's card"
        self.actor(ev["operator"]["open_id"])
        assert ev["host"] == "im_message" and len(ev["token"]) == 42 and ev["token"].startswith("c-")

    def on_p2p_chat_entered(self, ev: dict[str, Any], header: int) -> None:
        self.same_chat(ev["chat_id"], "p2p")
        self.actor(uid(ev["operator_id"]))
        if "last_message_id" in ev:
            k = self.message(ev["last_message_id"], header)
            assert str(k.create) == ev["last_message_create_time"]

    def group_event(self, ev: dict[str, Any]) -> None:
        self.same_chat(ev["chat_id"], "group")
        self.actor(uid(ev["operator_id"]))

    def on_bot_added(self, ev: dict[str, Any], header: int) -> None:
        self.group_event(ev)

    def on_bot_deleted(self, ev: dict[str, Any], header: int) -> None:
        self.group_event(ev)
        self.ended = True

    on_chat_disbanded = on_bot_deleted

    def on_chat_updated(self, ev: dict[str, Any], header: int) -> None:
        self.group_event(ev)
        if "owner_id" in ev["after_change"]:
            assert uid(ev["operator_id"]) == uid(ev["before_change"]["owner_id"]), "a transfer not by the owner"
            self.owner = uid(ev["after_change"]["owner_id"])
            assert self.owner not in self.left, "the group handed to someone who left"

    def on_user_added(self, ev: dict[str, Any], header: int) -> None:
        self.same_chat(ev["chat_id"], "group")
        for u in ev["users"]:
            assert uid(u["user_id"]) not in self.joined or uid(u["user_id"]) in self.left, "added twice"
            self.left.discard(uid(u["user_id"]))
            self.joined.add(uid(u["user_id"]))
        self.actor(uid(ev["operator_id"]))

    def on_user_deleted(self, ev: dict[str, Any], header: int) -> None:
        self.group_event(ev)
        for u in ev["users"]:
            assert uid(u["user_id"]) not in self.left, "left twice"
            assert uid(u["user_id"]) != self.owner, "the owner leaves"
            self.left.add(uid(u["user_id"]))
            self.joined.discard(uid(u["user_id"]))

    def on_user_withdrawn(self, ev: dict[str, Any], header: int) -> None:
        self.group_event(ev)
        for u in ev["users"]:
            assert uid(u["user_id"]) not in self.joined, "a withdrawn invitation for a member"


def check_chat_sequence(envs: list[dict[str, Any]], lookup: Lookup, *, scope: bool = False) -> dict[str, int]:
    """Assert the invariants; return the count of each short event type. ``scope``: the app reads every
    group message (else each group message @s the bot)."""
    assert envs
    return ChatSequence(envs, lookup, scope=scope).run()

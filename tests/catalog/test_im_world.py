"""The IM events of one run agree with each other through the run's ``ImWorld``: replies and threads point
at earlier messages of the same chat, reactions / reads / recalls at real messages and after them,
membership events change who is in a chat, and a scenario can steer everything through params/scene."""

from __future__ import annotations

import random
from typing import Any

import pytest

from simulator.errors import ConfigError
from simulator.generation.families.im import world as world_module
from simulator.generation.families.im.world import ImWorld, Message
from tests.catalog.helpers import factory
from tests.catalog.im_helpers import ALL, RECEIVE, world

RX = "im.message."
CHAT = "im.chat."


def test_replies_and_threads_point_at_earlier_messages_of_the_same_chat() -> None:
    f = factory(5)
    seen: dict[str, dict[str, Any]] = {}
    replies = threads = 0
    for _ in range(1500):
        m = f.generate(RECEIVE)["event"]["message"]
        w = world(f)
        assert m["update_time"] == m["create_time"]
        if "parent_id" in m:
            replies += 1
            parent = w.message(m["parent_id"])
            root = w.message(m["root_id"])
            assert parent is not None and root is not None
            assert parent.chat_id == root.chat_id == m["chat_id"]
            assert parent.create_time_ms < int(m["create_time"]) and root.create_time_ms <= parent.create_time_ms
            assert root.root_id == ""  # the root of a reply chain is no reply itself
        else:
            assert "root_id" not in m
        if "thread_id" in m:
            threads += 1
            assert "root_id" in m and w.message(m["root_id"]).thread_id == m["thread_id"]  # type: ignore[union-attr]
        seen[m["message_id"]] = m
    assert len(seen) == 1500 and replies > 100 and threads > 20


def test_every_message_is_recorded_and_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world_module, "MESSAGE_MEMORY", 50)
    monkeypatch.setattr(world_module, "MAX_GROUPS", 12)
    f = factory(1)
    ids = [f.generate(RECEIVE)["event"]["message"]["message_id"] for _ in range(200)]
    w = world(f)
    assert list(w.messages)[-50:] == ids[-50:] and len(w.messages) == 50
    for _ in range(40):
        f.generate("im.chat.member.bot.added_v1")
    assert sum(c.chat_type == "group" for c in w.chats.values()) <= 12
    assert all(len(w.recent_in(c)) <= world_module.CHAT_RECENT for c in w.chats)
    f.generate(RECEIVE)  # still generates with a trimmed world


def _target(w: ImWorld, message_id: str) -> Message:
    m = w.message(message_id)
    assert m is not None, message_id
    return m


@pytest.mark.parametrize("event_type", [RX + "reaction.created_v1", RX + "reaction.deleted_v1"])
def test_reactions_target_known_messages_after_they_were_sent(event_type: str) -> None:
    f = factory(8)
    for i in range(300):
        if i % 3 == 0:
            f.generate(RECEIVE)
        env = f.generate(event_type)
        ev, w = env["event"], world(f)
        m = _target(w, ev["message_id"])
        chat = w.chat(m.chat_id)
        assert chat is not None and chat.bot_member and not m.recalled
        assert m.create_time_ms < int(ev["action_time"]) <= int(env["header"]["create_time"])
        if ev["operator_type"] == "user":
            assert chat.has(w.person(open_id=ev["user_id"]["open_id"]))  # type: ignore[arg-type]
        else:
            assert ev["app_id"] == env["header"]["app_id"]  # the app's own reaction (bots ack with one)


def test_a_deleted_reaction_is_one_that_was_added() -> None:
    f = factory(2)
    f.generate(RECEIVE)
    ctx = f.context()
    added = f.generate(RX + "reaction.created_v1", ctx=ctx)["event"]
    m = _target(world(f), added["message_id"])
    assert len(m.reactions) == 1
    removed = f.generate(RX + "reaction.deleted_v1", ctx=f.context(scene={"message": m}))["event"]
    assert removed["reaction_type"] == added["reaction_type"] and removed["operator_type"] == added["operator_type"]
    assert removed.get("user_id") == added.get("user_id") and not m.reactions


def test_read_receipts_name_bot_messages_the_reader_could_see() -> None:
    f = factory(4)
    reported: set[str] = set()
    for _ in range(200):
        env = f.generate(RX + "message_read_v1")
        ev, w = env["event"], world(f)
        reader = w.person(open_id=ev["reader"]["reader_id"]["open_id"])
        assert reader is not None
        p2p = w.p2p_chat(reader)
        read_time = int(ev["reader"]["read_time"])
        assert read_time <= int(env["header"]["create_time"])
        for mid in ev["message_id_list"]:
            m = _target(w, mid)
            assert m.chat_id == p2p.chat_id and m.from_bot and m.read and m.create_time_ms < read_time
            assert mid not in reported  # each message is reported read once
            reported.add(mid)


def test_recalls_target_a_users_message_once_and_after_it() -> None:
    f = factory(6)
    recalled: set[str] = set()
    for i in range(300):
        if i % 2:
            f.generate(RECEIVE)
        env = f.generate(RX + "recalled_v1")
        ev, w = env["event"], world(f)
        m = _target(w, ev["message_id"])
        assert m.chat_id == ev["chat_id"] and m.recalled and not m.from_bot
        assert m.create_time_ms < int(ev["recall_time"]) <= int(env["header"]["create_time"])
        assert ev["message_id"] not in recalled
        recalled.add(ev["message_id"])
        if w.chat(m.chat_id).chat_type == "p2p":  # type: ignore[union-attr]
            assert ev["recall_type"] in ("message_owner", "enterprise_manager")
    pick = random.Random(1)
    for _ in range(300):  # nobody replies to or reacts to a recalled message
        env = f.generate(pick.choice([RECEIVE, RX + "reaction.created_v1"]))
        assert env["event"].get("message", {}).get("parent_id") not in recalled
        assert env["event"].get("message_id") not in recalled


def test_membership_events_update_the_world() -> None:
    f = factory(7)
    w = None
    for _ in range(60):
        removed = f.generate(CHAT + "member.bot.deleted_v1")["event"]
        w = world(f)
        gone = w.chat(removed["chat_id"])
        assert gone is not None and not gone.bot_member
        for _ in range(20):  # no message, reaction or chat event of that chat reaches the bot any more
            for et in (RECEIVE, RX + "reaction.created_v1", CHAT + "updated_v1", CHAT + "member.user.added_v1"):
                ev = f.generate(et)["event"]
                chat_id = ev["message"]["chat_id"] if et == RECEIVE else ev.get("chat_id") or \
                    w.message(ev["message_id"]).chat_id  # type: ignore[union-attr]
                assert chat_id != removed["chat_id"]
        added = f.generate(CHAT + "member.bot.added_v1")["event"]
        assert w.chat(added["chat_id"]).bot_member  # type: ignore[union-attr]
    assert w is not None
    for _ in range(50):
        ev = f.generate(CHAT + "member.user.added_v1")["event"]
        chat = w.chat(ev["chat_id"])
        assert chat is not None and all(chat.has(w.person(open_id=u["user_id"]["open_id"]))  # type: ignore[arg-type]
                                        for u in ev["users"])
        ev = f.generate(CHAT + "member.user.deleted_v1")["event"]
        chat = w.chat(ev["chat_id"])
        assert chat is not None and not any(chat.has(w.person(open_id=u["user_id"]["open_id"]))  # type: ignore[arg-type]
                                            for u in ev["users"])
        assert chat.owner.open_id(f.app.app_id) not in {u["user_id"]["open_id"] for u in ev["users"]}
        ev = f.generate(CHAT + "member.user.withdrawn_v1")["event"]
        chat = w.chat(ev["chat_id"])
        assert chat is not None and not any(chat.has(w.person(open_id=u["user_id"]["open_id"]))  # type: ignore[arg-type]
                                            for u in ev["users"])


def test_a_disbanded_chat_is_never_used_again() -> None:
    f = factory(3)
    gone = {f.generate(CHAT + "disbanded_v1")["event"]["chat_id"] for _ in range(10)}
    w = world(f)
    assert all(w.chat(c).disbanded for c in gone)  # type: ignore[union-attr]
    for _ in range(30):
        for et in ALL:
            ev = f.generate(et)["event"]
            assert ev.get("chat_id") not in gone and ev.get("message", {}).get("chat_id") not in gone


def test_chat_updates_change_the_world_and_carry_the_changed_fields_only() -> None:
    f = factory(12)
    kinds = set()
    for _ in range(200):
        ev = f.generate(CHAT + "updated_v1")["event"]
        chat = world(f).chat(ev["chat_id"])
        assert chat is not None
        assert set(ev["before_change"]) == set(ev["after_change"]) and ev["before_change"] != ev["after_change"]
        kinds |= set(ev["after_change"])
        if "name" in ev["after_change"]:
            assert chat.name == ev["after_change"]["name"] != ev["before_change"]["name"]
        if "owner_id" in ev["after_change"]:
            assert ev["operator_id"] == ev["before_change"]["owner_id"]  # only the owner hands it over
            assert ev["after_change"]["owner_id"] == chat.owner.user_id_json(f.app.app_id)
        if "moderator_list" in ev and ev["moderator_list"]["added_member_list"]:  # the owner is always listed
            assert ev["moderator_list"]["added_member_list"][0]["user_id"] == chat.owner.user_id_json(f.app.app_id)
        for key in set(ev["after_change"]) & set(chat.settings):
            assert chat.settings[key] == ev["after_change"][key]
    assert {"name", "description", "avatar", "owner_id", "group_message_type", "restricted_mode_setting",
            "moderation_permission"} <= kinds


def test_p2p_entered_names_the_users_p2p_chat_and_its_latest_message() -> None:
    f = factory(10)
    user = f.population.staff[3]
    for text in ("hi", "in there?"):
        f.generate(RECEIVE, ctx=f.context(params={"chat_type": "p2p", "sender": user, "text": text}))
    last = max(world(f).recent_in(world(f).p2p_chat(user).chat_id), key=lambda m: m.create_time_ms)
    ev = f.generate(CHAT + "access_event.bot_p2p_chat_entered_v1", ctx=f.context(operator=user))["event"]
    assert ev["chat_id"] == world(f).p2p_chat(user).chat_id
    assert ev["last_message_id"] == last.message_id and ev["last_message_create_time"] == str(last.create_time_ms)
    assert ev["operator_id"] == user.user_id_json(f.app.app_id)


def test_a_scenario_steers_a_conversation_through_params_and_scene() -> None:
    f = factory(1)
    w_chat = None
    scene: dict[str, Any] = {}
    alice, bob = f.population.staff[0], f.population.staff[1]
    added = f.generate(CHAT + "member.bot.added_v1", ctx=f.context(scene=scene, operator=alice))["event"]
    w = world(f)
    w_chat = w.chat(added["chat_id"])
    assert w_chat is not None and scene["chat"] is w_chat and w_chat.bot_member
    ask = f.generate(RECEIVE, ctx=f.context(scene=scene, params={"sender": alice, "text": "部署 payment-api",
                                                                 "mentions": [bob]}))["event"]
    m = ask["message"]
    assert m["chat_id"] == w_chat.chat_id and ask["sender"]["sender_id"]["open_id"] == alice.open_id(f.app.app_id)
    assert m["content"].endswith(' 部署 payment-api"}') and [x["mentioned_type"] for x in m["mentions"]] \
        in (["bot", "user"], ["user", "bot"])
    assert scene["message"].message_id == m["message_id"]
    reply = f.generate(RECEIVE, ctx=f.context(scene=scene, now=f.clock.now() + 5, params={
        "sender": bob, "reply_to": m["message_id"], "thread": True, "message_type": "image"}))["event"]["message"]
    assert reply["parent_id"] == reply["root_id"] == m["message_id"] and reply["thread_id"].startswith("omt_")
    liked = f.generate(RX + "reaction.created_v1", ctx=f.context(scene=scene, now=f.clock.now() + 9, params={
        "emoji_type": "DONE", "operator": alice}))["event"]
    assert liked["message_id"] == reply["message_id"] and liked["reaction_type"] == {"emoji_type": "DONE"}
    gone = f.generate(RX + "recalled_v1", ctx=f.context(scene=scene, now=f.clock.now() + 12))["event"]
    assert gone["message_id"] == reply["message_id"] and gone["chat_id"] == w_chat.chat_id


@pytest.mark.parametrize(("event_type", "params", "needle"), [
    (RECEIVE, {"message_type": "video"}, "not a documented message type"),
    (RECEIVE, {"chat": "oc_" + "9" * 32}, "no such chat"),
    (RECEIVE, {"sender": "ou_" + "9" * 32}, "no such person"),
    (RECEIVE, {"chat_type": "topic"}, "expected 'p2p' or 'group'"),
    (RX + "reaction.created_v1", {"message": "om_" + "9" * 32}, "no such message"),
    (RX + "recalled_v1", {"recall_type": "admin"}, "recall_type"),
    (CHAT + "updated_v1", {"change": "colour"}, "expected one of"),
    ("application.bot.menu_v6", {"event_key": ""}, "1-30 characters"),
])
def test_bad_params_are_config_errors(event_type: str, params: dict[str, Any], needle: str) -> None:
    f = factory(1)
    with pytest.raises(ConfigError, match=needle):
        f.generate(event_type, ctx=f.context(params=params))


def test_the_bot_menu_clicks_come_from_the_menu_and_open_the_p2p_chat() -> None:
    f = factory(2)
    keys = set()
    for _ in range(100):
        env = f.generate("application.bot.menu_v6")
        ev = env["event"]
        keys.add(ev["event_key"])
        who = world(f).person(open_id=ev["operator"]["operator_id"]["open_id"])
        assert who is not None and ev["operator"]["operator_name"] == who.name
        assert any(c.chat_type == "p2p" and c.owner == who for c in world(f).chats.values())
        assert isinstance(ev["timestamp"], int) and ev["timestamp"] <= int(env["header"]["create_time"])
    assert keys == {"help", "daily_report", "oncall_status", "submit_ticket", "my_todos", "settings"}
    ev = f.generate("application.bot.menu_v6", ctx=f.context(params={"menu": ["a1"], "operator_name": False}))
    assert ev["event"]["event_key"] == "a1" and "operator_name" not in ev["event"]["operator"]

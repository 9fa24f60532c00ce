"""The message APIs' rules against an ``ImWorld`` on a virtual clock, without sockets: who the bot may message,
threads, uuid dedupe, card updates, reactions, resources (docs/openapi.md#message-errors)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.clock import VirtualClock
from simulator.errors import ApiRefused
from simulator.generation.families.im.world import Chat, ImWorld, Message
from simulator.generation.population import Population
from simulator.platform.openapi import codes, messages
from simulator.platform.openapi.state import OpenApiState
from simulator.rand import SimRandom

APP, SECRET = "cli_a1b2c3d4e5f60718", "s3cret"
TEXT = {"msg_type": "text", "content": json.dumps({"text": "hello"})}
CARD = {"config": {"update_multi": True}, "elements": [{"tag": "markdown", "content": "v1"}]}


@pytest.fixture
def world() -> ImWorld:
    rand = SimRandom(5)
    return ImWorld(rand, Population(rand, size=40), APP)


@pytest.fixture
def state(world: ImWorld, vclock: VirtualClock) -> OpenApiState:
    return OpenApiState({APP: SECRET}, lambda app_id: world, clock=vclock)


def group(world: ImWorld) -> Chat:
    return world.groups()[0]


def user_message(world: ImWorld, chat: Chat, now_ms: int, text: str = "hi") -> Message:
    return world.record(Message(world.new_message_id(), chat.chat_id, now_ms, chat.members[-1], "text",
                                json.dumps({"text": text})))


def refused(code: int) -> Any:
    return pytest.raises(ApiRefused, match=f"^{code}: ")


def test_send_to_group_is_recorded_in_the_world(state: OpenApiState, world: ImWorld) -> None:
    chat = group(world)
    data = messages.send(state, APP, "chat_id", {"receive_id": chat.chat_id, **TEXT})
    assert data["message_id"].startswith("om_") and len(data["message_id"]) == 35
    assert data["chat_id"] == chat.chat_id and data["msg_type"] == "text"
    assert data["sender"] == {"id": APP, "id_type": "app_id", "sender_type": "app", "tenant_key": state.tenant_key}
    assert data["create_time"] == data["update_time"] == str(state.now_ms()) and not data["updated"]
    assert "root_id" not in data and "parent_id" not in data
    recorded = world.message(data["message_id"])
    assert recorded is not None and recorded.from_bot and recorded.content == TEXT["content"]
    assert [m.message_id for m in state.bot_messages()] == [data["message_id"]]


@pytest.mark.parametrize("id_type", ["open_id", "union_id", "user_id", "email"])
def test_send_to_a_user_goes_to_their_p2p_chat(state: OpenApiState, world: ImWorld, id_type: str) -> None:
    person = world.population.people[3]
    receive_id = {"open_id": person.open_id(APP), "union_id": person.union_id, "user_id": person.user_id,
                  "email": f"{person.user_id}@example.com"}[id_type]
    data = messages.send(state, APP, id_type, {"receive_id": receive_id, **TEXT})
    assert data["chat_id"] == world.p2p_chat(person).chat_id


@pytest.mark.parametrize(("id_type", "receive_id"), [
    ("open_id", "ou_00000000000000000000000000000000"), ("chat_id", "oc_unknown"), ("email", "nobody"),
    ("phone", "123"), ("open_id", ""),
])
def test_bad_receive_id_is_230001(state: OpenApiState, id_type: str, receive_id: str) -> None:
    with refused(codes.INVALID_PARAM):
        messages.send(state, APP, id_type, {"receive_id": receive_id, **TEXT})


def test_open_id_of_another_app_is_unknown(state: OpenApiState, world: ImWorld) -> None:
    other = world.population.people[0].open_id("cli_ffffffffffffffff")
    with refused(codes.INVALID_PARAM):
        messages.send(state, APP, "open_id", {"receive_id": other, **TEXT})


def test_chat_without_the_bot_is_230002(state: OpenApiState, world: ImWorld) -> None:
    outside = world.new_group(bot_member=False)
    with refused(codes.BOT_NOT_IN_CHAT):
        messages.send(state, APP, "chat_id", {"receive_id": outside.chat_id, **TEXT})
    gone = group(world)
    gone.disbanded = True
    with refused(codes.BOT_NOT_IN_CHAT):
        messages.send(state, APP, "chat_id", {"receive_id": gone.chat_id, **TEXT})


def test_availability_is_230013_for_users_and_their_p2p_chats(state: OpenApiState, world: ImWorld) -> None:
    inside, outside = world.population.people[1], world.population.people[2]
    p2p = world.p2p_chat(outside)
    message = user_message(world, p2p, state.now_ms())
    state.set_availability([inside.open_id(APP)])
    messages.send(state, APP, "open_id", {"receive_id": inside.open_id(APP), **TEXT})
    with refused(codes.NO_AVAILABILITY):
        messages.send(state, APP, "union_id", {"receive_id": outside.union_id, **TEXT})
    with refused(codes.NO_AVAILABILITY):
        messages.send(state, APP, "chat_id", {"receive_id": p2p.chat_id, **TEXT})
    with refused(codes.NO_AVAILABILITY):
        messages.reply(state, APP, message.message_id, TEXT)
    messages.send(state, APP, "chat_id", {"receive_id": group(world).chat_id, **TEXT})  # groups are not limited
    state.set_availability(None)
    messages.reply(state, APP, message.message_id, TEXT)


def test_uuid_gives_the_same_message_back_for_an_hour(state: OpenApiState, world: ImWorld,
                                                       vclock: VirtualClock) -> None:
    chat = group(world)
    body = {"receive_id": chat.chat_id, "uuid": "req-1", **TEXT}
    first = messages.send(state, APP, "chat_id", body)
    vclock.advance(3599)
    assert messages.send(state, APP, "chat_id", body) == first
    assert len(state.bot_messages()) == 1
    vclock.advance(1)
    assert messages.send(state, APP, "chat_id", body)["message_id"] != first["message_id"]
    assert len(state.bot_messages()) == 2


def test_reply_threads(state: OpenApiState, world: ImWorld) -> None:
    chat = group(world)
    asked = user_message(world, chat, state.now_ms())
    plain = messages.reply(state, APP, asked.message_id, TEXT)
    assert (plain["root_id"], plain["parent_id"], plain.get("thread_id")) == (asked.message_id, asked.message_id, None)
    assert plain["chat_id"] == chat.chat_id
    threaded = messages.reply(state, APP, asked.message_id, {**TEXT, "reply_in_thread": True})
    assert threaded["thread_id"].startswith("omt_") and asked.thread_id == threaded["thread_id"]
    assert threaded["root_id"] == asked.message_id
    # A reply to the bot's own reply stays in the thread, rooted at the first message.
    again = messages.reply(state, APP, threaded["message_id"], TEXT)
    assert (again["root_id"], again["parent_id"], again["thread_id"]) == (
        asked.message_id, threaded["message_id"], threaded["thread_id"])


def test_reply_refusals(state: OpenApiState, world: ImWorld) -> None:
    chat = group(world)
    asked = user_message(world, chat, state.now_ms())
    with refused(codes.INVALID_PARAM):
        messages.reply(state, APP, "om_" + "0" * 32, TEXT)
    with refused(codes.INVALID_PARAM):
        messages.reply(state, APP, asked.message_id, {**TEXT, "reply_in_thread": "yes"})
    with refused(codes.INVALID_PARAM):
        messages.reply(state, APP, asked.message_id, "not an object")
    chat.bot_member = False  # the bot was removed after the message arrived
    with refused(codes.BOT_NOT_IN_CHAT):
        messages.reply(state, APP, asked.message_id, TEXT)
    chat.bot_member = True
    asked.recalled = True
    with refused(codes.RECALLED):
        messages.reply(state, APP, asked.message_id, TEXT)


def test_recipient_limit_5_per_second(state: OpenApiState, world: ImWorld, vclock: VirtualClock) -> None:
    chat = group(world)
    for _ in range(5):
        messages.send(state, APP, "chat_id", {"receive_id": chat.chat_id, **TEXT})
    with refused(codes.RECIPIENT_RATE_LIMIT):
        messages.send(state, APP, "chat_id", {"receive_id": chat.chat_id, **TEXT})
    vclock.advance(1)
    messages.send(state, APP, "chat_id", {"receive_id": chat.chat_id, **TEXT})


def _card(state: OpenApiState, world: ImWorld, card: dict[str, Any] = CARD) -> dict[str, Any]:
    return messages.send(state, APP, "chat_id", {"receive_id": group(world).chat_id, "msg_type": "interactive",
                                                 "content": json.dumps(card)})


def test_patch_replaces_a_shared_card(state: OpenApiState, world: ImWorld, vclock: VirtualClock) -> None:
    sent = _card(state, world)
    vclock.advance(2)
    new = {**CARD, "elements": [{"tag": "markdown", "content": "v2"}]}
    assert messages.patch(state, APP, sent["message_id"], {"content": json.dumps(new)}) == {}
    got = messages.get(state, APP, sent["message_id"])["items"][0]
    assert json.loads(got["body"]["content"]) == new and got["updated"]
    assert int(got["update_time"]) == int(got["create_time"]) + 2000


def test_patch_refusals(state: OpenApiState, world: ImWorld, vclock: VirtualClock) -> None:
    text = messages.send(state, APP, "chat_id", {"receive_id": group(world).chat_id, **TEXT})
    with pytest.raises(ApiRefused, match="only interactive"):
        messages.patch(state, APP, text["message_id"], {"content": json.dumps(CARD)})
    users = user_message(world, group(world), state.now_ms())
    with pytest.raises(ApiRefused, match="only messages the app sent"):
        messages.patch(state, APP, users.message_id, {"content": json.dumps(CARD)})
    unshared = _card(state, world, {"elements": []})
    with pytest.raises(ApiRefused, match="update_multi"):
        messages.patch(state, APP, unshared["message_id"], {"content": json.dumps(CARD)})
    shared = _card(state, world)
    with pytest.raises(ApiRefused, match="update_multi"):
        messages.patch(state, APP, shared["message_id"], {"content": json.dumps({"elements": []})})
    with refused(codes.CARD_FAILED):
        messages.patch(state, APP, shared["message_id"], {"content": json.dumps({"oops": 1})})
    vclock.advance(1)
    for _ in range(5):
        messages.patch(state, APP, shared["message_id"], {"content": json.dumps(CARD)})
    with refused(codes.RECIPIENT_RATE_LIMIT):
        messages.patch(state, APP, shared["message_id"], {"content": json.dumps(CARD)})
    vclock.advance(14 * 24 * 3600)
    with refused(codes.TOO_OLD_TO_UPDATE):
        messages.patch(state, APP, shared["message_id"], {"content": json.dumps(CARD)})


def test_delayed_card_update_with_callback_token(state: OpenApiState, world: ImWorld, vclock: VirtualClock) -> None:
    sent = _card(state, world)
    token = state.card_token(sent["message_id"])
    for n in (2, 3):
        card = {**CARD, "elements": [{"tag": "markdown", "content": f"v{n}"}]}
        assert messages.card_update(state, APP, {"token": token, "card": card}) == {}
        stored = world.message(sent["message_id"])
        assert stored is not None and json.loads(stored.content) == card
    with pytest.raises(ApiRefused, match="already used 2 times"):
        messages.card_update(state, APP, {"token": token, "card": CARD})
    late = state.card_token(sent["message_id"])
    with refused(codes.CARD_FAILED):  # a bad card does not spend the token
        messages.card_update(state, APP, {"token": late, "card": {"oops": 1}})
    vclock.advance(1800)
    with pytest.raises(ApiRefused, match="expired"):
        messages.card_update(state, APP, {"token": late, "card": CARD})


def test_reactions(state: OpenApiState, world: ImWorld) -> None:
    asked = user_message(world, group(world), state.now_ms())
    made = messages.react(state, APP, asked.message_id, {"reaction_type": {"emoji_type": "Typing"}})
    assert made["operator"] == {"operator_id": APP, "operator_type": "app"}
    assert made["reaction_type"] == {"emoji_type": "Typing"} and made["action_time"] == str(state.now_ms())
    assert messages.unreact(state, APP, asked.message_id, made["reaction_id"]) == made
    with refused(codes.INVALID_PARAM):
        messages.unreact(state, APP, asked.message_id, made["reaction_id"])
    with refused(codes.INVALID_PARAM):
        messages.react(state, APP, asked.message_id, {"reaction_type": {}})
    asked.recalled = True
    with refused(codes.RECALLED):
        messages.react(state, APP, asked.message_id, {"reaction_type": {"emoji_type": "OK"}})


def test_get_shows_recalled_and_user_messages(state: OpenApiState, world: ImWorld) -> None:
    asked = user_message(world, group(world), state.now_ms())
    asked.recalled = True
    got = messages.get(state, APP, asked.message_id)["items"][0]
    assert got["deleted"] is True
    assert got["sender"] == {"id": asked.sender.open_id(APP) if asked.sender else "", "id_type": "open_id",
                             "sender_type": "user", "tenant_key": state.tenant_key}


def test_resources_are_deterministic_and_belong_to_their_message(state: OpenApiState, world: ImWorld) -> None:
    chat = group(world)
    image = world.record(Message(world.new_message_id(), chat.chat_id, state.now_ms(), chat.members[0], "image",
                                 json.dumps({"image_key": "img_v3_02ab_x"})))
    blob = messages.resource(state, APP, image.message_id, "img_v3_02ab_x", "image")
    assert blob.data.startswith(b"\x89PNG\r\n\x1a\n") and blob.content_type == "image/png"
    assert messages.resource(state, APP, image.message_id, "img_v3_02ab_x", "image").data == blob.data
    doc = world.record(Message(world.new_message_id(), chat.chat_id, state.now_ms(), chat.members[0], "file",
                               json.dumps({"file_key": "file_v3_00ab_y", "file_name": "季度报告.pdf"})))
    got = messages.resource(state, APP, doc.message_id, "file_v3_00ab_y", "file")
    assert got.name == "季度报告.pdf" and len(got.data) == 1024
    with refused(codes.INVALID_PARAM):
        messages.resource(state, APP, doc.message_id, "img_v3_02ab_x", "image")
    with refused(codes.INVALID_PARAM):
        messages.resource(state, APP, doc.message_id, "file_v3_00ab_y", "video")


def test_bot_info_is_the_worlds_bot(state: OpenApiState, world: ImWorld) -> None:
    info = messages.bot_info(state, APP)
    assert info["open_id"] == world.bot.open_id and info["app_name"] == world.bot.name
    assert info["activate_status"] == 2


def test_bot_ids_do_not_shift_the_worlds_stream(world: ImWorld, vclock: VirtualClock) -> None:
    twin_rand = SimRandom(5)
    twin = ImWorld(twin_rand, Population(twin_rand, size=40), APP)
    state = OpenApiState({APP: SECRET}, lambda app_id: world, clock=vclock)
    messages.send(state, APP, "chat_id", {"receive_id": group(world).chat_id, **TEXT})
    assert world.new_message_id() == twin.new_message_id()


def test_clear_forgets_the_run_but_keeps_tokens(state: OpenApiState, world: ImWorld) -> None:
    token, _ = state.tokens.issue(APP, SECRET, state.clock.now())
    state.set_availability([])
    state.clear()
    assert state.tokens.check(f"Bearer {token}", state.clock.now()) == APP
    messages.send(state, APP, "open_id", {"receive_id": world.population.people[0].open_id(APP), **TEXT})

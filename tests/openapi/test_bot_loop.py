"""The reply loop end to end, as the official echo bot sample does it: a ``lark.ws.Client`` bot connected to the
platform receives ``im.message.receive_v1``, learns its own open_id from ``GET /open-apis/bot/v3/info`` and
replies in thread with ``client.im.v1.message.reply``; the test asserts the recorded reply.

The envelope is built here from a message put in the platform's world (``simulator.wire.envelope.wrap``); once the
IM family's ``im.message.receive_v1`` generator is in, ``server.push("im.message.receive_v1", ...)`` can replace it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import pytest
from lark_oapi.api.im.v1 import P2ImMessageReceiveV1, ReplyMessageRequest, ReplyMessageRequestBody

from simulator.generation import schemas
from simulator.generation.families.im.world import Chat, Message
from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from simulator.wire import envelope
from tests.longconn.lark_ws import LarkWsThread
from tests.openapi.helpers import lark_client, user_says

pytestmark = pytest.mark.lark_sdk

APP, SECRET = "cli_0a1b2c3d4e5f6074", "loop-secret"


def receive_event(server: PlatformServer, message: Message) -> dict[str, Any]:
    """The ``im.message.receive_v1`` envelope the platform delivers for a user's ``message``."""
    state = server.api.state
    chat: Chat | None = server.api.call(lambda: state.world().chat(message.chat_id))
    assert chat is not None and message.sender is not None
    body: dict[str, Any] = {
        "sender": {"sender_id": message.sender.user_id_json(APP), "sender_type": "user",
                   "tenant_key": state.tenant_key},
        "message": {"message_id": message.message_id, "create_time": str(message.create_time_ms),
                    "update_time": str(message.update_time_ms or message.create_time_ms), "chat_id": chat.chat_id,
                    "chat_type": chat.chat_type, "message_type": message.message_type, "content": message.content},
    }
    if message.mentions:
        body["message"]["mentions"] = message.mentions
    env = envelope.wrap("im.message.receive_v1", body, event_id=f"{message.message_id[3:]}",
                        create_time_ms=message.create_time_ms, token="", app_id=APP, tenant_key=state.tenant_key)
    schemas.validate(env, "im.message.receive_v1")
    return env


class HiBot:
    """Replies in thread to "hi" when mentioned in a group; learns its open_id from bot info at start."""

    def __init__(self, client: Any) -> None:
        self.client = client
        info = client.request(lark.BaseRequest.builder().http_method(lark.HttpMethod.GET)
                              .uri("/open-apis/bot/v3/info").token_types({lark.AccessTokenType.TENANT}).build())
        self.open_id = json.loads(info.raw.content)["bot"]["open_id"]
        self.errors: list[str] = []

    def on_message(self, data: P2ImMessageReceiveV1) -> None:
        msg = data.event.message
        text = json.loads(msg.content).get("text", "")
        mentioned = any(m.id.open_id == self.open_id for m in msg.mentions or [])
        if msg.chat_type != "group" or not mentioned or "hi" not in text.lower():
            return
        name = data.event.sender.sender_id.open_id
        body = ReplyMessageRequestBody.builder().msg_type("text").reply_in_thread(True) \
            .content(json.dumps({"text": f'hi <at user_id="{name}"></at>, how can I help?'})).build()
        resp = self.client.im.v1.message.reply(ReplyMessageRequest.builder().message_id(msg.message_id)
                                               .request_body(body).build())
        if not resp.success():
            self.errors.append(f"{resp.code} {resp.msg}")

    def handler(self) -> lark.EventDispatcherHandler:
        return lark.EventDispatcherHandler.builder("", "").register_p2_im_message_receive_v1(self.on_message).build()


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=31) as s:
        yield s


@pytest.fixture(scope="module")
def bot(server: PlatformServer) -> Iterator[HiBot]:
    hi = HiBot(lark_client(server, APP, SECRET))
    with LarkWsThread(server.domain, APP, SECRET, handler=hi.handler()):
        server.wait_for_clients(1, timeout=10)
        yield hi


def test_bot_replies_in_thread_when_mentioned(server: PlatformServer, bot: HiBot) -> None:
    asked = user_says(server, "hi there", mention_bot=True)
    [delivery] = server.push_envelopes([receive_event(server, asked)])
    assert delivery.acked
    reply = server.api.wait_for_reply(asked.message_id, timeout=10, in_thread=True)
    assert json.loads(reply["body"]["content"])["text"].startswith("hi <at user_id=") and not bot.errors
    assert (reply["root_id"], reply["parent_id"], reply["chat_id"]) == (asked.message_id, asked.message_id,
                                                                       asked.chat_id)
    # The reply is part of the chat now: a later event can reply to it or react to it.
    stored = server.api.call(lambda: server.api.state.world().message(reply["message_id"]))
    assert stored is not None and stored.from_bot and stored.thread_id == reply["thread_id"]


def test_bot_stays_quiet_without_a_mention(server: PlatformServer, bot: HiBot) -> None:
    asked = user_says(server, "hi all")
    [delivery] = server.push_envelopes([receive_event(server, asked)])
    assert delivery.acked  # the Python client acks after its handler returned: any reply would be recorded
    assert server.api.replies_to(asked.message_id) == []

"""The reply loop end to end, as the official echo bot sample does it: a ``lark.ws.Client`` bot connected to the
platform receives ``im.message.receive_v1`` (pushed by the platform from its world), learns its own open_id from
``GET /open-apis/bot/v3/info`` and replies in thread with ``client.im.v1.message.reply``; the test asserts the
recorded reply. (tests/botloop has the samples' bots on every face.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import pytest
from lark_oapi.api.im.v1 import P2ImMessageReceiveV1, ReplyMessageRequest, ReplyMessageRequestBody

from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from tests.longconn.lark_ws import LarkWsThread
from tests.openapi.helpers import lark_client

pytestmark = pytest.mark.lark_sdk

APP, SECRET = "cli_0a1b2c3d4e5f6074", "loop-secret"


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


def says(text: str, **params: Any) -> dict[str, Any]:
    return {"chat_type": "group", "message_type": "text", "text": text, "mentions": [], **params}


def test_bot_replies_in_thread_when_mentioned(server: PlatformServer, bot: HiBot) -> None:
    [delivery] = server.push("im.message.receive_v1", params=says("hi there", mention_bot=True))
    assert delivery.acked
    asked = server.api.call(lambda: server.api.state.world().message(delivery.envelope["event"]["message"]
                                                                     ["message_id"]))
    assert asked is not None
    reply = server.api.wait_for_reply(delivery, timeout=10, in_thread=True)
    assert json.loads(reply["body"]["content"])["text"].startswith("hi <at user_id=") and not bot.errors
    assert (reply["root_id"], reply["parent_id"], reply["chat_id"]) == (asked.message_id, asked.message_id,
                                                                       asked.chat_id)
    # The reply is part of the chat now: a later event can reply to it or react to it.
    stored = server.api.call(lambda: server.api.state.world().message(reply["message_id"]))
    assert stored is not None and stored.from_bot and stored.thread_id == reply["thread_id"]


def test_bot_stays_quiet_without_a_mention(server: PlatformServer, bot: HiBot) -> None:
    """With the "read all group messages" scope a group message reaches the bot without a mention."""
    [delivery] = server.push("im.message.receive_v1", params=says("hi all", mention_bot=False, group_msg_scope=True))
    assert delivery.acked  # the Python client acks after its handler returned: any reply would be recorded
    assert server.api.replies_to(delivery) == []

"""An echo bot written the way the official echo-bot sample behaves (lark-samples ``echo_bot/python``), on lark-oapi
1.7.5 with only its domain pointed at the platform:

* a text message is echoed back ("收到你发送的消息：<text>"), any other type gets the sample's "parse message
  failed" text;
* in a p2p chat the answer is a new message in the chat (``client.im.v1.message.create``, ``receive_id_type``
  ``chat_id``); in a group it is a reply (``client.im.v1.message.reply``), in the thread when the message was in
  one (``reply_in_thread``).

``handler()`` is the ``EventDispatcherHandler`` for ``lark.ws.Client``; ``tests.sdk_http_receiver.SdkHttpServer``
serves the same handler over HTTP (the sample's webhook variant: ``handler.do(RawRequest)`` behind a server).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import lark_oapi as lark
from lark_oapi.api.im.v1 import (
    CreateMessageRequest,
    CreateMessageRequestBody,
    P2ImMessageReceiveV1,
    ReplyMessageRequest,
    ReplyMessageRequestBody,
)

from tests.openapi.helpers import forget_sdk_token

NOT_TEXT = "解析消息失败，请发送文本消息\nparse message failed, please send text message"


def echo_text(text: str) -> str:
    return f"收到你发送的消息：{text}\nReceived message: {text}"


def api_client(domain: str, app_id: str, secret: str) -> Any:
    forget_sdk_token(app_id)
    return lark.Client.builder().app_id(app_id).app_secret(secret).domain(domain).log_level(lark.LogLevel.ERROR) \
        .build()


class EchoBot:
    """The sample's handler; ``errors`` collects the API refusals it saw (``resp.code``/``resp.msg``)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def on_message(self, data: P2ImMessageReceiveV1) -> None:
        msg = data.event.message
        text = json.loads(msg.content)["text"] if msg.message_type == "text" else NOT_TEXT
        content = json.dumps({"text": echo_text(text)}, ensure_ascii=False)
        if msg.chat_type == "p2p":
            body = CreateMessageRequestBody.builder().receive_id(msg.chat_id).msg_type("text").content(content).build()
            resp = self.client.im.v1.message.create(
                CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build())
        else:
            reply = ReplyMessageRequestBody.builder().content(content).msg_type("text") \
                .reply_in_thread(bool(msg.thread_id)).build()
            resp = self.client.im.v1.message.reply(
                ReplyMessageRequest.builder().message_id(msg.message_id).request_body(reply).build())
        if not resp.success():
            with self.lock:
                self.errors.append(f"{resp.code} {resp.msg}")

    def handler(self, encrypt_key: str = "", verification_token: str = "") -> lark.EventDispatcherHandler:
        return lark.EventDispatcherHandler.builder(encrypt_key, verification_token, lark.LogLevel.CRITICAL) \
            .register_p2_im_message_receive_v1(self.on_message).build()

"""A card bot written the way the official card-interaction sample behaves, on lark-oapi 1.7.5 with only its domain
pointed at the platform:

* "/approve <what>" in a group (the bot mentioned) makes it send an approval card to the chat
  (``client.im.v1.message.create``, ``msg_type`` ``interactive``, a JSON 2.0 card with ``update_multi``);
* a click on *Approve* is answered with a success toast, and the card is replaced through the delayed card update
  with the click's token (``POST /open-apis/interactive/v1/card/update``, a raw request: the SDK has no typed
  method for it);
* a click on *Reject* is answered with an info toast, and the card is replaced with
  ``client.im.v1.message.patch``.
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
    PatchMessageRequest,
    PatchMessageRequestBody,
)
from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTrigger, P2CardActionTriggerResponse

CARD_UPDATE = "/open-apis/interactive/v1/card/update"


def button(label: str, action: str, what: str) -> dict[str, Any]:
    return {"tag": "button", "text": {"tag": "plain_text", "content": label},
            "behaviors": [{"type": "callback", "value": {"action": action, "what": what}}]}


def approval_card(what: str) -> dict[str, Any]:
    return {"schema": "2.0", "config": {"update_multi": True},
            "header": {"title": {"tag": "plain_text", "content": "Approval"}},
            "body": {"elements": [{"tag": "markdown", "content": f"Approve **{what}**?"},
                                  button("Approve", "approve", what), button("Reject", "reject", what)]}}


def decided_card(what: str, decision: str, by: str) -> dict[str, Any]:
    return {"schema": "2.0", "config": {"update_multi": True},
            "header": {"title": {"tag": "plain_text", "content": "Approval"}},
            "body": {"elements": [{"tag": "markdown", "content": f"**{what}**: {decision} by <at id={by}></at>"}]}}


class CardBot:
    """The handlers; ``errors`` collects the API refusals they saw."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def _check(self, resp: Any) -> None:
        if not resp.success():
            with self.lock:
                self.errors.append(f"{resp.code} {resp.msg}")

    def on_message(self, data: P2ImMessageReceiveV1) -> None:
        msg = data.event.message
        text = json.loads(msg.content).get("text", "") if msg.message_type == "text" else ""
        words = text.split()
        if msg.chat_type != "group" or "/approve" not in words:
            return
        what = " ".join(words[words.index("/approve") + 1:]) or "the request"
        body = CreateMessageRequestBody.builder().receive_id(msg.chat_id).msg_type("interactive") \
            .content(json.dumps(approval_card(what), ensure_ascii=False)).build()
        self._check(self.client.im.v1.message.create(
            CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build()))

    def on_click(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        event = data.event
        value = event.action.value or {}
        what, by = str(value.get("what", "")), event.operator.open_id
        if value.get("action") == "approve":
            card = decided_card(what, "approved", by)
            request = lark.BaseRequest.builder().http_method(lark.HttpMethod.POST).uri(CARD_UPDATE) \
                .token_types({lark.AccessTokenType.TENANT}).body({"token": event.token, "card": card}).build()
            resp = self.client.request(request)
            self._check(resp)
            return P2CardActionTriggerResponse({"toast": {"type": "success", "content": f"Approved {what}"}})
        card = decided_card(what, "rejected", by)
        patch = PatchMessageRequestBody.builder().content(json.dumps(card, ensure_ascii=False)).build()
        self._check(self.client.im.v1.message.patch(
            PatchMessageRequest.builder().message_id(event.context.open_message_id).request_body(patch).build()))
        return P2CardActionTriggerResponse({"toast": {"type": "info", "content": f"Rejected {what}"}})

    def handler(self, encrypt_key: str = "", verification_token: str = "") -> lark.EventDispatcherHandler:
        return lark.EventDispatcherHandler.builder(encrypt_key, verification_token, lark.LogLevel.CRITICAL) \
            .register_p2_im_message_receive_v1(self.on_message) \
            .register_p2_card_action_trigger(self.on_click).build()

"""Permission scopes (simulator/platform/openapi/scopes.py, docs/openapi.md#permission-scopes): an app configured
with the scopes it was granted gets 99991672 (HTTP 400, the scopes that would allow the call named) from an API
none of whose scopes it has, through the real lark-oapi client; an app without a configured list has them all."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from lark_oapi.api.im.v1 import (
    CreateImageRequest,
    CreateImageRequestBody,
    CreateMessageReactionRequest,
    CreateMessageReactionRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
    Emoji,
    GetMessageRequest,
)

from simulator.cli import main
from simulator.errors import ConfigError
from simulator.platform.openapi import codes
from simulator.platform.openapi.routes import API
from simulator.platform.openapi.scopes import API_SCOPES, granted_scopes
from simulator.platform_server import PlatformServer
from tests.openapi.helpers import a_group, lark_client

pytestmark = pytest.mark.lark_sdk

BOT, BOT_SECRET = "cli_0a1b2c3d4e5f5c01", "scoped-secret"
FULL, FULL_SECRET = "cli_0a1b2c3d4e5f5c02", "full-secret"
REACT = "im:message.reactions:write_only"


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(apps={BOT: BOT_SECRET, FULL: FULL_SECRET}, seed=8,
                        scopes={BOT: ["im:message:send_as_bot"]}) as s:
        yield s


def _send(client: Any, chat_id: str) -> Any:
    body = CreateMessageRequestBody.builder().receive_id(chat_id).msg_type("text") \
        .content(json.dumps({"text": "hi"})).build()
    return client.im.v1.message.create(CreateMessageRequest.builder().receive_id_type("chat_id")
                                       .request_body(body).build())


def _react(client: Any, message_id: str) -> Any:
    body = CreateMessageReactionRequestBody.builder().reaction_type(Emoji.builder().emoji_type("SMILE").build())
    return client.im.v1.message_reaction.create(CreateMessageReactionRequest.builder().message_id(message_id)
                                                .request_body(body.build()).build())


def test_a_call_without_a_granted_scope_is_99991672_through_the_sdk(server: PlatformServer) -> None:
    server.clear()
    client = lark_client(server, BOT, BOT_SECRET)
    sent = _send(client, a_group(server).chat_id)  # im:message:send_as_bot allows sending
    assert sent.code == 0, sent.msg
    refused = {
        REACT: _react(client, sent.data.message_id),
        "im:message:readonly": client.im.v1.message.get(GetMessageRequest.builder()
                                                        .message_id(sent.data.message_id).build()),
        "im:resource": client.im.v1.image.create(CreateImageRequest.builder().request_body(
            CreateImageRequestBody.builder().image_type("message").image(io.BytesIO(b"\x89PNG\r\n")).build())
            .build()),
    }
    for scope, resp in refused.items():
        assert resp.code == codes.MISSING_SCOPE and resp.raw.status_code == 400, (scope, resp.code, resp.msg)
        assert resp.msg.startswith("Access denied. One of the following scopes is required: [") and scope in resp.msg
        violations = {v["subject"] for v in resp.error["permission_violations"]}
        assert scope in violations and all(v["type"] == "action_scope_required"
                                           for v in resp.error["permission_violations"])
    assert [c.code for c in server.api.calls if c.code] == [codes.MISSING_SCOPE] * 3  # recorded like any refusal
    assert [m["message_id"] for m in server.api.sent_messages()] == [sent.data.message_id]
    assert server.api.call(server.api.state.snapshot)["scopes"] == {BOT: ["im:message:send_as_bot"]}


def test_an_app_without_a_configured_list_has_every_scope(server: PlatformServer) -> None:
    client = lark_client(server, FULL, FULL_SECRET)
    sent = _send(client, server.api.world(FULL).groups()[0].chat_id)
    assert sent.code == 0, sent.msg
    assert _react(client, sent.data.message_id).code == 0


def test_every_mocked_api_that_needs_a_scope_is_mapped() -> None:
    unscoped = {"POST /open-apis/auth/v3/tenant_access_token/internal", "GET /open-apis/bot/v3/info",
                "POST /open-apis/interactive/v1/card/update"}
    assert {f"{method} {path}" for method, path, _ in API} == set(API_SCOPES) | unscoped


def test_scope_configuration_is_checked() -> None:
    assert granted_scopes(None, [BOT]) is None
    both = frozenset({"im:message", "im:resource"})
    assert granted_scopes("im:message, im:resource", [BOT, FULL]) == {BOT: both, FULL: both}
    assert granted_scopes("", [BOT]) == {BOT: frozenset()}
    with pytest.raises(ConfigError, match="unknown app 'cli_x'"):
        granted_scopes({"cli_x": ["im:message"]}, [BOT])
    with pytest.raises(ConfigError, match="invalid scope 'send messages'"):
        PlatformServer(scopes=["send messages"])


def test_serve_rejects_a_bad_scope_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--scopes", "im:message,IM MESSAGE"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["feishu-sim: error: --scopes: invalid scope 'IM MESSAGE': scopes look like im:message or "
                   "im:message:send_as_bot"]

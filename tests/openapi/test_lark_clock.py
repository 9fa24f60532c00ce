"""Rules that need time, on the platform's injected virtual clock with the real lark-oapi client: the gateway's
50 calls per second (HTTP 429, 99991400 and its headers) and a token that expires while the SDK still caches it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import pytest
from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

from simulator.clock import VirtualClock
from simulator.platform.openapi import codes
from simulator.platform_server import PlatformServer
from tests.openapi.helpers import a_group, lark_client

pytestmark = pytest.mark.lark_sdk

APP, SECRET = "cli_0a1b2c3d4e5f6072", "clock-secret"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(1_800_000_000.0, scale=0)


@pytest.fixture
def server(clock: VirtualClock) -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, seed=4, clock=clock) as s:
        yield s


def bot_info(client: Any) -> Any:
    return client.request(lark.BaseRequest.builder().http_method(lark.HttpMethod.GET).uri("/open-apis/bot/v3/info")
                          .token_types({lark.AccessTokenType.TENANT}).build())


def test_gateway_limit_50_per_second(server: PlatformServer, clock: VirtualClock) -> None:
    client = lark_client(server, APP, SECRET)
    assert all(bot_info(client).code == 0 for _ in range(50))
    limited = bot_info(client)
    assert (limited.code, limited.raw.status_code) == (codes.GATEWAY_RATE_LIMIT, 429)
    headers = {k.lower(): v for k, v in limited.raw.headers.items()}
    assert (headers["x-ogw-ratelimit-limit"], headers["x-ogw-ratelimit-reset"]) == ("50", "1")
    assert server.api.counts()["per_code"] == {"0": 51, str(codes.GATEWAY_RATE_LIMIT): 1}  # token call + 50
    clock.advance(1)
    assert bot_info(client).code == 0


def test_token_expires_on_the_platform_clock(server: PlatformServer, clock: VirtualClock) -> None:
    client = lark_client(server, APP, SECRET)
    chat = a_group(server)
    body = CreateMessageRequestBody.builder().receive_id(chat.chat_id).msg_type("text") \
        .content(json.dumps({"text": "hi"})).build()
    request = CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build()
    assert client.im.v1.message.create(request).code == 0
    clock.advance(7200)  # the SDK caches the token by real time, so it sends the expired one
    expired = client.im.v1.message.create(request)
    assert expired.code == codes.INVALID_TOKEN and expired.msg.endswith("token expired")

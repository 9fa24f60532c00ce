"""The mock OpenAPI is closed to web pages like the control API (simulator/platform/door.py): a foreign ``Origin``
or a ``Host`` that is not the platform's address is refused (403) before any route, while the SDK clients (no
``Origin``, ``Host`` the configured domain) and same-origin requests go through."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import lark_oapi as lark
import pytest
from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

from simulator.platform_server import PlatformServer
from tests.openapi.helpers import a_group, lark_client

pytestmark = pytest.mark.lark_sdk

APP, SECRET = "cli_0a1b2c3d4e5f6d00", "door-secret"
TOKEN = "/open-apis/auth/v3/tenant_access_token/internal"


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, seed=4) as s:
        yield s


def _token(server: PlatformServer, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(server.domain + TOKEN, json={"app_id": APP, "app_secret": SECRET}, headers=headers,
                      trust_env=False)


def test_web_pages_cannot_call_the_openapi(server: PlatformServer) -> None:
    server.clear()
    port = server.port
    refused = [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": f"http://127.0.0.1:{port + 1}"},
        {"Host": f"evil.example:{port}"},  # DNS rebinding: the page is same-origin for the browser
        {"Host": f"127.0.0.1:{port + 1}"},
    ]
    for headers in refused:
        r = _token(server, headers)
        assert r.status_code == 403 and r.json()["code"] == 403 and r.json()["msg"], headers
        got = httpx.get(server.domain + "/open-apis/bot/v3/info", headers={**headers, "Authorization": "Bearer t-x"},
                        trust_env=False)
        assert got.status_code == 403, headers
    r = httpx.get(server.domain + "/open-apis/no/such/api", headers={"Origin": "http://evil.example"}, trust_env=False)
    assert r.status_code == 403  # the catch-all too
    assert server.api.calls == []  # refused at the door: no route ran, nothing recorded
    for headers in ({}, {"Origin": f"http://127.0.0.1:{port}"}, {"Host": f"localhost:{port}"}):
        r = _token(server, headers)
        assert r.status_code == 200 and r.json()["code"] == 0, headers


def test_the_sdk_client_still_works(server: PlatformServer) -> None:
    server.clear()
    client: Any = lark_client(server, APP, SECRET)
    body = CreateMessageRequestBody.builder().receive_id(a_group(server).chat_id).msg_type("text") \
        .content(json.dumps({"text": "hello"})).build()
    resp = client.im.v1.message.create(CreateMessageRequest.builder().receive_id_type("chat_id")
                                       .request_body(body).build())
    assert resp.code == 0, resp.msg
    info = client.request(lark.BaseRequest.builder().http_method(lark.HttpMethod.GET).uri("/open-apis/bot/v3/info")
                          .token_types({lark.AccessTokenType.TENANT}).build())
    assert info.code == 0
    assert [c.api for c in server.api.calls][-1] == "GET /open-apis/bot/v3/info"

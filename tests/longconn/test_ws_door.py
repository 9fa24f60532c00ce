"""Discovery and the WebSocket upgrade are closed to web pages (simulator/platform/door.py): a browser opens a
WebSocket to any address without a preflight, so a page on another origin, or one rebound to the platform's
address, is refused (403) before the handshake, while clients that send no ``Origin`` (the SDKs) connect."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from simulator.platform_server import PlatformServer

APP, SECRET = "cli_0a1b2c3d4e5f6e00", "ws-door-secret"


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, seed=5) as s:
        yield s


def _discover(server: PlatformServer, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(server.domain + "/callback/ws/endpoint", json={"AppID": APP, "AppSecret": SECRET},
                      headers=headers, trust_env=False, timeout=10)


def _upgrade(url: str, headers: dict[str, str]) -> int:
    """The HTTP status a WebSocket upgrade to ``url`` gets (101: the handshake went through), sent by hand so
    that the page's own ``Host`` can replace the real one."""
    parts = urlsplit(url)
    head = {"Host": parts.netloc, "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(), **headers}
    request = f"GET {parts.path}?{parts.query} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items())
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=10) as sock:
        sock.sendall(request.encode() + b"\r\n")
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"},
                                     {"Host": "evil.example"},
                                     {"Origin": "http://127.0.0.1:1"}], ids=["origin", "host", "other-port"])
def test_web_pages_cannot_discover_or_connect(server: PlatformServer, headers: dict[str, str]) -> None:
    resp = _discover(server, headers)
    assert resp.status_code == 403 and resp.json()["code"] == 403, resp.text
    url = _discover(server, {}).json()["data"]["URL"]  # a real ticket: only the page's headers differ
    assert _upgrade(url, headers) == 403
    assert _upgrade(url, {}) == 101  # the same kind of ticket without the page's headers connects


def test_a_same_origin_page_and_the_sdk_headers_pass(server: PlatformServer) -> None:
    assert _discover(server, {"Origin": server.domain}).status_code == 200
    assert _discover(server, {}).status_code == 200

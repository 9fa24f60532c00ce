"""The platform's door: what an HTTP request to discovery or the control API passes before any route.

* Its body is read here, within a size cap (discovery ``DISCOVERY_MAX_BODY``, control ``CONTROL_MAX_BODY``:
  413, at once from ``Content-Length``) and a time cap (408), then handed to the route: no route reads an
  unbounded body.
* The control API (``/_sim/...``) refuses what a web page could send it: a foreign ``Origin`` (403), a
  ``Host`` that is not the address the platform is bound to when that is loopback (403: a DNS-rebinding
  page is same-origin for the browser, but its ``Host`` names the attacker's domain), and a POST whose
  ``Content-Type`` is not JSON (415: a page can POST ``text/plain`` without asking first). The SDK clients
  and ``httpx``/``curl`` send no ``Origin``; on a non-loopback address the control token guards the API,
  and a page cannot add an ``Authorization`` header without a CORS preflight, which is never answered.

* The mock OpenAPI (``/open-apis/...``) refuses the same foreign ``Origin`` and ``Host`` (403, before any
  route, unrecorded): a page on another origin, or one rebound to the platform's address, cannot call the
  bot's API. The SDK clients send no ``Origin`` and a ``Host`` naming the configured domain
  (``127.0.0.1:PORT`` or ``localhost:PORT``), which passes; the OpenAPI bounds its own bodies.

* Discovery (``/callback/ws/endpoint``) and the WebSocket upgrade refuse the same foreign ``Origin`` and
  ``Host`` (403): a browser sends a WebSocket upgrade to any address without asking first, so a page could
  otherwise hold a connection and read the app's events. The SDK clients send no ``Origin``.

Every other path passes untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse

from simulator import constants as C
from simulator.http_limits import DEFAULT_BODY_TIMEOUT_S, LINGER_BYTES, Refusal, read_body
from simulator.servers import is_loopback

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DISCOVERY_PATH = "/callback/ws/endpoint"
DISCOVERY_MAX_BODY = 16 * 1024  # {"AppID": ..., "AppSecret": ...} is ~100 bytes
CONTROL_MAX_BODY = 4 * 1024 * 1024  # a push with overrides; batch sizes are capped by the handlers
OPENAPI_PREFIX = "/open-apis"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
log = logging.getLogger("simulator.platform")


def _host_port(authority: str) -> tuple[str, int | None]:
    """``("127.0.0.1", 9001)`` from ``127.0.0.1:9001``, ``("::1", None)`` from ``[::1]``."""
    parts = urlsplit("//" + authority)
    try:
        port = parts.port
    except ValueError:
        return authority, -1  # a port that is not a number: matches nothing
    return (parts.hostname or "").lower(), port


def foreign(scope: Scope, headers: Headers) -> str | None:
    """Why a control request comes from somewhere it must not (a web page), or None."""
    server = scope.get("server")
    if not server:
        return None  # not over a socket (an in-process transport): nothing to compare with
    bound_host, bound_port = str(server[0]), server[1]
    host = headers.get("host", "")
    origin = headers.get("origin")
    if not is_loopback(bound_host):
        # Any name may reach a public address; only a page of another origin is refused.
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            return f"cross-origin request from {origin!r} refused"
        return None
    allowed = LOOPBACK_NAMES | {bound_host.lower()}
    name, port = _host_port(host)
    if name not in allowed or (port is not None and port != bound_port):
        return f"Host {host!r} is not this platform's address (DNS rebinding?)"
    if origin is not None:
        parts = urlsplit(origin)
        o_name, o_port = _host_port(parts.netloc)
        default = 443 if parts.scheme == "https" else 80
        if parts.scheme not in ("http", "https") or o_name not in allowed or (o_port or default) != bound_port:
            return f"cross-origin request from {origin!r} refused"
    return None


def is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _unread_body_is_small(headers: Headers) -> bool:
    """A refusal before the body is read keeps the connection (uvicorn discards the body) when it is small."""
    declared = headers.get("content-length")
    return "transfer-encoding" not in headers and (declared is None or (declared.isdigit()
                                                                           and int(declared) <= LINGER_BYTES))


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the route the body already read, then whatever comes next (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class PlatformDoor:
    """ASGI middleware around the platform's app (``Starlette(middleware=[Middleware(PlatformDoor)])``)."""

    def __init__(self, app: ASGIApp, *, discovery_max_body: int = DISCOVERY_MAX_BODY,
                 control_max_body: int = CONTROL_MAX_BODY, body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S) -> None:
        self.app = app
        self.discovery_max_body = discovery_max_body
        self.control_max_body = control_max_body
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        path = scope.get("path", "") if scope["type"] == "http" else ""
        control = path == C.CONTROL_PREFIX or path.startswith(C.CONTROL_PREFIX + "/")
        if path == OPENAPI_PREFIX or path.startswith(OPENAPI_PREFIX + "/"):
            await self._openapi(scope, receive, send)
            return
        if not control and path != DISCOVERY_PATH:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        refused = self._control_refusal(scope, request) if control else self._discovery_refusal(scope, request)
        if refused is None:
            body = await read_body(request, max_bytes=self.control_max_body if control else self.discovery_max_body,
                                   timeout_s=self.body_timeout_s)
            if not isinstance(body, Refusal):
                await self.app(scope, _replay(body, receive), send)
                return
            refused = body
        doc = {"error": refused.msg} if control else {"code": refused.status, "msg": refused.msg, "data": {}}
        await _refuse(refused, doc, scope, receive, send)

    @staticmethod
    def _control_refusal(scope: Scope, request: Request) -> Refusal | None:
        """403 for a web page's request, 415 for a POST that is not JSON, before the body is read."""
        keep = _unread_body_is_small(request.headers)
        why = foreign(scope, request.headers)
        if why is not None:
            return Refusal(403, why, close=not keep)
        if request.method == "POST" and not is_json(request.headers.get("content-type")):
            return Refusal(415, "the control API takes Content-Type: application/json", close=not keep)
        return None

    @staticmethod
    def _discovery_refusal(scope: Scope, request: Request) -> Refusal | None:
        why = foreign(scope, request.headers)
        return None if why is None else Refusal(403, why, close=not _unread_body_is_small(request.headers))

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A web page's upgrade refused before the handshake (uvicorn answers HTTP 403), the rest passed on."""
        why = foreign(scope, Headers(scope=scope))
        if why is None:
            await self.app(scope, receive, send)
            return
        log.info("handshake refused: 403 %s", why)
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008, "reason": ""})

    async def _openapi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The mock OpenAPI: a web page's request refused (403, in the API's error shape), the rest passed on."""
        headers = Headers(scope=scope)
        why = foreign(scope, headers)
        if why is None:
            await self.app(scope, receive, send)
            return
        refused = Refusal(403, why, close=not _unread_body_is_small(headers))
        await _refuse(refused, {"code": refused.status, "msg": refused.msg, "data": {}}, scope, receive, send)


async def _refuse(refused: Refusal, doc: dict[str, Any], scope: Scope, receive: Receive, send: Send) -> None:
    headers = {"Connection": "close"} if refused.close else None
    await JSONResponse(doc, status_code=refused.status, headers=headers)(scope, receive, send)

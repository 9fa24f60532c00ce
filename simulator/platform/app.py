"""The platform's HTTP face: one Starlette app serving discovery, the WebSocket and the control API.

* ``POST /callback/ws/endpoint``: endpoint discovery (docs/protocol.md#endpoint-discovery);
* ``WS /ws/v2?...&ticket=...``: binary ``pbbp2`` frames (docs/protocol.md#the-pbbp2-frame-schema); a refused handshake
is a
  non-101 answer with the ``Handshake-*`` headers, sent through the ASGI ``websocket.http.response``
  extension (``WebSocket.send_denial_response``), which uvicorn's websockets implementations support;
* ``/_sim/...``: the control API (``control.py``).

Discovery, the control API and the mock OpenAPI sit behind ``PlatformDoor`` (``door.py``): bodies read within
size and time caps, and the control API and the OpenAPI closed to web pages (foreign ``Origin``/``Host``; for
the control API non-JSON POSTs too).

This layer only moves bytes and JSON between sockets and ``Platform``; the rules live there and in the
sans-IO ``Session``. Every route is a module-level function that finds the platform in ``app.state``.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from simulator.platform.control import Control, control_routes
from simulator.platform.core import Platform
from simulator.platform.door import PlatformDoor
from simulator.platform.openapi.mount import mounted_routes
from simulator.platform.openapi.state import OpenApiState
from simulator.platform.pushing import Pusher
from simulator.platform.state import WS_PATH, Connection, Rejection
from simulator.servers import ABORT_EXTENSION

log = logging.getLogger("simulator.platform")
CLOSE_WAIT_S = 1.0  # how long a close frame may wait to go out before the connection is dropped


def platform_of(conn: HTTPConnection) -> Platform:
    control: Control = conn.app.state.control
    return control.platform


async def endpoint(request: Request) -> Response:
    """Endpoint discovery: credentials in, connection URL and ClientConfig out."""
    body = await request.body()
    ws_base = str(request.base_url).rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    status, doc = platform_of(request).discover(body, ws_base)
    return JSONResponse(doc, status_code=status)


async def websocket_endpoint(websocket: WebSocket) -> None:
    """One client connection: the handshake's checks, then every message to the platform until it ends."""
    platform = platform_of(websocket)
    ticket_id = websocket.query_params.get("ticket")
    admitted = platform.admit(ticket_id)
    if isinstance(admitted, Rejection):  # a normal event: the SDKs retry with a fresh ticket
        log.info("handshake refused: %s %s", admitted.status, admitted.message)
        await websocket.send_denial_response(
            Response(admitted.message, status_code=admitted.status, headers=admitted.headers()))
        return
    await websocket.accept()
    client = websocket.client

    abort = websocket.scope.get("extensions", {}).get(ABORT_EXTENSION, {}).get("abort")

    async def close(code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(websocket.close(code, reason), CLOSE_WAIT_S)
        except (RuntimeError, WebSocketDisconnect):  # already closing, or gone
            pass
        except asyncio.TimeoutError:  # the close frame waits behind a buffer the client does not read
            log.info("connection to %s not closing: dropped", websocket.client)
            if abort is not None:
                abort()

    conn = platform.register(ticket_id or "", admitted, peer=f"{client.host}:{client.port}" if client else "",
                             send=websocket.send_bytes, close=close, now_platform=platform.clock.now())
    code: int | None = None
    try:
        code = await _receive_all(platform, conn, websocket)
    except (WebSocketDisconnect, RuntimeError, OSError) as exc:
        log.info("connection %s ended: %r", conn.conn_id, exc)
    finally:
        platform.unregister(conn, code)


async def _receive_all(platform: Platform, conn: Connection, websocket: WebSocket) -> int | None:
    """Feed every message to the platform; the client's close code once it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            code: int | None = message.get("code")
            return code
        data = message.get("bytes")
        await platform.on_message(conn, data if data is not None else message.get("text") or "")


def create_app(platform: Platform, *, pusher: Pusher | None = None, control_token: str | None = None,
               openapi: OpenApiState | None = None) -> Starlette:
    """The ASGI app for ``platform``. ``pusher``: what ``/_sim/push`` uses to make and deliver events
    (without one, pushes answer 501); ``control_token``: required on ``/_sim/`` requests when set;
    ``openapi``: the mock OpenAPI served on the same origin (``app.state.openapi``; none without it)."""
    control = Control(platform, pusher, control_token, openapi)
    routes = [
        Route("/callback/ws/endpoint", endpoint, methods=["POST"]),
        WebSocketRoute(WS_PATH, websocket_endpoint),
        *control_routes(),
    ]
    if openapi is not None:  # the bot's OpenAPI, and its control routes under /_sim/openapi
        routes += mounted_routes(openapi, control.authorised)
    app = Starlette(routes=routes, middleware=[Middleware(PlatformDoor)])
    app.state.control = control
    app.state.openapi = openapi
    return app


__all__ = ["create_app", "endpoint", "platform_of", "websocket_endpoint"]

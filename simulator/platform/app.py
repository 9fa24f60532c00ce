"""The platform's HTTP face: one Starlette app serving discovery, the WebSocket and the control API.

* ``POST /callback/ws/endpoint``: endpoint discovery (protocol §2.2);
* ``WS /ws/v2?...&ticket=...``: binary ``pbbp2`` frames (protocol §2.4); a refused handshake is a
  non-101 answer with the ``Handshake-*`` headers, sent through the ASGI ``websocket.http.response``
  extension (``WebSocket.send_denial_response``), which uvicorn's websockets implementations support;
* ``/_sim/...``: the control API (inject events, list connections, faults, clear); ``/_sim/push``
  answers with every attempt of every delivery, ``/_sim/push/batch`` with one verdict per event. When the platform is
  bound to a non-loopback address it requires ``Authorization: Bearer <token>``.

This layer only moves bytes and JSON between sockets and ``Platform``; the rules live there and in the
sans-IO ``Session``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from simulator import constants as C
from simulator.errors import ConfigError, SimulatorError, UsageError
from simulator.generation.overrides import parse_assignments
from simulator.platform.core import Platform
from simulator.platform.openapi.mount import mounted_routes, openapi_for
from simulator.platform.openapi.state import OpenApiState
from simulator.platform.session import PongConfig
from simulator.platform.state import WS_PATH, Rejection
from simulator.verdicts.model import Delivery, Summary

log = logging.getLogger("simulator.platform")

CONTROL_PREFIX = C.CONTROL_PREFIX


def push_result_json(deliveries: list[Delivery]) -> dict[str, Any]:
    return {"summary": Summary.of(deliveries).to_json(), "deliveries": [d.to_json() for d in deliveries]}


def verdict_of(d: Delivery) -> str:
    """``acked``, or how the delivery's last attempt ended (``timeout``, ``not_delivered``...)."""
    if d.acked:
        return "acked"
    last = d.last
    return "pending" if last is None else str(last.outcome)


def batch_result_json(deliveries: list[Delivery]) -> dict[str, Any]:
    """The ``/_sim/push/batch`` answer: counts and one verdict per event, in push order."""
    verdicts = [verdict_of(d) for d in deliveries]
    return {"count": len(verdicts), "acked": verdicts.count("acked"), "verdicts": verdicts}


def create_app(platform: Platform, *, control_token: str | None = None,
               openapi: OpenApiState | None = None) -> Starlette:
    """The ASGI app for ``platform``. ``control_token``: required on ``/_sim/`` requests when set. ``openapi``:
    the mock OpenAPI's state (``app.state.openapi``; by default one for ``platform``)."""

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        ws_base = str(request.base_url).rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        status, doc = platform.discover(body, ws_base)
        return JSONResponse(doc, status_code=status)

    async def websocket_endpoint(websocket: WebSocket) -> None:
        ticket_id = websocket.query_params.get("ticket")
        admitted = platform.admit(ticket_id)
        if isinstance(admitted, Rejection):
            await websocket.send_denial_response(
                Response(admitted.message, status_code=admitted.status, headers=admitted.headers()))
            return
        await websocket.accept()
        client = websocket.client

        async def send(data: bytes) -> None:
            await websocket.send_bytes(data)

        async def close(code: int, reason: str) -> None:
            with contextlib.suppress(RuntimeError):  # already closing
                await websocket.close(code, reason)

        conn = platform.register(ticket_id or "", admitted, peer=f"{client.host}:{client.port}" if client else "",
                                 send=send, close=close, now_platform=platform.clock.now())
        code: int | None = None
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    code = message.get("code")
                    break
                data = message.get("bytes")
                await platform.on_message(conn, data if data is not None else message.get("text") or "")
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            log.info("connection %s ended: %r", conn.conn_id, exc)
        finally:
            platform.unregister(conn, code)

    # -- control API --------------------------------------------------------------------------------
    def authorised(request: Request) -> bool:
        if control_token is None:
            return True
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), control_token.encode())

    def control(handler: Any) -> Any:
        async def wrapped(request: Request) -> Response:
            if not authorised(request):
                return JSONResponse({"error": "control API token missing or wrong"}, status_code=401)
            try:
                body: dict[str, Any] = {}
                if request.method == "POST":
                    raw = await request.body()
                    if raw.strip():
                        doc = json.loads(raw)
                        if not isinstance(doc, dict):
                            raise ConfigError("request body must be a JSON object")
                        body = doc
                result = await handler(body)
            except ValueError as exc:  # JSON errors
                return JSONResponse({"error": f"invalid JSON body: {exc}"}, status_code=400)
            except UsageError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            except SimulatorError as exc:
                return JSONResponse({"error": str(exc)}, status_code=500)
            return JSONResponse(result)
        return wrapped

    async def state(_: dict[str, Any]) -> Any:
        return platform.snapshot()

    async def connections(_: dict[str, Any]) -> Any:
        return [c.info() for c in platform.connections.values()]

    async def push(body: dict[str, Any]) -> Any:
        overrides = body.get("overrides") or {}
        if isinstance(overrides, list):
            overrides = parse_assignments(str(x) for x in overrides)
        if not isinstance(overrides, dict):
            raise ConfigError("overrides must be an object {path: value} or a list of 'path=value'")
        deliveries = await platform.push(
            str(body.get("event_type") or C.DEFAULT_EVENT_TYPE), _int(body, "count", 1),
            app_id=body.get("app_id"), seed=_opt_int(body, "seed"), overrides=overrides,
            concurrency=_int(body, "concurrency", 1),
            scenario=None if body.get("scenario") is None else str(body["scenario"]))
        return push_result_json(deliveries)

    async def push_batch(body: dict[str, Any]) -> Any:
        """Many events in one call, one compact verdict per event (what a load driver needs); the
        events go out together (``concurrency`` defaults to ``count``)."""
        count = _int(body, "count", 1)
        deliveries = await platform.push(
            str(body.get("event_type") or C.DEFAULT_EVENT_TYPE), count, app_id=body.get("app_id"),
            seed=_opt_int(body, "seed"), concurrency=_int(body, "concurrency", max(count, 1)))
        return batch_result_json(deliveries)

    async def fault_close(body: dict[str, Any]) -> Any:
        conn_id = body.get("conn_id")
        code, reason = _int(body, "code", 1000), str(body.get("reason", ""))
        if conn_id is None:
            return {"closed": await platform.reconnect_all(code, reason)}
        await platform.close_connection(str(conn_id), code, reason)
        return {"closed": 1}

    async def fault_reconnect(body: dict[str, Any]) -> Any:
        return {"closed": await platform.reconnect_all(_int(body, "code", 1012),
                                                       str(body.get("reason", "service restart")))}

    async def fault_pings(body: dict[str, Any]) -> Any:
        platform.set_answer_pings(bool(body.get("answer", False)), body.get("conn_id"))
        return platform.faults.as_dict()

    async def fault_acks(body: dict[str, Any]) -> Any:
        delay = body.get("delay_s", 0.0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)):
            raise ConfigError("delay_s must be a number")
        platform.set_ack_judgement(delay_s=float(delay), drop=bool(body.get("drop", False)))
        return platform.faults.as_dict()

    async def config(body: dict[str, Any]) -> Any:
        if body:
            platform.set_client_config(platform.config.replace(**body))
        return platform.config.to_json()

    async def clear(_: dict[str, Any]) -> Any:
        platform.clear()
        return {"cleared": True}

    routes = [
        Route("/callback/ws/endpoint", endpoint, methods=["POST"]),
        WebSocketRoute(WS_PATH, websocket_endpoint),
        Route(f"{CONTROL_PREFIX}/state", control(state), methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/connections", control(connections), methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/push", control(push), methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/push/batch", control(push_batch), methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/faults/close", control(fault_close), methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/faults/reconnect", control(fault_reconnect), methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/faults/pings", control(fault_pings), methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/faults/acks", control(fault_acks), methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/config", control(config), methods=["GET", "POST"]),
        Route(f"{CONTROL_PREFIX}/clear", control(clear), methods=["POST"]),
    ]
    # The bot's OpenAPI on the same origin, and its control routes under /_sim/openapi (simulator/platform/openapi).
    openapi = openapi or openapi_for(platform)
    routes += mounted_routes(openapi, authorised)
    app = Starlette(routes=routes)
    app.state.platform = platform
    app.state.openapi = openapi
    return app


def _int(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be an integer")
    return value


def _opt_int(body: dict[str, Any], key: str) -> int | None:
    return None if body.get(key) is None else _int(body, key, 0)


__all__ = ["CONTROL_PREFIX", "PongConfig", "batch_result_json", "create_app",
           "push_result_json", "verdict_of"]

"""The mock OpenAPI's part of the control API, under ``/_sim/openapi`` (the platform's control-API rules apply:
``authorised`` is the platform's check of the control token).

``GET|POST /_sim/openapi/faults``        list, or add a rule (``{"path", "method", "count", "code", "status",
                                         "msg", "latency_ms"}``, or ``{"rules": [...]}``)
``POST /_sim/openapi/faults/clear``      lift every rule
``GET /_sim/openapi/calls?limit=N``      exact counts and the newest N calls (default 100); ``&since=SEQ``:
                                         only calls after sequence number SEQ (each call has its ``seq``)
``POST /_sim/openapi/availability``      ``{"open_ids": [...] | null, "app_id"?}``: who the bot may message
``POST /_sim/openapi/card_token``        ``{"message_id", "app_id"?, "open_id"?}``: a ``c-`` callback token
``GET /_sim/openapi/state``              counts, faults, limits, availability
``POST /_sim/openapi/clear``             forget calls, faults, windows, uuids, reactions, uploads, availability
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.errors import ConfigError, SimulatorError, UsageError
from simulator.platform.openapi.faults import FaultRule
from simulator.platform.openapi.state import OpenApiState

PREFIX = "/_sim/openapi"
Authorised = Callable[[Request], bool]
Op = Callable[[OpenApiState, dict[str, Any], Request], Any]


def _guarded(state: OpenApiState, authorised: Authorised, op: Op) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
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
            return JSONResponse(op(state, body, request))
        except ValueError as exc:
            return JSONResponse({"error": f"invalid JSON body: {exc}"}, status_code=400)
        except (UsageError, TypeError) as exc:  # TypeError: a fault rule with an unknown type of value
            return JSONResponse({"error": str(exc)}, status_code=400)
        except SimulatorError as exc:
            return JSONResponse({"error": str(exc)}, status_code=500)
    return run


def _faults(state: OpenApiState, body: dict[str, Any], request: Request) -> Any:
    if request.method == "POST":
        rules = body.get("rules", [body])
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise ConfigError("rules must be a list of objects")
        for rule in [FaultRule.from_json(r) for r in rules]:
            state.faults.add(rule)
    return {"faults": state.faults.to_json()}


def _faults_clear(state: OpenApiState, body: dict[str, Any], request: Request) -> Any:
    state.faults.clear()
    return {"faults": []}


def _calls(state: OpenApiState, body: dict[str, Any], request: Request) -> Any:
    raw, since = request.query_params.get("limit", "100"), request.query_params.get("since", "0")
    if not raw.isdigit() or not since.isdigit():
        raise ConfigError("limit and since must be non-negative integers")
    calls = state.calls.since(int(since))
    newest = calls[len(calls) - int(raw):] if int(raw) else []
    return {"counts": state.calls.counts(), "calls": [c.to_json() for c in newest]}


def _app(state: OpenApiState, body: dict[str, Any]) -> str:
    app_id = body.get("app_id") or state.default_app
    if app_id not in state.apps:
        raise ConfigError(f"unknown app {app_id!r}")
    return str(app_id)


def _availability(state: OpenApiState, body: dict[str, Any], request: Request) -> Any:
    open_ids = body.get("open_ids")
    if open_ids is not None and (not isinstance(open_ids, list) or not all(isinstance(x, str) for x in open_ids)):
        raise ConfigError("open_ids must be a list of strings, or null for everyone")
    state.set_availability(open_ids, _app(state, body))
    return state.snapshot()["availability"]


def _card_token(state: OpenApiState, body: dict[str, Any], request: Request) -> Any:
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise ConfigError("message_id is required")
    return {"token": state.card_token(message_id, app_id=_app(state, body), open_id=str(body.get("open_id") or ""))}


def _state(state: OpenApiState, body: dict[str, Any], request: Request) -> Any:
    return state.snapshot()


def _clear(state: OpenApiState, body: dict[str, Any], request: Request) -> Any:
    state.clear()
    return {"cleared": True}


def control_routes(state: OpenApiState, authorised: Authorised) -> list[Route]:
    def route(path: str, op: Op, methods: list[str]) -> Route:
        return Route(PREFIX + path, _guarded(state, authorised, op), methods=methods)

    return [route("/faults", _faults, ["GET", "POST"]), route("/faults/clear", _faults_clear, ["POST"]),
            route("/calls", _calls, ["GET"]), route("/availability", _availability, ["POST"]),
            route("/card_token", _card_token, ["POST"]), route("/state", _state, ["GET"]),
            route("/clear", _clear, ["POST"])]

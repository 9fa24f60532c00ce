"""The control API under ``/_sim/``: inject events, list connections, switch faults, clear.

``/_sim/push`` answers with every attempt of every delivery and the bot's OpenAPI calls that answer each
event (``api_calls``; with ``wait_replies``: after waiting up to that many seconds for them); with
``webhook`` it delivers to a bot's URL instead of the long connection; with ``stream`` it answers NDJSON, a
line per delivery as it ends (``push_stream.py``), keeping nothing per event. ``/_sim/push/batch`` answers with one
verdict per event. When the platform is bound to a non-loopback address it requires ``Authorization: Bearer
<token>``. Each handler is a small module-level function ``(Control, body) -> JSON``; ``serve`` does what
they share: the token check, the JSON body, and errors as 400 (the caller's mistake) or 500.
"""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator import constants as C
from simulator.errors import ConfigError, SimulatorError, UsageError
from simulator.generation.overrides import Overrides, parse_assignments
from simulator.platform.core import Platform
from simulator.platform.openapi.related import attribute, await_answers
from simulator.platform.openapi.state import OpenApiState
from simulator.platform.push_stream import stream_response
from simulator.platform.pushing import MAX_STREAM, Pusher, PushRequest, WebhookTarget
from simulator.verdicts.model import Delivery, Summary
from simulator.wire.seal import canonical_json

CONTROL_PREFIX = "/_sim"
Body = dict[str, Any]
# Events per push request: each takes ~7 KB while in flight (serve measured 138 MB at 10,000, 272 MB at 20,000),
# so one request stays within ~70 MB. A scenario run is several events.
MAX_BATCH = 10_000
MAX_SCENARIO_RUNS = 1_000


@dataclass(frozen=True)
class Control:
    """What the control API acts on (kept in ``app.state.control``)."""

    platform: Platform
    pusher: Pusher | None = None
    token: str | None = None
    openapi: OpenApiState | None = None

    def authorised(self, request: Request) -> bool:
        if self.token is None:
            return True
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self.token.encode())

    def snapshot(self) -> dict[str, Any]:
        """The platform's state, and the pusher's deliveries when there is one."""
        snap = self.platform.snapshot()
        if self.pusher is not None:
            snap.update(self.pusher.snapshot())
        return snap

    def clear(self) -> None:
        """Forget counters and deliveries, lift every fault, restore the configured ClientConfig."""
        self.platform.clear()
        if self.pusher is not None:
            self.pusher.clear()


class FastJSONResponse(JSONResponse):
    """``JSONResponse``'s bytes through ``canonical_json`` (orjson): the same compact UTF-8 JSON, ~10x less
    CPU for the answer of a large push (every delivery with its attempts)."""

    def render(self, content: Any) -> bytes:
        return canonical_json(content)


def no_pusher() -> Response:
    return JSONResponse({"error": "this platform has no pusher: it cannot make events"}, status_code=501)


Handler = Callable[[Control, Body], Awaitable[Any]]


async def serve(handler: Handler, request: Request) -> Response:
    control: Control = request.app.state.control
    if not control.authorised(request):
        return JSONResponse({"error": "control API token missing or wrong"}, status_code=401)
    try:
        body = await _body(request)
    except ValueError as exc:  # not JSON, not UTF-8, not an object
        return JSONResponse({"error": f"invalid JSON body: {exc}"}, status_code=400)
    try:
        result = await handler(control, body)
    except UsageError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    except SimulatorError as exc:
        return JSONResponse({"error": str(exc)}, status_code=500)
    return result if isinstance(result, Response) else FastJSONResponse(result)


async def _body(request: Request) -> Body:
    if request.method != "POST":
        return {}
    raw = await request.body()
    if not raw.strip():
        return {}
    doc = json.loads(raw)
    if not isinstance(doc, dict):
        raise ValueError("request body must be a JSON object")
    return doc


# -- handlers ------------------------------------------------------------------------------------------
async def state(control: Control, _: Body) -> Any:
    return control.snapshot()


async def connections(control: Control, _: Body) -> Any:
    return [c.info() for c in control.platform.connections.values()]


async def push(control: Control, body: Body) -> Any:
    if control.pusher is None:
        return no_pusher()
    scenario = _opt_str(body, "scenario")
    stream = _flag(body, "stream")
    request = PushRequest(
        event_type=_event_type(body), app_id=_opt_str(body, "app_id"),
        count=_bounded(body, "count", 1, MAX_SCENARIO_RUNS if scenario else MAX_STREAM if stream else MAX_BATCH),
        seed=_opt_int(body, "seed"), overrides=_overrides(body),
        concurrency=_opt_bounded(body, "concurrency", MAX_BATCH),
        scenario=scenario, webhook=_webhook(body), params=_params(body))
    wait = _seconds(body, "wait_replies")
    if stream:  # NDJSON, a line per delivery as it ends (push_stream.py); bad input is refused here, as below
        calls = control.openapi.calls if control.openapi is not None else None
        return stream_response(control.pusher.start(request), calls, wait)
    since = control.openapi.calls.last_seq if control.openapi is not None else 0
    deliveries = await control.pusher.push(request)
    doc = push_result_json(deliveries)
    if control.openapi is not None:
        await _add_answers(control.openapi, doc, deliveries, since, wait)
    return doc


async def _add_answers(openapi: OpenApiState, doc: dict[str, Any], deliveries: list[Delivery], since: int,
                       wait: float) -> None:
    """The bot's calls about each event (after sequence number ``since``), under its verdict."""
    log = openapi.calls
    found = (await await_answers(log, deliveries, since=since, wait_s=wait) if wait > 0
             else attribute(deliveries, log.since(since)))
    for entry, calls in zip(doc["deliveries"], found, strict=True):
        entry["api_calls"] = [c.to_json() for c in calls]


async def push_batch(control: Control, body: Body) -> Any:
    """Many events in one call, one compact verdict per event (what a load driver needs); the events go
    out together (``concurrency`` defaults to ``count``)."""
    if control.pusher is None:
        return no_pusher()
    count = _bounded(body, "count", 1, MAX_BATCH)
    request = PushRequest(event_type=_event_type(body), count=count, app_id=_opt_str(body, "app_id"),
                          seed=_opt_int(body, "seed"), concurrency=_bounded(body, "concurrency", count, MAX_BATCH))
    return batch_result_json(await control.pusher.push(request))


async def fault_close(control: Control, body: Body) -> Any:
    conn_id = body.get("conn_id")
    code, reason = _int(body, "code", 1000), str(body.get("reason", ""))
    if conn_id is None:
        return {"closed": await control.platform.reconnect_all(code, reason)}
    await control.platform.close_connection(str(conn_id), code, reason)
    return {"closed": 1}


async def fault_reconnect(control: Control, body: Body) -> Any:
    code, reason = _int(body, "code", 1012), str(body.get("reason", "service restart"))
    return {"closed": await control.platform.reconnect_all(code, reason)}


async def fault_pings(control: Control, body: Body) -> Any:
    control.platform.answer_pings(bool(body.get("answer", False)), _opt_str(body, "conn_id"))
    return control.platform.faults.as_dict()


async def fault_acks(control: Control, body: Body) -> Any:
    delay = body.get("delay_s", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise ConfigError("delay_s must be a number")
    control.platform.ack_judgement(delay_s=float(delay), drop=bool(body.get("drop", False)))
    return control.platform.faults.as_dict()


async def config(control: Control, body: Body) -> Any:
    if body:
        control.platform.set_client_config(**body)
    return control.platform.config.to_json()


async def clear(control: Control, _: Body) -> Any:
    control.clear()
    return {"cleared": True}


ROUTES: tuple[tuple[str, Handler, tuple[str, ...]], ...] = (
    ("/state", state, ("GET",)),
    ("/connections", connections, ("GET",)),
    ("/push", push, ("POST",)),
    ("/push/batch", push_batch, ("POST",)),
    ("/faults/close", fault_close, ("POST",)),
    ("/faults/reconnect", fault_reconnect, ("POST",)),
    ("/faults/pings", fault_pings, ("POST",)),
    ("/faults/acks", fault_acks, ("POST",)),
    ("/config", config, ("GET", "POST")),
    ("/clear", clear, ("POST",)),
)


def control_routes() -> list[Route]:
    return [Route(CONTROL_PREFIX + path, functools.partial(serve, handler), methods=list(methods))
            for path, handler, methods in ROUTES]


# -- answers -------------------------------------------------------------------------------------------
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


# -- body fields ---------------------------------------------------------------------------------------
def _event_type(body: Body) -> str:
    return str(body.get("event_type") or C.DEFAULT_EVENT_TYPE)


def _overrides(body: Body) -> Overrides:
    overrides = body.get("overrides") or {}
    if isinstance(overrides, list):
        overrides = parse_assignments(str(x) for x in overrides)
    if not isinstance(overrides, dict):
        raise ConfigError("overrides must be an object {path: value} or a list of 'path=value'")
    return overrides


_WEBHOOK_KEYS = {"url", "encrypt_key", "verification_token", "timeout_s", "connect_timeout_s", "accept_2xx"}
MAX_WAIT_S = 600.0


def _webhook(body: Body) -> WebhookTarget | None:
    """``webhook``: a URL, or ``{"url", "encrypt_key"?, "verification_token"?, "timeout_s"?,
    "connect_timeout_s"?, "accept_2xx"?}``."""
    hook = body.get("webhook")
    if hook is None:
        return None
    if isinstance(hook, str):
        hook = {"url": hook}
    if not isinstance(hook, dict) or not isinstance(hook.get("url"), str) or set(hook) - _WEBHOOK_KEYS:
        raise ConfigError(f"webhook must be a URL or an object with url and any of "
                          f"{', '.join(sorted(_WEBHOOK_KEYS - {'url'}))}")
    return WebhookTarget(url=hook["url"], encrypt_key=_opt_str(hook, "encrypt_key"),
                         verification_token=_opt_str(hook, "verification_token"),
                         timeout_s=_seconds(hook, "timeout_s", C.WEBHOOK_TOTAL_BUDGET_S),
                         connect_timeout_s=_seconds(hook, "connect_timeout_s", C.WEBHOOK_CONNECT_BUDGET_S),
                         accept_2xx=bool(hook.get("accept_2xx", False)))


def _params(body: Body) -> dict[str, Any] | None:
    params = body.get("params")
    if params is not None and not isinstance(params, dict):
        raise ConfigError("params must be an object {name: value} (the generator's inputs)")
    return params or None


def _seconds(body: Body, key: str, default: float = 0.0) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_WAIT_S:
        raise ConfigError(f"{key} must be a number of seconds between 0 and {MAX_WAIT_S:g}")
    return float(value)


def _flag(body: Body, key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false")
    return value


def _int(body: Body, key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be an integer")
    return value


def _bounded(body: Body, key: str, default: int, high: int) -> int:
    value = _int(body, key, default)
    if not 1 <= value <= high:
        raise ConfigError(f"{key} must be between 1 and {high:,}, got {value}")
    return value


def _opt_bounded(body: Body, key: str, high: int) -> int | None:
    """An optional count in 1..``high`` (absent: ``None``, the pusher's choice)."""
    return None if body.get(key) is None else _bounded(body, key, 1, high)


def _opt_int(body: Body, key: str) -> int | None:
    return None if body.get(key) is None else _int(body, key, 0)


def _opt_str(body: Body, key: str) -> str | None:
    value = body.get(key)
    return None if value is None else str(value)

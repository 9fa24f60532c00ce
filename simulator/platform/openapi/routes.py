"""The mock OpenAPI's HTTP face: Starlette routes on the platform's own origin, so an official client needs only
its domain pointed there (docs/openapi.md#pointing-sdk-clients-at-a-local-base-url).

Every call goes the same way: a fault rule may delay or fail it, then the ``Authorization: Bearer t-...`` token
is checked (not on the token endpoint), then the app's permission scopes (``scopes``), then the per-app per-API
rate limit, then the API's rules (``messages``). Every answer carries ``X-Tt-Logid``; refusals are the platform's
error envelope (docs/openapi.md#error-envelope). Every call is recorded in ``state.calls``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.errors import ApiRefused
from simulator.platform.openapi import codes, media, messages, scopes
from simulator.platform.openapi.calls import ApiCall
from simulator.platform.openapi.forms import Form, parse_json, parse_multipart, read_body
from simulator.platform.openapi.state import OpenApiState

IM = "/open-apis/im/v1"
MAX_BODY = media.FILE_LIMIT + 1024 * 1024  # the largest upload plus its form overhead


@dataclass
class Call:
    """What a handler sees: the request, the calling app ("" on the token endpoint), the parsed body."""

    request: Request
    app_id: str
    body: Any

    @property
    def path(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.request.path_params.items()}

    def query(self, key: str) -> str:
        return self.request.query_params.get(key, "")


@dataclass
class Answer:
    doc: dict[str, Any] | None = None
    blob: media.Blob | None = None


Handler = Callable[[OpenApiState, Call], Answer]


def ok(data: dict[str, Any]) -> Answer:
    return Answer({"code": 0, "msg": "success", "data": data})


def _endpoint(state: OpenApiState, api: str, handler: Handler, *, auth: bool = True,
              form: bool = False) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        started = time.perf_counter()
        log_id = state.new_log_id()
        now = state.clock.now()
        headers = {"X-Tt-Logid": log_id}
        app_id, body, status, raw = "", None, 200, b""
        answer = Answer()
        try:
            raw = await read_body(request, MAX_BODY)
            body = parse_multipart(request.headers.get("content-type", ""), raw) if form else parse_json(raw)
            if form and body is None and raw:
                body = parse_json(raw)  # recorded as sent; the handler refuses it
            rule = state.faults.take(request.method, request.url.path)
            if rule is not None and rule.latency_ms > 0:
                await asyncio.sleep(rule.latency_ms / 1000)
            if rule is not None and rule.code is not None:
                raise ApiRefused(rule.code, rule.msg or codes.MESSAGES.get(rule.code, "injected fault"),
                                 status=rule.status, detail="injected fault")
            if auth:
                app_id = state.tokens.check(request.headers.get("authorization"), now)
                scopes.check(state.scopes, app_id, api)
                state.limiter.api(app_id, api, now)
            answer = handler(state, Call(request, app_id, body))
        except ApiRefused as exc:
            status = exc.status
            headers.update(exc.headers)
            answer = Answer(codes.error_body(exc, log_id))
        recorded: Any
        if answer.blob is not None:
            blob = answer.blob
            headers.update({"Content-Disposition": media.content_disposition(blob.name)})
            response: Response = Response(blob.data, status_code=status, headers=headers, media_type=blob.content_type)
            recorded = {"content_type": blob.content_type, "name": blob.name, "size": len(blob.data)}
        else:
            response = JSONResponse(answer.doc, status_code=status, headers=headers)
            recorded = answer.doc
        _canonical_case(response)
        code = int(answer.doc.get("code", 0)) if answer.doc is not None else 0
        state.calls.add(ApiCall(
            seq=0, time=now, method=request.method, path=request.url.path, api=api,
            query=dict(request.query_params), body=_for_log(body),
            status=status, code=code, answer=recorded, app_id=app_id, log_id=log_id,
            latency_ms=(time.perf_counter() - started) * 1000, size=len(raw) + len(response.body)))
        return response

    return run


_CANONICAL = {b"content-type": b"Content-Type", b"content-length": b"Content-Length",
              b"content-disposition": b"Content-Disposition", b"x-tt-logid": b"X-Tt-Logid"}
_JSON = b"application/json; charset=utf-8"


def _canonical_case(response: Response) -> None:
    """Header names as the platform writes them. The Python SDK looks ``Content-Type`` and ``X-Tt-Logid`` up
    case-sensitively (raw requests, resource downloads, ``get_log_id``); Starlette lowercases names, and only an
    HTTP implementation that keeps the application's casing (uvicorn's h11) puts these on the wire."""
    response.raw_headers = [(_CANONICAL.get(k, k), _JSON if v == b"application/json" else v)
                            for k, v in response.raw_headers]


def _for_log(body: Any) -> Any:
    """What the call log keeps of a body: forms summarised, the app secret of a token request masked."""
    if isinstance(body, Form):
        return body.summary()
    if isinstance(body, dict) and "app_secret" in body:
        return {**body, "app_secret": "***"}
    return body


# -- handlers -------------------------------------------------------------------------------------------------
def _token(state: OpenApiState, call: Call) -> Answer:
    body = call.body if isinstance(call.body, dict) else {}
    token, expire = state.tokens.issue(body.get("app_id"), body.get("app_secret"), state.clock.now())
    return Answer({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire})


def _send(state: OpenApiState, call: Call) -> Answer:
    return ok(messages.send(state, call.app_id, call.query("receive_id_type"), call.body))


def _reply(state: OpenApiState, call: Call) -> Answer:
    return ok(messages.reply(state, call.app_id, call.path["message_id"], call.body))


def _patch(state: OpenApiState, call: Call) -> Answer:
    return ok(messages.patch(state, call.app_id, call.path["message_id"], call.body))


def _get(state: OpenApiState, call: Call) -> Answer:
    return ok(messages.get(state, call.app_id, call.path["message_id"]))


def _react(state: OpenApiState, call: Call) -> Answer:
    return ok(messages.react(state, call.app_id, call.path["message_id"], call.body))


def _unreact(state: OpenApiState, call: Call) -> Answer:
    return ok(messages.unreact(state, call.app_id, call.path["message_id"], call.path["reaction_id"]))


def _resource(state: OpenApiState, call: Call) -> Answer:
    p = call.path
    return Answer(blob=messages.resource(state, call.app_id, p["message_id"], p["file_key"], call.query("type")))


def _form(call: Call) -> Form:
    if not isinstance(call.body, Form):
        raise codes.refuse(codes.UPLOAD_INVALID_PARAM, "expected multipart/form-data")
    return call.body


def _image(state: OpenApiState, call: Call) -> Answer:
    f = _form(call)
    key = media.upload_image(state.media, state.ids(call.app_id), f.text("image_type"), f.data("image"))
    return ok({"image_key": key})


def _file(state: OpenApiState, call: Call) -> Answer:
    f = _form(call)
    key = media.upload_file(state.media, state.ids(call.app_id), f.text("file_type"), f.text("file_name"),
                            f.data("file"))
    return ok({"file_key": key})


def _bot(state: OpenApiState, call: Call) -> Answer:
    return Answer({"code": 0, "msg": "ok", "bot": messages.bot_info(state, call.app_id)})


def _card_update(state: OpenApiState, call: Call) -> Answer:
    messages.card_update(state, call.app_id, call.body)
    return Answer({"code": 0, "msg": "success", "data": {}})


def _unknown(state: OpenApiState, call: Call) -> Answer:
    raise ApiRefused(404, "404 page not found", status=404,
                     detail=f"{call.request.method} {call.request.url.path} is not served by the mock")


API: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/open-apis/auth/v3/tenant_access_token/internal", _token),
    ("POST", f"{IM}/messages", _send),
    ("POST", f"{IM}/messages/:message_id/reply", _reply),
    ("PATCH", f"{IM}/messages/:message_id", _patch),
    ("GET", f"{IM}/messages/:message_id", _get),
    ("POST", f"{IM}/messages/:message_id/reactions", _react),
    ("DELETE", f"{IM}/messages/:message_id/reactions/:reaction_id", _unreact),
    ("GET", f"{IM}/messages/:message_id/resources/:file_key", _resource),
    ("POST", f"{IM}/images", _image),
    ("POST", f"{IM}/files", _file),
    ("GET", "/open-apis/bot/v3/info", _bot),
    ("POST", "/open-apis/interactive/v1/card/update", _card_update),
)
_NO_AUTH = {_token}
_FORMS = {_image, _file}


def _starlette_path(path: str) -> str:
    return "/".join("{" + part[1:] + "}" if part.startswith(":") else part for part in path.split("/"))


def openapi_routes(state: OpenApiState) -> list[Route]:
    """The OpenAPI's routes (mount them on the platform's app, before any catch-all)."""
    routes = [Route(_starlette_path(path), _endpoint(state, f"{method} {path}", handler, auth=handler not in _NO_AUTH,
                                                     form=handler in _FORMS), methods=[method])
              for method, path, handler in API]
    routes.append(Route("/open-apis/{rest:path}", _endpoint(state, "* /open-apis/*", _unknown, auth=False),
                        methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
    return routes

"""A webhook receiver built on the official lark-oapi SDK, served as an ASGI app.

``EventDispatcherHandler.do`` is synchronous and looks the three signature headers up case-sensitively
(docs/protocol.md#signature, docs/protocol.md#webhook-receiver-without-a-web-framework), so the adapter canonicalises
header names before building ``RawRequest``.
"""

from __future__ import annotations

from typing import Any

import lark_oapi as lark
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_CANON = {
    "x-lark-request-timestamp": "X-Lark-Request-Timestamp",
    "x-lark-request-nonce": "X-Lark-Request-Nonce",
    "x-lark-signature": "X-Lark-Signature",
}


def canonical_headers(headers: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers.items():
        out[_CANON.get(k.lower(), "-".join(p.capitalize() for p in k.split("-")))] = v
    return out


MAX_BODY = 1024 * 1024  # what the web server in front of the SDK allows: the SDK itself sets no limit


def lark_asgi(handler: lark.EventDispatcherHandler, *, max_body: int | None = MAX_BODY) -> Starlette:
    """``handler`` behind an ASGI endpoint that refuses bodies over ``max_body`` (413; ``None``: no limit)."""

    async def endpoint(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if max_body is not None and declared.isdigit() and int(declared) > max_body:
            return Response(b'{"msg":"body too large"}', status_code=413)
        raw = lark.RawRequest()
        raw.uri = request.url.path
        raw.body = await request.body()
        raw.headers = canonical_headers(request.headers)
        resp = await run_in_threadpool(handler.do, raw)
        return Response(resp.content, status_code=resp.status_code or 500, headers=dict(resp.headers))

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST"])])

"""A webhook receiver built on the official lark-oapi SDK behind the standard library's ``http.server``.

``EventDispatcherHandler.do`` looks the three signature headers up case-sensitively (docs/protocol.md#signature,
docs/protocol.md#webhook-receiver-without-a-web-framework), so the names are canonicalised exactly before building
``RawRequest``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CANONICAL = {
    "x-lark-request-timestamp": "X-Lark-Request-Timestamp",
    "x-lark-request-nonce": "X-Lark-Request-Nonce",
    "x-lark-signature": "X-Lark-Signature",
}


class SdkReceiver:
    """``with SdkReceiver(key, token) as url:`` -- received share_ended events are in ``events``.

    The SDK sets no body size limit (a web server in front of it does); ``max_body`` is that server's: a
    larger ``Content-Length`` is answered 413 without reading the body (``None``: no limit)."""

    def __init__(self, encrypt_key: str, verification_token: str, *, max_body: int | None = None) -> None:
        import lark_oapi as lark

        self.events: list[Any] = []
        self.handler = (lark.EventDispatcherHandler.builder(encrypt_key, verification_token, lark.LogLevel.CRITICAL)
                        .register_p2_vc_meeting_share_ended_v1(self.events.append)
                        .build())
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if max_body is not None and int(self.headers.get("Content-Length") or 0) > max_body:
                    self.send_response(413)
                    self.send_header("Content-Length", "0")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    return
                req = lark.RawRequest()
                req.uri = self.path
                req.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                req.headers = {CANONICAL.get(k.lower(), k): v for k, v in self.headers.items()}
                resp = outer.handler.do(req)
                self.send_response(resp.status_code or 500)
                for k, v in (resp.headers or {}).items():
                    self.send_header(k, v)
                content = resp.content or b""
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhook/event"

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

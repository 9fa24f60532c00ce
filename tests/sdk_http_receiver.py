"""Official lark-oapi SDK handlers behind the standard library's ``http.server`` (the SDK samples' webhook way).

``SdkHttpServer`` serves any object with the SDK handlers' ``do(RawRequest) -> RawResponse`` (an
``EventDispatcherHandler``, a ``CardActionHandler``, or a bot routing between them) on a free loopback port, one
thread per request. ``EventDispatcherHandler.do`` looks the three signature headers up case-sensitively
(docs/protocol.md#signature, docs/protocol.md#webhook-receiver-without-a-web-framework), so the names are
canonicalised before building ``RawRequest``. ``SdkReceiver`` is such a server for share_ended events.
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import lark_oapi as lark

from tests.lark_receiver import canonical_headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # http.server listens with a backlog of 5: a client opening more connections at once (``feishu-sim load``
    # opens 32 before its clock starts, then one per request, as HTTP/1.0 closes each) overflows it, the
    # kernel drops the SYNs and the client retries after 1 s, then 3 s: past ``load``'s 2 s connect budget
    # on a busy machine ("cannot reach ...: TimeoutError"). Web servers listen with hundreds (uvicorn 2048).
    request_queue_size = 1024


class SdkHttpServer:
    """``with SdkHttpServer(handler) as url:`` -- ``handler.do`` answers every POST (``url`` is the
    ``/webhook/event`` URL; ``base`` the server's root, any path is served).

    The SDK sets no body size limit (a web server in front of it does); ``max_body`` is that server's: a
    larger ``Content-Length`` is answered 413 without reading the body (``None``: no limit)."""

    def __init__(self, handler: Any, *, max_body: int | None = None) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if max_body is not None and length > max_body:
                    self.send_response(413)
                    self.send_header("Content-Length", "0")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    return
                req = lark.RawRequest()
                req.uri = self.path
                req.body = self.rfile.read(length)
                req.headers = canonical_headers(self.headers)
                resp = handler.do(req)
                content = resp.content or b""
                with contextlib.suppress(OSError):  # the caller gave up waiting (a slow answer): nobody listens
                    self.send_response(resp.status_code or 500)
                    for k, v in (resp.headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/webhook/event"

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class SdkReceiver(SdkHttpServer):
    """``with SdkReceiver(key, token) as url:`` -- received share_ended events are in ``events``."""

    def __init__(self, encrypt_key: str, verification_token: str, *, max_body: int | None = None) -> None:
        self.events: list[Any] = []
        self.handler = (lark.EventDispatcherHandler.builder(encrypt_key, verification_token, lark.LogLevel.CRITICAL)
                        .register_p2_vc_meeting_share_ended_v1(self.events.append)
                        .build())
        super().__init__(self.handler, max_body=max_body)

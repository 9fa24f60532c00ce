"""A minimal HTTP/1.1 client connection for the load generator: asyncio ``Protocol`` + ``httptools``.

httpx costs ~1 ms of CPU per request here (~1.1k req/s on two cores), which would make the generator the
bottleneck. A load generator needs far less: keep-alive POSTs, one request in flight per connection (no
pipelining, as the platform does not pipeline), and the status of each response. The request head is
pre-rendered per target; the response is parsed by ``httptools`` (the llhttp parser uvicorn uses), so
chunked bodies, keep-alive and ``Connection: close`` are handled by a well-kept parser, not by hand.
The connection reports to its owner through three callbacks and keeps no per-request history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit

import httptools

from simulator import constants as C
from simulator.errors import ConfigError


class Target:
    """Where to POST: host, port and the pre-rendered request line + fixed headers."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ConfigError(f"invalid load target {url!r}: expected http://host[:port]/path (no TLS)")
        try:
            port = parts.port or 80
        except ValueError:
            raise ConfigError(f"invalid URL {url!r}: bad port") from None
        self.url = url
        self.host = parts.hostname
        self.port = port
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host_header = parts.netloc.rsplit("@", 1)[-1]
        self.head = (f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: feishu-sim-load\r\n"
                     f"Content-Type: {C.CONTENT_TYPE_JSON}\r\n").encode("latin-1")

    def request(self, body: bytes, headers: tuple[tuple[str, str], ...]) -> bytes:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
        return b"".join((self.head, b"Content-Length: %d\r\n" % len(body), extra.encode("latin-1"), b"\r\n", body))


OnResponse = Callable[["HttpConnection", int], None]
OnFailure = Callable[["HttpConnection", str, str], None]


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection. ``send`` writes a whole request; exactly one of ``on_response`` or
    ``on_failure`` follows for it (or the owner times it out and calls ``abort``)."""

    def __init__(self, on_response: OnResponse, on_failure: OnFailure, on_closed: Callable[[HttpConnection], None]
                 ) -> None:
        self.on_response = on_response
        self.on_failure = on_failure
        self.on_closed = on_closed
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.busy = False
        self.keep_alive = True
        self.body_excerpt = b""
        self.body_limit = 200  # how much of each response body to keep (raised when answers are judged by body)
        self._closed = False
        # Set by the owner: which request is in flight and when it was meant to be sent.
        self.intended = 0.0
        self.sent_at = 0.0
        self.index = -1

    # -- asyncio.Protocol ----------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail("bad_response", f"unparsable HTTP response: {exc}")
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.transport = None
        if self.busy:
            self._fail("connection_lost", str(exc) if exc else "connection closed by the receiver")
        self.on_closed(self)

    # -- httptools callbacks ---------------------------------------------------------------------------------
    def on_body(self, body: bytes) -> None:
        if len(self.body_excerpt) < self.body_limit:
            self.body_excerpt += body[: self.body_limit - len(self.body_excerpt)]

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        self.keep_alive = bool(self.parser.should_keep_alive())
        if self.busy:
            self.busy = False
            self.on_response(self, status)
        self.body_excerpt = b""
        if not self.keep_alive:
            self.abort()

    # -- the owner's side ------------------------------------------------------------------------------------
    @property
    def open(self) -> bool:
        return self.transport is not None and not self._closed

    def send(self, request: bytes) -> None:
        self.busy = True
        if self.transport is None:
            self._fail("connection_lost", "connection closed before the request was written")
            return
        self.transport.write(request)

    def _fail(self, kind: str, detail: str) -> None:
        if self.busy:
            self.busy = False
            self.on_failure(self, kind, detail)

    def abort(self) -> None:
        self.busy = False
        if self.transport is not None:
            self.transport.abort()


async def connect(target: Target, protocol_factory: Callable[[], HttpConnection], timeout: float
                  ) -> HttpConnection:
    loop = asyncio.get_running_loop()
    _, proto = await asyncio.wait_for(loop.create_connection(protocol_factory, target.host, target.port), timeout)
    return proto


def describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, asyncio.TimeoutError):
        return "connect timed out"
    return str(exc) or type(exc).__name__

"""Webhook delivery to a live ``http(s)://`` URL over the load path's HTTP client, not httpx's pool.

httpx's async pool costs ~0.3 ms of CPU per request on its own and gets slower as concurrency grows
(encode/httpx#3215): ``push --concurrency 32`` used to be slower than ``--concurrency 1``. This channel
sends through ``simulator.load.http.HttpConnection`` (asyncio ``Protocol`` + ``httptools``, the client
``feishu-sim load`` uses) with a small keep-alive pool, and hands the answer to ``WebhookChannel.send``,
which judges it exactly as before. What it must do like the httpx channel, and a test compares the two
against the same misbehaving receivers:

* the budget: at most ``connect_s`` to connect and ``total_s`` from the start for the whole answer,
  including a wait for a free connection (at most ``MAX_CONNECTIONS`` open, ``MAX_IDLE`` kept idle);
* failures raise the exception httpx raises in the same case, with the same text where it is not
  httpx's parser talking (connect refused or unresolvable, disconnect without a response or mid-body,
  reset), so verdicts and details do not change;
* response headers as ``dict(httpx.Headers)`` gives them; bodies kept up to ``BODY_KEEP`` bytes (all the
  excerpts can show; whole when a callback's answer is judged), as sent (``Accept-Encoding: identity``, no
  decoding, as ``read_capped`` reads them);
* a bounded read: at most ``RESPONSE_READ_CAP`` bytes of a body (``MAX_ANSWER_BYTES`` + 1 for a callback's
  answer), then the answer is judged and the connection dropped, so an endless body costs a bounded read.

TLS uses httpx's own default context (``httpx.create_ssl_context``: certifi's roots, HTTP/1.1 ALPN).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import socket
import ssl
from urllib.parse import urlsplit

import httpx

from simulator.config import Budget
from simulator.delivery.webhook import (
    BODY_KEEP,
    MAX_CONNECTIONS,
    MAX_IDLE,
    RESPONSE_READ_CAP,
    Answer,
    WebhookChannel,
)
from simulator.load.http import HttpConnection
from simulator.verdicts.answers import MAX_ANSWER_BYTES
from simulator.wire.seal import Sealer

USER_AGENT = "feishu-sim"
WHOLE_CAP = MAX_ANSWER_BYTES + 1  # read when a whole answer is judged (callbacks): one byte over says "too big"
_NO_RESPONSE = "Server disconnected without sending a response."
_INCOMPLETE = "peer closed connection without sending complete message body"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """``dict(httpx.Headers(raw))``: lower-case names, repeated names joined with ``", "``, decoded as
    ASCII, else UTF-8, else Latin-1 (httpx's choice, made for all headers at once)."""
    try:  # the common case: ASCII, no name twice
        out = {k.decode("ascii").lower(): v.decode("ascii") for k, v in raw}
        if len(out) == len(raw):
            return out
    except UnicodeDecodeError:
        pass
    for encoding in ("ascii", "utf-8", "iso-8859-1"):
        try:
            pairs = [(k.decode(encoding).lower(), v.decode(encoding)) for k, v in raw]
        except UnicodeDecodeError:
            continue
        break
    out = {}
    for k, v in pairs:
        out[k] = f"{out[k]}, {v}" if k in out else v
    return out


class _Connection(HttpConnection):
    """``HttpConnection`` that also keeps the response headers, knows how the body is delimited, and
    answers the request in flight through a future."""

    def __init__(self, pool: LivePool) -> None:
        super().__init__(pool.answered, pool.failed, pool.closed)
        self.body_limit = BODY_KEEP
        self.read_cap = RESPONSE_READ_CAP
        self.waiter: asyncio.Future[Answer] | None = None
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.got_data = False
        self.length: int | None = None
        self.chunked = False
        self.received = 0
        self.lost: BaseException | None = None

    def start(self, request: bytes, waiter: asyncio.Future[Answer], *, whole_body: bool = False) -> None:
        self.waiter = waiter
        self.read_cap = WHOLE_CAP if whole_body else RESPONSE_READ_CAP
        self.body_limit = WHOLE_CAP if whole_body else BODY_KEEP
        self.raw_headers = []
        self.head_done = self.got_data = self.chunked = False
        self.length = None
        self.received = 0
        self.body_excerpt = b""
        self.send(request)

    # -- httptools callbacks (besides the base class's) ----------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True
        for name, value in self.raw_headers:
            lower = name.lower()
            if lower == b"content-length" and value.strip().isdigit():
                self.length = int(value)
            elif lower == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunked = True

    def on_body(self, body: bytes) -> None:
        self.received += len(body)
        super().on_body(body)
        if self.received >= self.read_cap and self.busy:
            # Read as much as a verdict may need: answer now and drop the connection (its rest is never read).
            self.busy = False
            self.keep_alive = False
            self.on_response(self, self.parser.get_status_code())
            self.abort()

    # -- asyncio.Protocol ------------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self.got_data = True
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc
        if self.busy and exc is None and self.head_done and self.length is None and not self.chunked:
            # The body ran to the end of the connection (no Content-Length, not chunked): complete now.
            self.busy = False
            self.keep_alive = False
            self.on_response(self, self.parser.get_status_code())
        super().connection_lost(exc)

    def failure(self, kind: str, detail: str) -> httpx.HTTPError:
        """The exception httpx raises for what went wrong with the request in flight."""
        if kind == "bad_response":
            return httpx.RemoteProtocolError(detail)
        if self.lost is not None:
            return httpx.ReadError("")  # a reset: httpx's ReadError carries anyio's empty message
        if not self.got_data:
            return httpx.RemoteProtocolError(_NO_RESPONSE)
        if self.head_done and self.length is not None:
            return httpx.RemoteProtocolError(f"{_INCOMPLETE} (received {self.received} bytes, expected {self.length})")
        if self.head_done and self.chunked:
            return httpx.RemoteProtocolError(f"{_INCOMPLETE} (incomplete chunked read)")
        return httpx.RemoteProtocolError(_NO_RESPONSE)


class LivePool:
    """Keep-alive connections to one origin, for one event loop: at most ``max_connections`` open."""

    def __init__(self, url: str, connect_s: float, *, max_connections: int = MAX_CONNECTIONS,
                 max_idle: int = MAX_IDLE) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.tls else 80)
        self.connect_s = connect_s
        self.max_connections = max_connections
        self.max_idle = max_idle
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        self.head = f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n".encode("latin-1")
        self.identity = b"Accept-Encoding: identity\r\n"  # bodies are read as sent (see read_capped)
        self.idle: list[_Connection] = []
        self.count = 0  # open or opening
        self.queue: collections.deque[asyncio.Future[_Connection | None]] = collections.deque()
        self.loop: asyncio.AbstractEventLoop | None = None

    def render(self, body: bytes, headers: dict[str, str]) -> bytes:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if extra.count("\n") != len(headers) or extra.count("\r") != len(headers):
            raise httpx.LocalProtocolError("Illegal header value")  # no line breaks inside a header
        identity = b"" if any(k.lower() == "accept-encoding" for k in headers) else self.identity
        return b"".join((self.head, identity, b"Content-Length: %d\r\n" % len(body), extra.encode("latin-1"), b"\r\n",
                         body))

    # -- connection callbacks ----------------------------------------------------------------------------------
    def answered(self, conn: HttpConnection, status: int) -> None:
        assert isinstance(conn, _Connection)
        waiter, conn.waiter = conn.waiter, None
        if waiter is not None and not waiter.done():
            headers = header_dict(conn.raw_headers)
            body = conn.body_excerpt
            waiter.set_result((status, headers, body))
        if conn.keep_alive:
            self.release(conn)

    def failed(self, conn: HttpConnection, kind: str, detail: str) -> None:
        assert isinstance(conn, _Connection)
        waiter, conn.waiter = conn.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(conn.failure(kind, detail))

    def closed(self, conn: HttpConnection) -> None:
        assert isinstance(conn, _Connection)
        if conn in self.idle:
            self.idle.remove(conn)
        self.count -= 1
        self._wake(None)  # a slot is free: a queued request may connect

    # -- taking and giving back --------------------------------------------------------------------------------
    def release(self, conn: _Connection) -> None:
        if not conn.open:
            return
        if self._wake(conn):
            return
        if len(self.idle) < self.max_idle:
            self.idle.append(conn)
        elif conn.transport is not None:
            conn.transport.close()

    def _wake(self, conn: _Connection | None) -> bool:
        while self.queue:
            fut = self.queue.popleft()
            if not fut.done():
                fut.set_result(conn)
                return True
        return False

    async def acquire(self, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # a new loop (asyncio.run again): the old connections belong to the old one
            self.loop, self.idle, self.count, self.queue = loop, [], 0, collections.deque()
        while True:
            while self.idle:
                conn = self.idle.pop()
                if conn.open:
                    return conn
            if self.count < self.max_connections:
                return await self._connect(loop, deadline)
            fut: asyncio.Future[_Connection | None] = loop.create_future()
            self.queue.append(fut)
            try:
                conn_or_slot = await asyncio.wait_for(fut, max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise httpx.PoolTimeout("no connection free within the budget") from None
            if conn_or_slot is not None and conn_or_slot.open:
                return conn_or_slot

    async def _connect(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        self.count += 1
        remaining = deadline - loop.time()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(functools.partial(_Connection, self), self.host, self.port,
                                       ssl=_tls_context() if self.tls else None),
                min(self.connect_s, max(0.0, remaining)))
        except asyncio.TimeoutError:
            self.count -= 1
            if self.connect_s <= remaining:
                raise httpx.ConnectTimeout("") from None
            raise httpx.PoolTimeout("") from None
        except socket.gaierror as exc:
            self.count -= 1
            raise httpx.ConnectError(str(exc)) from None
        except ssl.SSLError as exc:
            self.count -= 1
            raise httpx.ConnectError(str(exc)) from None
        except OSError:
            self.count -= 1
            raise httpx.ConnectError("All connection attempts failed") from None
        except BaseException:
            self.count -= 1
            raise
        return proto

    def close(self) -> None:
        idle, self.idle = self.idle, []
        for conn in idle:
            if conn.transport is not None:
                conn.transport.close()


def _expire(waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout(""))


class LiveWebhookChannel(WebhookChannel):
    """A ``WebhookChannel`` to a live URL through ``LivePool`` (the httpx client is made only if asked for)."""

    makes_httpx_client = False

    def __init__(self, url: str, sealer: Sealer, *, budget: Budget | None = None, accept_2xx: bool = False) -> None:
        super().__init__(url, sealer, budget=budget, accept_2xx=accept_2xx)
        self.pool = LivePool(self.url, self.budget.connect_s)

    async def exchange(self, body: bytes, headers: dict[str, str], *, whole_body: bool = False) -> Answer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget.total_s
        request = self.pool.render(body, headers)
        conn = await self.pool.acquire(deadline)
        waiter: asyncio.Future[Answer] = loop.create_future()
        conn.start(request, waiter, whole_body=whole_body)
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            if conn.waiter is waiter:  # still in flight (timed out or cancelled): that connection is done for
                conn.waiter = None
                conn.abort()

    async def aclose(self) -> None:
        self.pool.close()
        await super().aclose()

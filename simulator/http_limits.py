"""Bounds on every HTTP door we serve: header time and size, open connections, body size and time.

uvicorn bounds the idle time between requests (``timeout_keep_alive``) but not the time a client may take
to send its request headers, the size of those headers (httptools buffers them) or the number of open
connections (``limit_concurrency`` answers 503 to *every* new request once slow clients hold the slots).
``guarded_http`` adds those to uvicorn's httptools protocol, the one uvicorn picks by default:

* a request's headers must be complete within ``header_timeout_s`` of the connection opening (or of the
  previous response): a client that sends them a byte at a time (slowloris) is closed;
* at most ``max_header_bytes`` of a request head are buffered (431 and close);
* at most ``max_connections`` connections are open (default: what the open-files limit leaves room for); a
  new connection over the cap closes the one that has waited longest for its headers, so a flood of slow
  clients cannot lock out clients that send a whole request at once; when none waits, the new one is closed.
  The event loop accepts up to ``backlog`` sockets per wake-up before their protocols see them, so the cap
  keeps room for a few such bursts below the open-files limit (``accept_backlog``): the process never runs
  out of descriptors, which would stall every accept for a second.

Bodies are the app's to read: ``read_body`` reads a request body while counting, refusing it as soon as it
exceeds ``max_bytes`` (413, before reading the rest; at once from ``Content-Length``) or takes longer than
``timeout_s`` (408). After a 413 for a declared length of at most ``LINGER_BYTES`` the connection stays
open and uvicorn discards the rest of the body as it arrives (within the header deadline), so a client that
sends its whole body before reading the answer (most do) gets the 413 rather than a reset; a larger or
undeclared body, or a 408, closes the connection after the answer.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from simulator import constants as C

DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_BODY_TIMEOUT_S = 10.0
LINGER_BYTES = 8 * 1024 * 1024  # the most of a refused body discarded to keep its connection (and answer)
MAX_CONNECTIONS = 4096
FD_RESERVE = 64  # descriptors kept free for everything else the process opens (files, outgoing sockets)


@dataclass(frozen=True)
class DoorLimits:
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_connections: int | None = None  # None: min(MAX_CONNECTIONS, open-files limit - FD_RESERVE)


ACCEPT_BURSTS = 3  # sockets accepted in one wake-up reach connection_made two loop iterations later


def accept_backlog() -> int:
    """The listen backlog, which asyncio also uses as the number of sockets accepted per wake-up: 1/16 of
    the open-files limit, between 64 and 2048 (1,024 files: 64)."""
    soft = _open_files_limit()
    return 2048 if soft is None else max(64, min(2048, soft // 16))


def connection_cap(requested: int | None = None) -> int:
    """``requested``, or ``MAX_CONNECTIONS``; never more than the open-files limit leaves room for, after a
    reserve and ``ACCEPT_BURSTS`` accept bursts (1,024 files: 768 connections)."""
    soft = _open_files_limit()
    room = MAX_CONNECTIONS if soft is None else max(16, soft - FD_RESERVE - ACCEPT_BURSTS * accept_backlog())
    return min(requested, room) if requested is not None else min(MAX_CONNECTIONS, room)


def _open_files_limit() -> int | None:
    if sys.platform == "win32":
        return None
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else int(soft)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the header deadline, header size cap and connection cap."""

    limits: ClassVar[DoorLimits] = DoorLimits()
    cap: ClassVar[int] = MAX_CONNECTIONS
    # The connections waiting for request headers, longest-waiting first (one registry per server: see
    # guarded_http); a connection is in it exactly while its header timer is armed.
    waiting: ClassVar[dict[GuardedHttpToolsProtocol, None]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._in_head = False  # the parser is inside a request head (not the body of one already answered)

    # -- the header deadline -----------------------------------------------------------------------
    def _await_headers(self) -> None:
        self._cancel_header_timer()
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._headers_overdue)
        self.waiting[self] = None

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
            self.waiting.pop(self, None)

    def _headers_overdue(self) -> None:
        self._header_timer = None
        self.waiting.pop(self, None)
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: int, reason: bytes) -> None:
        self._cancel_header_timer()
        self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                             b"connection: close\r\n\r\n%s" % (status, reason, len(reason), reason))
        self.transport.close()

    # -- protocol callbacks --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.cap:
            # Close the connection that has waited longest for its headers (this one if none waits).
            victim = next(iter(self.waiting), self)
            victim._cancel_header_timer()
            victim.transport.close()
            if victim is self:
                return
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and self._header_timer is not None and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(431, b"Request Header Fields Too Large")

    def on_message_begin(self) -> None:
        self._in_head = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)


def guarded_http(limits: DoorLimits | None = None) -> type[GuardedHttpToolsProtocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` with these limits (one class, and one registry of
    waiting connections, per server)."""
    lim = limits or DoorLimits()
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,),
                {"limits": lim, "cap": connection_cap(lim.max_connections), "waiting": {}})


# -- bodies ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """A request body refused before it was read whole: ``status`` 413 (too large), 408 (too slow), 400
    (the client went away); ``close``: close the connection after the answer (the rest of the body is not
    worth discarding)."""

    status: int
    msg: str
    close: bool = True


async def read_body(request: Request, *, max_bytes: int, timeout_s: float = DEFAULT_BODY_TIMEOUT_S) -> bytes | Refusal:
    """The body, read while counting; a ``Refusal`` once it exceeds ``max_bytes`` or ``timeout_s``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        return Refusal(413, f"body larger than {max_bytes} bytes (Content-Length {declared})",
                       close=int(declared) > LINGER_BYTES)
    buf = bytearray()

    async def pull() -> bool:
        async for chunk in request.stream():
            buf.extend(chunk)
            if len(buf) > max_bytes:
                return False
        return True

    try:
        whole = await asyncio.wait_for(pull(), timeout_s)
    except asyncio.TimeoutError:
        return Refusal(408, f"body not received within {timeout_s:g} s")
    except ClientDisconnect:
        return Refusal(400, "client disconnected before the body was complete")
    return bytes(buf) if whole else Refusal(413, f"body larger than {max_bytes} bytes")


def refusal(status: int, msg: str, *, close: bool = False) -> JSONResponse:
    """A JSON ``{"msg": ...}`` refusal; ``close``: with ``Connection: close`` (uvicorn closes after it)."""
    headers = {"Connection": "close"} if close else None
    return JSONResponse({"msg": msg}, status_code=status, headers=headers, media_type=C.CONTENT_TYPE_JSON)


__all__ = ["LINGER_BYTES", "DoorLimits", "Refusal", "accept_backlog", "connection_cap", "guarded_http",
           "read_body", "refusal"]

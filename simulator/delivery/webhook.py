"""Webhook delivery: HTTP POST through httpx, judged against the platform's budget
(docs/semantics.md#required-response).

The channel seals every attempt afresh (new timestamp, nonce, IV, signature, request id) and applies a
2 s connect / 3 s total budget. Any ``httpx.AsyncClient`` can be injected, so the same code delivers to
a live URL, or in process to an ASGI app through ``httpx.ASGITransport``.

Of an answer it reads the status, the headers and at most ``RESPONSE_READ_CAP`` bytes of the body
(streamed; then the connection is dropped): a verdict needs no more, and a receiver answering an endless
body costs a bounded read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from simulator.config import Budget
from simulator.errors import ConfigError
from simulator.generation import catalog
from simulator.verdicts.ack import judge_status
from simulator.verdicts.answers import MAX_ANSWER_BYTES, AnswerKind
from simulator.verdicts.callbacks import judge_callback
from simulator.verdicts.model import Attempt, Channel, Outcome
from simulator.wire.envelope import event_id_of, event_type_of
from simulator.wire.seal import Sealer

BODY_EXCERPT = 300
RESPONSE_EXCERPT = 2000  # kept in Attempt.response_body
RESPONSE_READ_CAP = 64 * 1024  # the most of a response body ever read (an ack or challenge echo is < 1 KiB)
# A cut body gives the same excerpts as the whole one when at least this many bytes are kept: a character
# takes at most 4 bytes in UTF-8, so 4 x 2000 + a few bytes decode to more than 2000 characters.
BODY_KEEP = 4 * RESPONSE_EXCERPT + 8
MAX_CONNECTIONS = 256  # open connections per channel; more requests wait for one (within their budget)
MAX_IDLE = 64  # idle keep-alive connections kept per channel

# What one POST brought back: status, response headers (``dict(httpx.Headers)``'s form) and body.
Answer = tuple[int, dict[str, str], bytes]

_Channel = TypeVar("_Channel", bound="WebhookChannel")


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host and a valid port; ``ConfigError`` (one line) if not."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:  # e.g. an unclosed or invalid [IPv6] literal
        raise ConfigError(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or not host:
        raise ConfigError(f"invalid URL {url!r}: expected http(s)://host[:port]/path")
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError(f"invalid URL {url!r}: bad port") from None
    if parts.netloc.rsplit("@", 1)[-1].startswith("["):
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ConfigError(f"invalid URL {url!r}: {host!r} is not an IPv6 address") from None
    try:
        host.encode("idna")
    except UnicodeError:
        raise ConfigError(f"invalid URL {url!r}: {host!r} is not a valid host name") from None
    return url


async def read_capped(resp: httpx.Response, cap: int = RESPONSE_READ_CAP) -> bytes:
    """At most ``cap`` bytes of a streamed response's body, as sent (no content decoding: a compressed body
    could inflate a thousandfold); stops reading there."""
    buf = bytearray()
    try:
        async for chunk in resp.aiter_raw():
            buf += chunk[: cap - len(buf)]
            if len(buf) >= cap:
                break
    except httpx.StreamConsumed:  # a response made from bytes (in-process transports): already in memory
        return resp.content[:cap]
    return bytes(buf)


def excerpt(data: bytes | str, limit: int = BODY_EXCERPT) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text if len(text) <= limit else text[:limit] + "..."


class WebhookChannel:
    """Delivers to ``url`` over HTTP, one attempt per call. An async context manager: ``async with``
    closes the HTTP client it made (an injected ``client`` stays its owner's)."""

    channel = Channel.WEBHOOK
    late_answer_hint = ""  # appended to the detail of an answer judged late (subclasses know why)
    makes_httpx_client = True  # False in subclasses that send otherwise (the httpx client is then made on demand)

    def __init__(self, url: str, sealer: Sealer, *, budget: Budget | None = None, accept_2xx: bool = False,
                 client: httpx.AsyncClient | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = check_url(url)
        self.sealer = sealer
        self.budget = budget or Budget()
        self.accept_2xx = accept_2xx
        self._own_client = client is None
        self._client = client
        self._transport = transport
        if self.makes_httpx_client:
            _ = self.client  # made now, not inside the first attempt's latency

    @property
    def client(self) -> httpx.AsyncClient:
        """The httpx client the requests go through, made on first use unless one was injected."""
        if self._client is None:
            transport = self._transport
            if transport is None:
                # Without TCP_NODELAY the body (a second small write) waits ~40 ms for a delayed ACK.
                transport = httpx.AsyncHTTPTransport(
                    socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                    limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_IDLE),
                )
            self._client = httpx.AsyncClient(
                transport=transport,
                timeout=httpx.Timeout(self.budget.total_s, connect=self.budget.connect_s),
                limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_IDLE),
                trust_env=False,
            )
        return self._client

    async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        sealed = self.sealer.seal(envelope, timestamp=int(sent_at))
        att = Attempt(
            event_id=event_id_of(envelope), event_type=event_type_of(envelope), attempt=attempt_no,
            channel=self.channel, outcome=Outcome.CONNECTION_ERROR, sent_at=sent_at, latency_ms=0.0,
            target=self.url, request_headers=sealed.headers,  # the sealed request is this attempt's alone
            request_body=sealed.body.decode("utf-8", "replace"),
        )
        spec = catalog.find(att.event_type)
        return await self.send(sealed.body, sealed.headers, att, answer=None if spec is None else spec.callback)

    async def send(self, body: bytes, headers: dict[str, str], att: Attempt, *,
                   answer: AnswerKind | None = None) -> Attempt:
        """POST ``body`` and fill ``att`` with the verdict (also used for hand-made requests: audit). With
        ``answer`` (a callback), a 200 answer's body is judged as that kind of answer too."""
        t0 = time.perf_counter()
        try:
            status, resp_headers, content = await self.exchange(body, headers, whole_body=answer is not None)
        except (asyncio.TimeoutError, httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout):
            att.outcome = Outcome.TIMEOUT
            att.detail = f"no complete response within {self.budget.total_s:g} s"
        except httpx.ConnectTimeout:
            att.outcome = Outcome.TIMEOUT
            att.detail = f"TCP connect not established within {self.budget.connect_s:g} s"
        except httpx.HTTPError as exc:
            att.outcome = Outcome.CONNECTION_ERROR
            att.detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except OSError as exc:  # raised by some transports directly
            att.outcome = Outcome.CONNECTION_ERROR
            att.detail = f"{type(exc).__name__}: {exc}"
        else:
            att.status = status
            att.response_headers = resp_headers
            att.response_body = excerpt(content, RESPONSE_EXCERPT)
            att.outcome = judge_status(status, accept_2xx=self.accept_2xx)
            if att.outcome is Outcome.REJECTED:
                att.detail = f"HTTP {status}: {excerpt(content)}"
            elif answer is not None:
                judge_callback(att, answer, content)
        att.latency_ms = (time.perf_counter() - t0) * 1000.0
        if att.outcome is not Outcome.TIMEOUT and att.latency_ms > self.budget.total_s * 1000.0:
            # An answer can arrive after the budget when the receiver blocks the event loop we share with
            # it (in-process apps) or the loop is starved: the platform would have given up already.
            att.outcome = Outcome.TIMEOUT
            att.detail = (f"answered HTTP {att.status} after {att.latency_ms:.0f} ms, over the "
                          f"{self.budget.total_s:g} s budget{self.late_answer_hint}")
        return att

    async def exchange(self, body: bytes, headers: dict[str, str], *, whole_body: bool = False) -> Answer:
        """One POST within the total budget: ``(status, response headers, body)``. Failures raise httpx's
        exceptions (or ``asyncio.TimeoutError`` at the budget), which ``send`` classifies. The body is read up
        to ``RESPONSE_READ_CAP`` bytes (all a verdict needs), or whole up to the answer limit when
        ``whole_body`` (a callback's answer is judged in full)."""
        cap = MAX_ANSWER_BYTES + 1 if whole_body else RESPONSE_READ_CAP
        resp, content = await asyncio.wait_for(self._post(body, headers, cap), timeout=self.budget.total_s)
        return resp.status_code, dict(resp.headers), content

    async def _post(self, body: bytes, headers: dict[str, str], cap: int) -> tuple[httpx.Response, bytes]:
        if not any(k.lower() == "accept-encoding" for k in headers):
            headers = {**headers, "Accept-Encoding": "identity"}  # the body is read raw (read_capped)
        async with self.client.stream("POST", self.url, content=body, headers=headers) as resp:
            return resp, await read_capped(resp, cap)

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()

    async def __aenter__(self: _Channel) -> _Channel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

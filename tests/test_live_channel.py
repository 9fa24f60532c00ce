"""The live-URL channel (load path's HTTP client) judges every answer exactly like the httpx channel.

Each receiver below is served on loopback and delivered to twice, through ``WebhookChannel`` (httpx) and
``LiveWebhookChannel``; outcome, status, detail, response headers and body must be the same.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ssl
import tempfile
from pathlib import Path

import pytest

from simulator.config import Budget, RetryPolicy, SimConfig
from simulator.delivery.inprocess import channel_for
from simulator.delivery.live import LiveWebhookChannel, header_dict
from simulator.delivery.webhook import WebhookChannel
from simulator.engine.core import Simulator
from simulator.verdicts.model import Attempt, Outcome
from tests.fakes import ET
from tests.test_misbehaving import (
    BUDGET,
    Handler,
    close_silently,
    garbage,
    hang,
    read_request,
    refused_url,
    reset,
    tcp_server,
    trickle,
    trickle_headers,
)


def answering(raw: bytes, *, close: bool = False) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(raw)
            await writer.drain()
            if close:
                writer.close()
                return

    return handler


def ok(body: bytes, *headers: bytes) -> bytes:
    head = b"".join(h + b"\r\n" for h in headers)
    return b"HTTP/1.1 200 OK\r\n" + head + b"Content-Length: %d\r\n\r\n" % len(body) + body


LONG_UTF8 = ("飞书" * 1500 + "x").encode()
ZIPPED = gzip.compress(b'{"msg":"' + b"z" * 3000 + b'"}')
RECEIVERS: dict[str, Handler] = {
    "hang": hang, "trickle": trickle, "trickle_headers": trickle_headers,
    # Answered on every request of the connection (test_misbehaving's answer_500 answers once and then holds
    # the connection: the second attempt would only wait out the roomy budget).
    "500": answering(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 14\r\n\r\n{\"msg\":\"boom\"}"),
    "reset": reset, "close_silently": close_silently,
    "200": answering(ok(b'{"msg":"success"}', b"Content-Type: application/json", b"X-Dup: 1", b"X-Dup: 2")),
    "long_utf8_400": answering(b"HTTP/1.1 400 Bad\r\nContent-Length: %d\r\n\r\n" % len(LONG_UTF8) + LONG_UTF8),
    "chunked": answering(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
    "chunked_cut": answering(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", close=True),
    "body_cut": answering(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\nabc", close=True),
    "to_eof": answering(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"code\":0}", close=True),
    "http10": answering(b"HTTP/1.0 200 OK\r\n\r\nhello", close=True),
    "204": answering(b"HTTP/1.1 204 No Content\r\nX-Latin: caf\xe9\r\n\r\n"),
    "gzip_500": answering(b"HTTP/1.1 500 E\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(ZIPPED)
                          + ZIPPED),
}


def verdict(att: Attempt) -> tuple[object, ...]:
    return att.outcome, att.status, att.detail, att.response_headers, att.response_body


SLOW = {"hang", "trickle", "trickle_headers"}  # judged at the (short) budget; the others get a roomy one
ROOMY = 5.0  # an answer must not time out on a loaded machine


async def through(channel_class: type[WebhookChannel], url: str, n: int = 1, budget: float = ROOMY) -> list[Attempt]:
    sim = Simulator(SimConfig(seed=5, budget=Budget(connect_s=budget, total_s=budget)))
    async with channel_class(url, sim.sealer, budget=sim.config.budget) as channel:
        out = []
        for i in range(n):
            out.append(await channel.attempt(sim.generate(ET), attempt_no=1, sent_at=1.7e9 + i))
        return out


@pytest.mark.parametrize("name", sorted(RECEIVERS))
def test_same_verdict_as_httpx(name: str) -> None:
    async def go() -> tuple[list[Attempt], list[Attempt]]:
        async with tcp_server(RECEIVERS[name]) as url:
            budget = BUDGET if name in SLOW else ROOMY
            return await through(WebhookChannel, url, 2, budget), await through(LiveWebhookChannel, url, 2, budget)

    via_httpx, live = asyncio.run(go())
    assert [verdict(a) for a in live] == [verdict(a) for a in via_httpx]
    assert [a.request_headers for a in live] == [a.request_headers for a in via_httpx]  # same seed, same seal


def test_unparsable_answer_is_a_protocol_error() -> None:
    async def go() -> Attempt:
        async with tcp_server(garbage) as url:
            return (await through(LiveWebhookChannel, url))[0]

    att = asyncio.run(go())
    assert att.outcome is Outcome.CONNECTION_ERROR and att.detail.startswith("RemoteProtocolError: ")


@pytest.mark.parametrize("where", ["refused", "unresolvable"])
def test_connect_failures_as_httpx(where: str) -> None:
    url = refused_url() if where == "refused" else "http://nonexistent.invalid/hook"
    via_httpx, live = asyncio.run(through(WebhookChannel, url)), asyncio.run(through(LiveWebhookChannel, url))
    assert verdict(live[0]) == verdict(via_httpx[0])
    assert live[0].detail.startswith("ConnectError: ")


def self_signed(tmp: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
    return ctx


def test_tls_is_verified_like_httpx() -> None:
    """An untrusted certificate fails the same way (httpx's default TLS context on both paths)."""
    async def go(ctx: ssl.SSLContext) -> tuple[list[Attempt], list[Attempt]]:
        server = await asyncio.start_server(answering(ok(b"{}")), "127.0.0.1", 0, ssl=ctx)
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
        try:
            return await through(WebhookChannel, url), await through(LiveWebhookChannel, url)
        finally:
            server.close()

    with tempfile.TemporaryDirectory() as tmp:
        via_httpx, live = asyncio.run(go(self_signed(Path(tmp))))
    assert verdict(live[0]) == verdict(via_httpx[0])
    assert live[0].outcome is Outcome.CONNECTION_ERROR and "CERTIFICATE_VERIFY_FAILED" in live[0].detail


def test_keep_alive_reuses_one_connection_at_concurrency_1() -> None:
    accepted = []

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        await answering(ok(b'{"msg":"success"}'))(reader, writer)

    async def go() -> list[Attempt]:
        async with tcp_server(counting) as url:
            return await through(LiveWebhookChannel, url, 20)

    attempts = asyncio.run(go())
    assert all(a.outcome is Outcome.ACKED for a in attempts) and len(accepted) == 1


def test_pool_limit_queues_within_the_budget() -> None:
    """Past ``max_connections`` requests wait for a free connection; one that cannot get one in its budget
    is a timeout, as with httpx's pool."""
    accepted = []

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        while True:
            await read_request(reader)
            await asyncio.sleep(0.1)
            writer.write(ok(b"{}"))
            await writer.drain()

    async def go(total_s: float) -> list[Attempt]:
        async with tcp_server(slow) as url:
            sim = Simulator(SimConfig(seed=1, budget=Budget(connect_s=total_s, total_s=total_s)))
            async with LiveWebhookChannel(url, sim.sealer, budget=sim.config.budget) as channel:
                channel.pool.max_connections = 2
                return list(await asyncio.gather(*(channel.attempt(sim.generate(ET), attempt_no=1, sent_at=1.7e9)
                                                   for _ in range(6))))

    attempts = asyncio.run(go(2.0))  # three rounds of two: about 0.3 s
    assert [a.outcome for a in attempts] == [Outcome.ACKED] * 6
    assert len(accepted) == 2
    accepted.clear()
    attempts = asyncio.run(go(0.25))  # the third round cannot start within 0.25 s
    assert [a.outcome for a in attempts] == [Outcome.ACKED] * 4 + [Outcome.TIMEOUT] * 2
    assert attempts[-1].detail == "no complete response within 0.25 s" and len(accepted) == 2


def test_engine_and_plugin_use_the_live_channel_for_urls_only() -> None:
    async def go() -> None:
        sim = Simulator(SimConfig(seed=1))
        async with sim.webhook("http://127.0.0.1:9/hook") as live:
            assert isinstance(live, LiveWebhookChannel)
        import httpx

        async with sim.webhook("http://testserver/hook", transport=httpx.MockTransport(lambda r: httpx.Response(200))
                               ) as mocked:
            assert type(mocked) is WebhookChannel
        assert isinstance(channel_for("http://127.0.0.1:9/h", sealer=sim.sealer, path="/"), LiveWebhookChannel)

    asyncio.run(go())


def test_ladder_over_the_live_channel() -> None:
    """A receiver that resets twice then acks: the retry ladder and verdicts as with httpx."""
    calls = {"n": 0}

    async def flaky(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        calls["n"] += 1
        if calls["n"] <= 2:
            await reset(reader, writer)
        else:
            await answering(ok(b'{"msg":"success"}'))(reader, writer)

    async def go() -> Simulator:
        from simulator.clock import VirtualClock
        from simulator.generation.factory import SEEDED_EPOCH

        sim = Simulator(SimConfig(seed=2, retries=RetryPolicy.parse("feishu")), clock=VirtualClock(SEEDED_EPOCH, 0))
        async with tcp_server(flaky) as url, sim.webhook(url) as ch:
            await sim.push(ch, sim.generate_many(ET, 1))
        return sim

    d = asyncio.run(go()).deliveries[0]
    assert [a.outcome for a in d.attempts] == [Outcome.CONNECTION_ERROR] * 2 + [Outcome.ACKED]
    assert [a.detail for a in d.attempts[:2]] == ["ReadError", "ReadError"]


def test_header_dict_like_httpx() -> None:
    import httpx

    raw = [(b"X-A", b"1"), (b"x-a", b"2"), (b"Content-Type", b"text/plain"), (b"X-L", b"caf\xe9")]
    assert header_dict(raw) == dict(httpx.Headers(raw))


def test_a_callback_answer_is_judged_whole_like_httpx() -> None:
    """A card.action.trigger answer is judged on its whole body (here 20 KB, past what the excerpts keep);
    a valid one is acked and an invalid one a bad_answer through both channels."""
    import json

    big_card = {"toast": {"type": "success", "content": "ok"},
                "card": {"type": "raw", "data": {"elements": [{"tag": "markdown", "content": "x" * 20_000}]}}}
    valid = json.dumps(big_card).encode()
    invalid = json.dumps({**big_card, "toast": {"type": "nope", "content": "ok"}}).encode()

    async def go(body: bytes) -> tuple[list[Attempt], list[Attempt]]:
        async with tcp_server(answering(ok(body, b"Content-Type: application/json"))) as url:
            out = []
            for cls in (WebhookChannel, LiveWebhookChannel):
                sim = Simulator(SimConfig(seed=5, budget=Budget(connect_s=ROOMY, total_s=ROOMY)))
                async with cls(url, sim.sealer, budget=sim.config.budget) as channel:
                    out.append([await channel.attempt(sim.generate("card.action.trigger"), attempt_no=1,
                                                      sent_at=1.7e9)])
            return out[0], out[1]

    for body, outcome in ((valid, Outcome.ACKED), (invalid, Outcome.BAD_ANSWER)):
        via_httpx, live = asyncio.run(go(body))
        assert verdict(live[0]) == verdict(via_httpx[0]) and live[0].outcome is outcome, live[0].detail
        assert live[0].answer == via_httpx[0].answer

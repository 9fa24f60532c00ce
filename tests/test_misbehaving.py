"""Receivers that misbehave on real loopback sockets: no hang past the budget, no crash, the right verdict."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from simulator.clock import VirtualClock
from simulator.config import Budget, RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.generation.factory import SEEDED_EPOCH
from simulator.verdicts.model import DeliveryState, Outcome
from tests.fakes import ET

BUDGET = 0.3
SLACK = 1.0  # scheduling noise on a loaded 2-core machine (a real hang would take 30 s)
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.sleep(30)


async def answer_500(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 14\r\n\r\n{\"msg\":\"boom\"}")
    await writer.drain()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"\x00\xffthis is not HTTP at all\r\n\r\n")
    await writer.drain()
    writer.close()


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(10)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # RST instead of FIN


async def close_silently(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.close()


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Status and headers at once, then the body one byte every 50 ms (never finishes in the budget)."""
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
    for _ in range(200):
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)


async def trickle_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def tcp_server(handler: Handler) -> AsyncIterator[str]:
    tasks: set[asyncio.Task[None]] = set()

    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await handler(reader, writer)

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.close()
        for t in tasks:
            t.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


def refused_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more
    return f"http://127.0.0.1:{port}/hook"


def make_sim(retries: str = "none") -> Simulator:
    config = SimConfig(seed=2, budget=Budget(connect_s=BUDGET, total_s=BUDGET), retries=RetryPolicy.parse(retries))
    return Simulator(config, clock=VirtualClock(SEEDED_EPOCH, scale=0))


async def push_to(url: str, n: int = 1, retries: str = "none", concurrency: int = 1) -> tuple[Simulator, float]:
    sim = make_sim(retries)
    ch = sim.webhook(url)
    t0 = time.perf_counter()
    try:
        await sim.push(ch, sim.generate_many(ET, n), concurrency=concurrency)
    finally:
        await ch.aclose()
    return sim, time.perf_counter() - t0


@pytest.mark.parametrize(("handler", "outcome", "detail"), [
    (hang, Outcome.TIMEOUT, "no complete response within 0.3 s"),
    (trickle, Outcome.TIMEOUT, "no complete response"),
    (trickle_headers, Outcome.TIMEOUT, "no complete response"),
    (answer_500, Outcome.REJECTED, "HTTP 500"),
    (garbage, Outcome.CONNECTION_ERROR, "RemoteProtocolError"),
    (reset, Outcome.CONNECTION_ERROR, ""),
    (close_silently, Outcome.CONNECTION_ERROR, "RemoteProtocolError"),
])
def test_misbehaving_receiver_verdicts(handler: Handler, outcome: Outcome, detail: str) -> None:
    async def go() -> tuple[Simulator, float]:
        async with tcp_server(handler) as url:
            return await push_to(url)

    sim, elapsed = asyncio.run(go())
    d = sim.deliveries[0]
    assert d.final is DeliveryState.EXHAUSTED and d.last is not None
    assert d.last.outcome is outcome, d.last.detail
    assert detail in d.last.detail
    assert elapsed < BUDGET + SLACK


def test_refused_connection() -> None:
    sim, elapsed = asyncio.run(push_to(refused_url()))
    att = sim.deliveries[0].last
    assert att is not None and att.outcome is Outcome.CONNECTION_ERROR and "ConnectError" in att.detail
    assert elapsed < SLACK


def test_hanging_receiver_with_the_full_ladder_and_concurrency_stays_bounded() -> None:
    """4 events x 5 attempts against a receiver that never answers: 5 budgets of wall time, not 20."""
    async def go() -> tuple[Simulator, float]:
        async with tcp_server(hang) as url:
            return await push_to(url, n=4, retries="feishu", concurrency=4)

    sim, elapsed = asyncio.run(go())
    assert all(d.final is DeliveryState.EXHAUSTED and len(d.attempts) == 5 for d in sim.deliveries)
    assert all(a.outcome is Outcome.TIMEOUT for d in sim.deliveries for a in d.attempts)
    assert elapsed < 5 * BUDGET + 2 * SLACK
    s = sim.summary()
    assert s.outcomes == {"timeout": 20} and s.exhausted == 4


def test_receiver_recovering_mid_ladder_is_acked_at_the_right_attempt() -> None:
    calls = {"n": 0}

    async def flaky(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        calls["n"] += 1
        if calls["n"] <= 2:
            await reset(reader, writer)
        else:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"msg\":\"success\"}")
            await writer.drain()

    async def go() -> tuple[Simulator, float]:
        async with tcp_server(flaky) as url:
            return await push_to(url, retries="feishu")

    sim, _ = asyncio.run(go())
    d = sim.deliveries[0]
    assert [a.outcome for a in d.attempts] == [Outcome.CONNECTION_ERROR] * 2 + [Outcome.ACKED]
    assert d.acked_at_attempt == 3

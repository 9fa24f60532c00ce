"""Every request of a load run ends in exactly one bucket, whatever the receiver does to its connections.

``sent = acked + non_200 + timeout + error`` and ``sent + unsent = scheduled``, against a receiver that mixes
keep-alive answers, ``Connection: close``, HTTP/1.0 answers whose body ends at the close, resets, stalls,
slow answers, non-200s, garbage and silent closes -- in proportions hypothesis picks. (A request that
vanished with a closing connection used to be in no bucket at all.)
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from simulator.config import AppProfile, Budget
from simulator.load.driver import LoadPlan
from simulator.load.recorder import Interval
from simulator.load.runner import run_in_process
from simulator.load.schedule import Schedule

BEHAVIOURS = ("ok", "close", "http10", "reset", "stall", "slow", "non200", "garbage", "silent_close")
BODY = b'{"msg":"ok"}'


async def _read_request(reader: asyncio.StreamReader) -> bool:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return False
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    try:
        await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return False
    return True


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Misbehaving:
    """A TCP server in a thread answering each request as ``pick()`` says."""

    def __init__(self, weights: dict[str, int], seed: int, budget_s: float) -> None:
        self.rand = random.Random(seed)
        self.names = [n for n in BEHAVIOURS if weights.get(n)]
        self.weights = [weights[n] for n in self.names]
        self.budget_s = budget_s
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def pick(self) -> str:
        return self.rand.choices(self.names, self.weights)[0]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await _read_request(reader):
                what = self.pick()
                if what == "reset":
                    _reset(writer)
                    return
                if what == "silent_close":
                    writer.close()
                    return
                if what == "stall":
                    await asyncio.sleep(self.budget_s * 3)
                    writer.close()
                    return
                if what == "garbage":
                    writer.write(b"\x00\xffnot http\r\n\r\n")
                    await writer.drain()
                    continue
                if what == "slow":
                    await asyncio.sleep(self.rand.uniform(0.01, self.budget_s * 0.8))
                if what == "http10":  # no Content-Length: the body ends at the close
                    writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + BODY)
                    await writer.drain()
                    writer.close()
                    return
                status = b"500 Internal Server Error" if what == "non200" else b"200 OK"
                close = what == "close"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(BODY)).encode() + (b"\r\nConnection: close" if close else b"")
                             + b"\r\n\r\n" + BODY)
                await writer.drain()
                if close:
                    writer.close()
                    return
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        async def main() -> None:
            self._stop = asyncio.Event()
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
            self.port = server.sockets[0].getsockname()[1]
            self._loop = asyncio.get_running_loop()
            self._ready.set()
            async with server:
                await self._stop.wait()

        asyncio.run(main())

    @contextmanager
    def running(self) -> Iterator[str]:
        self._thread.start()
        assert self._ready.wait(10)
        try:
            yield f"http://127.0.0.1:{self.port}/hook"
        finally:
            assert self._loop is not None and self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)


def run_load(url: str, rate: float, seconds: float, connections: int, budget_s: float) -> tuple[dict[str, int],
                                                                                                  list[Interval]]:
    plan = LoadPlan(url=url, schedule=Schedule.constant(rate, seconds), connections=connections,
                    app=AppProfile(encrypt_key="conservation-key"), seed=1, pool_size=8,
                    budget=Budget(connect_s=budget_s, total_s=budget_s))
    seen: list[Interval] = []
    agg, _ = asyncio.run(run_in_process(plan, seen.append))
    return agg.total.to_json(), seen


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          phases=[Phase.explicit, Phase.generate])  # no shrinking: each example is a 1 s run
@given(weights=st.fixed_dictionaries({n: st.integers(0, 4) for n in BEHAVIOURS}).filter(lambda w: any(w.values())),
       connections=st.sampled_from([1, 4, 16]), seed=st.integers(0, 1000))
def test_every_request_ends_in_one_bucket(weights: dict[str, int], connections: int, seed: int) -> None:
    budget = 0.25
    server = Misbehaving(weights, seed, budget)
    with server.running() as url:
        counts, intervals = run_load(url, rate=300, seconds=1.0, connections=connections, budget_s=budget)
    done = counts["acked"] + counts["non_200"] + counts["timeout"] + counts["error"]
    assert counts["sent"] == done, counts
    assert counts["sent"] + counts["unsent"] == 300, counts
    assert sum(iv.counts.sent for iv in intervals) == counts["sent"]  # the per-second rows add up too
    assert sum(iv.counts.done for iv in intervals) == done


def test_http10_and_connection_close_are_acked() -> None:
    """Answers that close the connection (an HTTP/1.0 server, ``Connection: close``) are answers: acked."""
    server = Misbehaving({"close": 1, "http10": 1}, 7, 1.0)
    with server.running() as url:
        counts, _ = run_load(url, rate=400, seconds=1.0, connections=8, budget_s=1.0)
    assert counts["sent"] == counts["acked"] == 400, counts

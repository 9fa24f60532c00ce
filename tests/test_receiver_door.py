"""The reference receiver's door under hostile clients: slow headers (slowloris), huge and endless bodies,
deep JSON nesting, floods of refusals. Each test asserts the bound and that good traffic is still answered."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from simulator.clock import VirtualClock
from simulator.config import AppProfile
from simulator.generation.factory import SEEDED_EPOCH, EventFactory
from simulator.rand import SimRandom
from simulator.receiver import ReferenceReceiver
from simulator.wire.seal import Sealer
from tests.door import (
    feishu_sim,
    free_port,
    host_port,
    open_fds,
    peak_rss_mb,
    read_status,
    slowloris_process,
    stream_until_answer,
)
from tests.test_receiver import KEY, TOKEN, AsgiClient

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
RECEIVE = ["receive", "--encrypt-key", KEY, "--verification-token", TOKEN]


def sealed_events(n: int) -> list[tuple[bytes, dict[str, str]]]:
    f = EventFactory(app=AppProfile(verification_token=TOKEN), rand=SimRandom(5), clock=VirtualClock(SEEDED_EPOCH))
    sealer = Sealer(KEY, SimRandom(6))
    out = []
    for _ in range(n):
        req = sealer.seal(f.generate("vc.meeting.share_ended_v1"), timestamp=int(time.time()))
        out.append((req.body, req.headers))
    return out


# -- in process ----------------------------------------------------------------------------------------
def test_deep_nesting_is_a_400_plain_and_sealed() -> None:
    rec = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)
    client = AsgiClient(rec.app())
    deep = b"[" * 200_000
    r = client.post("/", content=deep)
    assert r.status_code == 400 and "nested too deeply" in r.json()["msg"]
    sealed = Sealer(KEY, SimRandom(3)).seal(deep, timestamp=int(time.time()))  # valid signature, valid AES
    r = client.post("/", content=sealed.body, headers=sealed.headers)
    assert r.status_code == 400 and "nested too deeply" in r.json()["msg"]
    body, headers = sealed_events(1)[0]
    assert client.post("/", content=body, headers=headers).status_code == 200


def test_rejected_list_is_capped_with_exact_counts() -> None:
    rec = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)
    rec.state.max_rejected = 50
    client = AsgiClient(rec.app())

    async def flood() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rec.app()), base_url="http://r") as c:
            for i in range(300):
                await c.post("/", content=b"not json" if i % 3 else b"x" * (rec.max_body + 1))

    asyncio.run(flood())
    st = rec.state
    assert len(st.rejected) == 50 and st.rejected_total == 300
    assert st.rejected_by_status == {400: 200, 413: 100}
    assert st.rejected[-1] == (400, "body is not JSON")  # the newest are kept
    counts = client.get("/_sim/received").json()["counts"]
    assert counts["rejected"] == 300 and counts["rejected_by_status"] == {"400": 200, "413": 100}


def test_slow_body_is_a_408() -> None:
    rec = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN, body_timeout_s=0.2)

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" "
            await asyncio.sleep(0.05)

    async def go() -> tuple[httpx.Response, float]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rec.app()), base_url="http://r") as c:
            t0 = time.perf_counter()
            r = await c.post("/", content=trickle())
            return r, time.perf_counter() - t0

    r, took = asyncio.run(go())
    assert r.status_code == 408 and took < 1.0


# -- a live `feishu-sim receive` ---------------------------------------------------------------------------
@linux_only
@pytest.mark.slow
def test_slowloris_does_not_lock_out_valid_events(tmp_path: Path) -> None:
    """1,100 slow-header connections against a receiver limited to 1,024 open files (the common default):
    valid events sent meanwhile are all answered 200 within 1 s, the receiver never holds more descriptors
    than its cap allows, and no slow connection lives past the header deadline (+1 s)."""
    header_timeout = 2.0
    events = sealed_events(13)
    port = free_port()
    with feishu_sim([*RECEIVE, "--port", str(port), "--header-timeout", str(header_timeout)], tmp_path,
                    open_files=1024) as (proc, url):
        host, port = host_port(url)

        async def scenario() -> tuple[list[tuple[int, float]], list[int]]:
            fds: list[int] = []
            answers: list[tuple[int, float]] = []
            limits = httpx.Limits(max_keepalive_connections=0)  # a new connection for every event
            async with httpx.AsyncClient(limits=limits, timeout=10, trust_env=False) as client:
                for body, headers in events:
                    t0 = time.perf_counter()
                    r = await client.post(url + "/webhook", content=body, headers=headers)
                    answers.append((r.status_code, time.perf_counter() - t0))
                    fds.append(open_fds(proc.pid))
                    await asyncio.sleep(0.25)
            return answers, fds

        with slowloris_process(host, port, 1100) as attack:
            time.sleep(1.0)  # let the flood fill the receiver
            answers, fds = asyncio.run(scenario())
        stats = attack.stats()
    assert [s for s, _ in answers] == [200] * 13
    assert max(t for _, t in answers) < 1.0, answers
    assert max(fds) < 1024 - 32, fds  # never near the open-files limit (the cap is 768)
    assert stats["opened"] > 1100 and stats["closed"]  # the receiver closed slow connections ...
    assert stats["longest"] <= header_timeout + 1.0  # ... none past the header deadline


@linux_only
def test_slow_headers_closed_at_the_deadline(tmp_path: Path) -> None:
    with feishu_sim([*RECEIVE, "--port", str(free_port()), "--header-timeout", "0.5"], tmp_path) as (_, url):
        with socket.create_connection(host_port(url)) as s:
            t0 = time.perf_counter()
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            status, _ = read_status(s, timeout=5)
            took = time.perf_counter() - t0
        assert status is None and 0.4 <= took <= 1.5
        body, headers = sealed_events(1)[0]
        assert httpx.post(url + "/", content=body, headers=headers, trust_env=False).status_code == 200


@linux_only
def test_huge_bodies_are_refused_early_in_bounded_memory(tmp_path: Path) -> None:
    """A 100 MB body declared by Content-Length is refused before any of it is read; an endless chunked one
    once it passes the 1 MiB limit. The receiver's peak RSS stays within 30 MB of its idle figure and a
    valid event is still accepted."""
    mib = 1024 * 1024
    with feishu_sim([*RECEIVE, "--port", str(free_port())], tmp_path) as (proc, url):
        body, headers = sealed_events(1)[0]
        assert httpx.post(url + "/", content=body, headers=headers, trust_env=False).status_code == 200
        idle = peak_rss_mb(proc.pid)
        chunk = b"x" * 65536
        declared = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        status, sent = stream_until_answer(url, declared % (100 * mib), chunk, 100 * mib)
        assert status == 413 and sent < 16 * mib
        chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        status, sent = stream_until_answer(url, chunked, b"10000\r\n" + chunk + b"\r\n", 100 * mib)
        assert status == 413 and sent < 16 * mib
        for _ in range(3):  # and a few at once
            socks = [socket.create_connection(host_port(url)) for _ in range(5)]
            for s in socks:
                s.sendall(chunked)
            for _ in range(40):
                for s in socks:
                    with contextlib.suppress(OSError):
                        s.sendall(b"10000\r\n" + chunk + b"\r\n")
            for s in socks:
                s.close()
        peak = peak_rss_mb(proc.pid)
        assert httpx.post(url + "/", content=body, headers=headers, trust_env=False).status_code == 200
    assert peak - idle < 30, (idle, peak)


@linux_only
def test_endless_header_is_a_431(tmp_path: Path) -> None:
    with feishu_sim([*RECEIVE, "--port", str(free_port())], tmp_path) as (proc, url):
        idle = peak_rss_mb(proc.pid)
        status, sent = stream_until_answer(url, b"POST / HTTP/1.1\r\nHost: x\r\nX-Long: ", b"a" * 65536,
                                            200 * 1024 * 1024)
        assert status == 431 and sent < 16 * 1024 * 1024
        assert peak_rss_mb(proc.pid) - idle < 30


@linux_only
def test_a_client_that_writes_its_whole_body_first_still_reads_the_413(tmp_path: Path) -> None:
    """A 2 MiB body from httpx (which reads only after writing): the rest is discarded, the 413 arrives,
    and the connection serves the next event."""
    with feishu_sim([*RECEIVE, "--port", str(free_port())], tmp_path) as (_, url), \
            httpx.Client(trust_env=False, limits=httpx.Limits(max_connections=1)) as client:
        r = client.post(url + "/", content=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "larger than 1048576" in r.json()["msg"]
        body, headers = sealed_events(1)[0]
        assert client.post(url + "/", content=body, headers=headers).status_code == 200

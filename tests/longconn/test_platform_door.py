"""The long-connection platform's door: unguessable tickets under a seed, a control API no web page can drive,
capped bodies and batch sizes, refused handshakes logged as normal, and pushes that reach every verdict
within the ack budget whatever the client does (a client that stops reading, an SDK whose handler blocks)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import websockets

from simulator.platform.core import Platform
from simulator.platform.state import PlatformOptions
from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from simulator.rand import SimRandom
from simulator.verdicts.model import Outcome
from tests.door import ROOT, feishu_sim, peak_rss_mb, stream_until_answer
from tests.longconn.miniclient import discover

APP, SECRET = "cli_d00r0123456789ab", "door-secret"
JSON = {"Content-Type": "application/json"}
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _query(platform: Platform) -> dict[str, str]:
    status, doc = platform.discover(json.dumps({"AppID": APP, "AppSecret": SECRET}).encode(), "ws://x")
    assert status == 200
    return dict(parse_qsl(urlsplit(doc["data"]["URL"]).query))


def test_tickets_are_not_predictable_from_the_seed() -> None:
    """Two platforms with the same seed: the same seeded ids, different credentials."""
    first, second = (_query(Platform(PlatformOptions(apps={APP: SECRET}, seed=7))) for _ in range(2))
    assert first["device_id"] == second["device_id"] and first["service_id"] == second["service_id"]
    assert first["ticket"] != second["ticket"] and first["access_key"] != second["access_key"]
    assert uuid.UUID(first["ticket"]).version == 4
    seeded = SimRandom(7).fork("longconn:ids")  # what the ticket used to be drawn from
    assert first["ticket"] not in {seeded.uuid() for _ in range(100)}


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=3) as s:
        yield s


def test_web_pages_cannot_drive_the_control_api(server: PlatformServer) -> None:
    port, url = server.port, server.domain + "/_sim/faults/acks"
    refused = [
        ({**JSON, "Origin": "http://evil.example"}, 403),
        ({**JSON, "Origin": "null"}, 403),
        ({**JSON, "Origin": f"http://127.0.0.1:{port + 1}"}, 403),
        ({"Content-Type": "text/plain"}, 415),  # what a page may POST without a preflight
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({}, 415),
        ({**JSON, "Host": f"evil.example:{port}"}, 403),  # DNS rebinding: the page is same-origin
        ({**JSON, "Host": f"127.0.0.1:{port + 1}"}, 403),
    ]
    for headers, status in refused:
        r = httpx.post(url, content=b'{"drop": true}', headers=headers, trust_env=False)
        assert r.status_code == status and r.json()["error"], headers
        assert server.snapshot()["faults"]["drop_acks"] is False, headers
    assert httpx.get(server.domain + "/_sim/state", headers={"Host": f"evil.example:{port}"},
                     trust_env=False).status_code == 403
    allowed = [JSON, {"Content-Type": "application/json; charset=utf-8", "Origin": f"http://127.0.0.1:{port}"},
               {**JSON, "Host": f"localhost:{port}"}]
    for headers in allowed:
        r = httpx.post(url, content=b'{"drop": true}', headers=headers, trust_env=False)
        assert r.status_code == 200 and r.json()["drop_acks"] is True, headers
        server.clear()


def test_batch_sizes_are_capped(server: PlatformServer) -> None:
    for body in ({"count": 200_000}, {"count": 0}, {"count": 10, "concurrency": 0},
                 {"count": 10, "concurrency": 10**6}):
        for path in ("/_sim/push", "/_sim/push/batch"):
            r = httpx.post(server.domain + path, json=body, trust_env=False)
            assert r.status_code == 400 and "must be between 1 and" in r.json()["error"], (path, body)
    r = httpx.post(server.domain + "/_sim/push", json={"scenario": "plain-meeting", "count": 5000}, trust_env=False)
    assert r.status_code == 400


@linux_only
def test_bodies_are_capped_in_bounded_memory(tmp_path: Path) -> None:
    """300 MB declared to discovery and to the control API, endless chunked bodies (three at once), a
    200,000-event batch: each refused (413 / 400) before the platform holds it; its peak RSS stays within
    30 MB of its idle figure (one 300 MB body took it to 953 MB before)."""
    with feishu_sim(["serve", "--port", "0", "--app-id", APP, "--app-secret", SECRET], tmp_path) as (proc, url):
        host = url.split("//", 1)[1]
        assert httpx.get(url + "/_sim/state", trust_env=False).status_code == 200
        idle = peak_rss_mb(proc.pid)
        chunk, mib = b"x" * 65536, 1 << 20
        for path in (b"/callback/ws/endpoint", b"/_sim/push"):
            head = b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n" % (path, host.encode())
            status, sent = stream_until_answer(url, head + b"Content-Length: %d\r\n\r\n" % (300 * mib), chunk,
                                               300 * mib)
            assert status == 413 and sent < 16 * mib, (path, "declared", status, sent)
            chunked = head + b"Transfer-Encoding: chunked\r\n\r\n"
            for _ in range(3):
                status, sent = stream_until_answer(url, chunked, b"10000\r\n" + chunk + b"\r\n", 300 * mib)
                assert status == 413 and sent < 32 * mib, (path, "chunked", status, sent)
        r = httpx.post(url + "/_sim/push/batch", json={"count": 200_000}, trust_env=False)
        assert r.status_code == 400
        peak = peak_rss_mb(proc.pid)
        doc = discover(url, APP, SECRET)  # still answering
    assert doc["code"] == 0 and peak - idle < 30, (idle, peak)


@linux_only
def test_refused_handshakes_are_logged_as_normal(tmp_path: Path) -> None:
    with feishu_sim(["serve", "--port", "0", "--app-id", APP, "--app-secret", SECRET], tmp_path) as (proc, url):
        async def refused() -> int:
            try:
                async with websockets.connect(url.replace("http://", "ws://") + "/ws/v2?ticket=nope"):
                    return 101
            except websockets.InvalidStatus as exc:
                return exc.response.status_code

        assert asyncio.run(refused()) == 403
        assert discover(url, APP, SECRET)["code"] == 0
    log = proc.log_path.read_text()  # type: ignore[attr-defined]
    assert "ERROR" not in log and "without completing handshake" not in log, log


# -- a client that does not read -------------------------------------------------------------------------
def _raw_websocket(server: PlatformServer) -> socket.socket:
    """A WebSocket opened by hand with a 4 KiB receive buffer, that never reads after the handshake."""
    url = urlsplit(discover(server.domain, APP, SECRET)["data"]["URL"])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((url.hostname, url.port))
    sock.sendall(f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # byte by byte: nothing past the handshake is read
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_client_that_stops_reading_does_not_hang_a_push() -> None:
    """40 events of 300 KB to a client that never reads: every verdict within the 1 s budget + 0.5 s (a push
    to such a client never returned before), the connection dropped."""
    budget = 1.0
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=5,
                        ack_budget_s=budget) as server:
        sock = _raw_websocket(server)
        try:
            server.wait_for_clients(1)
            t0 = time.monotonic()
            deliveries = server.push(count=40, overrides={"event.meeting.topic": "x" * 300_000}, concurrency=40,
                                     timeout=30)
            took = time.monotonic() - t0
            attempts = [a for d in deliveries for a in d.attempts]
            assert {a.outcome for a in attempts} == {Outcome.TIMEOUT} and len(attempts) == 40
            assert max(a.latency_ms for a in attempts) <= (budget + 0.5) * 1000 and took < budget + 3
            assert any("not reading" in a.detail for a in attempts)
            deadline = time.monotonic() + 5
            while server.connections():  # dropped: its close frame could not go out either
                assert time.monotonic() < deadline, server.connections()
                time.sleep(0.05)
            assert server.counters()["closed_stuck"] == 1
        finally:
            sock.close()


BLOCKING_SDK_CLIENT = """
import sys, time
from tests.longconn.lark_ws import LarkWsThread
LarkWsThread(sys.argv[1], sys.argv[2], sys.argv[3], on_share_ended=lambda _e: time.sleep(60)).start()
time.sleep(120)
"""


@pytest.mark.lark_sdk
def test_an_sdk_handler_that_blocks_does_not_delay_verdicts() -> None:
    """The official lark.ws.Client (another process) whose handler blocks its event loop, so it stops
    reading: a burst of 8,000 events of 4 KB (more than the socket buffers hold) gets every verdict within
    the 3 s budget + 1.5 s (the slack covers the platform's own CPU time for the burst on a shared 2-core
    machine; 3.01 s measured alone) and the push returns; before, the push waited for the handler."""
    budget = 3.0
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=6) as server:
        client = subprocess.Popen([sys.executable, "-c", BLOCKING_SDK_CLIENT, server.domain, APP, SECRET],
                                  cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            server.wait_for_clients(1, timeout=30)
            envelopes = [server.generate(overrides={"event.meeting.topic": "x" * 4000}) for _ in range(50)]
            deliveries = server.push_envelopes([envelopes[i % 50] for i in range(8000)], concurrency=8000,
                                               timeout=15)
            latencies = sorted(a.latency_ms for d in deliveries for a in d.attempts)
            assert len(latencies) == 8000 and latencies[-1] <= (budget + 1.5) * 1000, latencies[-100:]
            assert latencies[len(latencies) // 2] < (budget + 0.3) * 1000
            assert {a.outcome for d in deliveries for a in d.attempts} <= {Outcome.TIMEOUT, Outcome.CONNECTION_ERROR}
            assert server.counters()["closed_stuck"] == 1
        finally:
            client.kill()
            client.wait(10)

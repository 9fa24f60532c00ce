"""``feishu-sim load --platform``: load through the long-connection platform's push API to connected clients."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator import constants as C
from simulator.cli import main
from simulator.platform_server import PlatformServer
from tests.longconn.miniclient import MiniClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("argv", "needle"), [
    (["http://127.0.0.1:1/x", "--platform", "http://127.0.0.1:2"], "not both"),
    (["--platform", "http://127.0.0.1:2", "--scenario", "plain-meeting"], "cannot be combined"),
    (["--platform", "ftp://x"], "invalid URL"),
])
def test_platform_bad_input(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--rate", "10", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_unreachable_platform_fails_fast(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--rate", "10", "--platform", f"http://127.0.0.1:{free_port()}"]) == 2
    assert "cannot reach" in capsys.readouterr().err


@pytest.fixture
def platform_with_clients(request: pytest.FixtureRequest) -> Iterator[tuple[PlatformServer, int]]:
    code: int = request.param
    with PlatformServer() as platform:
        stop = threading.Event()

        def run() -> None:
            async def go() -> None:
                clients = [await MiniClient(platform.domain, C.DEFAULT_APP_ID, C.DEFAULT_APP_SECRET,
                                                       policy=lambda _e: code).connect() for _ in range(2)]
                tasks = [asyncio.create_task(c.run()) for c in clients]
                await asyncio.to_thread(stop.wait)
                for c in clients:
                    await c.close()
                await asyncio.gather(*tasks, return_exceptions=True)
            asyncio.run(go())

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        platform.wait_for_clients(2, timeout=10)
        yield platform, code
        stop.set()
        thread.join(10)


@pytest.mark.parametrize("platform_with_clients", [200, 500], indirect=True)
def test_load_through_the_platform(platform_with_clients: tuple[PlatformServer, int], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    platform, code = platform_with_clients
    report = tmp_path / "r.json"
    rc = main(["load", "--platform", platform.domain, "--rate", "100", "--duration", "1", "--connections", "8",
               "--report", str(report)])
    out = capsys.readouterr().out
    doc = json.loads(report.read_text())
    assert doc["channel"] == "longconn" and doc["encrypted"] is False
    c = doc["counts"]
    if code == 200:
        assert rc == 0, out
        assert c["acked"] == 100
    else:
        assert rc == 1
        assert c["non_200"] == 100 and c["statuses"] == {"ack:rejected": 100}
    assert "long-connection platform" in out


@pytest.mark.lark_sdk
def test_load_through_the_platform_to_the_official_sdk_client(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from tests.longconn.lark_ws import LarkWsThread

    seen: list[str] = []
    lock = threading.Lock()

    def on_event(data: Any) -> None:
        with lock:
            seen.append(data.header.event_id)

    report = tmp_path / "r.json"
    with PlatformServer() as platform:
        client = LarkWsThread(platform.domain, C.DEFAULT_APP_ID, C.DEFAULT_APP_SECRET, on_share_ended=on_event)
        client.start()
        try:
            platform.wait_for_clients(1, timeout=10)
            rc = main(["load", "--platform", platform.domain, "--rate", "20", "--duration", "1", "--connections",
                       "4", "--report", str(report)])
        finally:
            client.stop()
    assert rc == 0, capsys.readouterr()
    assert json.loads(report.read_text())["counts"]["acked"] == 20
    assert len(set(seen)) == 20  # twenty distinct events reached lark.ws.Client's typed handler


@pytest.mark.parametrize("platform_with_clients", [200], indirect=True)
@pytest.mark.parametrize(("rate", "batch"), [(1500, "256"), (100, "1")])
def test_load_through_the_platform_batched_and_one_by_one(platform_with_clients: tuple[PlatformServer, int], rate: int,
                                                          batch: str, tmp_path: Path) -> None:
    platform, _ = platform_with_clients
    platform.clear()
    report = tmp_path / "r.json"
    rc = main(["load", "--platform", platform.domain, "--rate", str(rate), "--duration", "1", "--connections", "2",
               "--platform-batch", batch, "--report", str(report), "-q"])
    c = json.loads(report.read_text())["counts"]
    assert rc == 0 and c["sent"] == c["acked"] == rate
    assert platform.summary().acked == rate  # each event delivered once, whatever the batching

"""``feishu-sim serve`` + an unmodified ``lark.ws.Client`` + ``feishu-sim push --platform``, and bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.cli import main
from tests.longconn.lark_ws import LarkWsThread
from tests.polling import wait_for_ready_file, wait_until

ROOT = Path(__file__).resolve().parents[2]
APP_ID, SECRET = "cli_a1b2c3d4e5f60718", "cli-secret"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ready = tmp_path_factory.mktemp("serve") / "ready"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "serve", "--port", "0", "--app-id", APP_ID,
                             "--app-secret", SECRET, "--ping-interval", "5", "--reconnect-nonce", "0",
                             "--reconnect-interval", "1", "--seed", "9", "--ready-file", str(ready)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        domain = wait_for_ready_file(proc, ready, timeout=15)
        assert proc.stdout is not None and proc.stdout.readline().strip() == domain  # printed too
        yield domain
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


@pytest.mark.lark_sdk
def test_serve_then_push_20_to_a_real_client(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[Any] = []
    lock = threading.Lock()

    def on_event(event: Any) -> None:
        with lock:
            seen.append(event.header.event_id)

    with LarkWsThread(served, APP_ID, SECRET, on_share_ended=on_event):
        wait_until(lambda: main(["push", "--platform", served, "--count", "1", "--seed", "1"]) == 0,
                   "the client to connect (an event acked)", timeout=10, interval=0.05)
        capsys.readouterr()
        with lock:
            seen.clear()
        assert main(["push", "--platform", served, "vc.meeting.share_ended_v1", "--count", "20"]) == 0
        out = capsys.readouterr()
        lines = out.out.splitlines()
    assert len(lines) == 20 and all(line.startswith("acked ") for line in lines)
    assert "20/20 acked" in out.err
    assert sorted(seen) == sorted(line.split()[1] for line in lines)


def test_push_without_clients_exits_1(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The client of the previous test may still be going away.
    wait_until(lambda: main(["push", "--platform", served, "--json"]) == 1, "no client to be connected", timeout=5,
               interval=0.05)
    assert '"not_delivered"' in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["push", "--platform", "nope://x"],
    ["push", "--platform", "http://127.0.0.1:1"],
    ["push", "--platform", "http://127.0.0.1:9", "http://127.0.0.1:8/hook"],
    ["push", "--platform", "http://127.0.0.1:9", "vc.meeting.nope"],
    ["push", "--platform", "http://127.0.0.1:9", "--count", "0"],
    ["push", "--platform", "http://127.0.0.1:9", "--set", "novalue"],
    ["serve", "--port", "70000"],
    ["serve", "--port", "x"],
    ["serve", "--host", "0.0.0.0", "--port", "0"],
    ["serve", "--ping-interval", "0"],
    ["serve", "--app-secret", ""],
    ["serve", "--port", "0", "--transcript", "/nonexistent-dir/t.ndjson"],
    ["push", "--platform", "http://127.0.0.1:9", "--scenario", "no-such-scenario"],
    ["push", "--platform", "http://127.0.0.1:9", "--retries", "feishu"],
    ["push", "--platform", "http://127.0.0.1:9", "--encrypt-key", "k"],
    ["serve", "--port", "0", "--faults", "dup=2"],
    ["serve", "--host", "203.0.113.1", "--port", "0", "--control-token", "t"],  # not an address of this host
])
def test_bad_input_is_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEISHU_SIM_CONTROL_TOKEN", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("feishu-sim: error: ") and err.count("\n") == 1, err


def test_push_refused_by_platform_is_exit_2(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push", "--platform", served, "--app-id", "cli_ffffffffffffffff"]) == 2
    assert "unknown app" in capsys.readouterr().err

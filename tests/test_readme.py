"""The command-line and Python examples of README.md, docs/cli.md and docs/python-api.md run as written."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer
from tests.docs_examples import ROOT, example
from tests.polling import wait_for_ready_file

KEY, TOKEN = "readme-key", "readme-token"


def with_keys(argv: list[str]) -> list[str]:
    """``$KEY`` / ``$TOKEN`` (shlex keeps them literally) replaced by the test's keys."""
    return [{"$KEY": KEY, "$TOKEN": TOKEN}.get(a, a) for a in argv]


@pytest.mark.parametrize("name", ["python-api-push", "python-api-feishusim"])
def test_python_example_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    block = example(name)
    exec(compile(block.code, block.where, "exec"), {"__name__": "__readme__"})
    capsys.readouterr()


def test_generate_examples(capsys: pytest.CaptureFixture[str]) -> None:
    commands = example("cli-generate").commands()
    assert len(commands) == 3
    for argv in commands:
        assert main(argv[1:]) == 0, argv
    capsys.readouterr()


@pytest.mark.parametrize("name", ["readme-push", "cli-push"])
def test_push_examples_reach_a_receiver_with_the_same_keys(name: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (argv,) = example(name).commands()
    url = "http://127.0.0.1:8000/webhook/event"
    assert url in argv
    receiver = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)
    with ThreadedServer(receiver.app()) as srv:
        argv = [srv.url + "/webhook/event" if a == url else a for a in with_keys(argv)]
        assert main(argv[1:]) == 0, argv
    out = capsys.readouterr().out
    count = int(argv[argv.index("--count") + 1])
    assert len(receiver.state.unique) == count and receiver.state.rejected == []
    if "--json" in argv:
        assert json.loads(out)["summary"]["acked"] == count
    if "--transcript" in argv:
        assert (tmp_path / argv[argv.index("--transcript") + 1]).stat().st_size > 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_receive_and_verify_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    receive, verify = example("cli-receive-verify").commands()
    assert receive[1] == "receive" and verify[1] == "verify-url"
    port = str(free_port())
    receive = [port if a == "9000" else a for a in with_keys(receive)]
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-m", "simulator", *receive[1:], "--ready-file", str(ready)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL)
    try:
        wait_for_ready_file(proc, ready, timeout=15)
        verify = [a.replace(":9000/", f":{port}/") for a in with_keys(verify)]
        assert main(verify[1:]) == 0
        out = capsys.readouterr().out
        assert "PASS" in out and "FAIL" not in out
    finally:
        proc.terminate()
        proc.wait(10)

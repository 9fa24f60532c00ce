"""The long-connection examples of README.md and docs/long-connection.md, executed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from simulator.cli import main
from tests.docs_examples import ROOT, example
from tests.longconn.lark_ws import LarkWsThread
from tests.polling import wait_for_ready_file, wait_until

pytestmark = pytest.mark.lark_sdk


def test_python_example_runs() -> None:
    block = example("longconn-python").code
    # A subprocess: the example leaves its lark.ws.Client thread running until the interpreter exits.
    out = subprocess.run([sys.executable, "-c", block], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    serve_block, curl_block = example("longconn-shell").code, example("longconn-curl").code
    lines = [ln for ln in serve_block.splitlines() if ln.startswith("feishu-sim ")]
    serve, push = lines
    argv = shlex.split(serve.rstrip("&"))[1:]
    ready = tmp_path / "ready"
    argv[argv.index("--port") + 1] = "0"
    proc = subprocess.Popen([sys.executable, "-m", "simulator", *argv, "--ready-file", str(ready)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL)
    try:
        domain = wait_for_ready_file(proc, ready, timeout=15)
        yield domain, [push, *curl_block.strip().splitlines()]
    finally:
        proc.terminate()
        proc.wait(10)


def test_shell_examples_work(served: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    domain, commands = served
    push, *curls = [c.replace("http://127.0.0.1:9001", domain) for c in commands]
    app_line = next(ln for ln in example("longconn-shell").code.splitlines() if "lark.ws.Client(" in ln)
    app_id, secret = re.findall(r'"([^"]+)"', app_line)[:2]
    with LarkWsThread(domain, app_id, secret, on_share_ended=lambda _e: None):
        wait_until(lambda: httpx.get(domain + "/_sim/connections", trust_env=False).json(),
                   "the SDK client to connect", timeout=10)
        assert main(shlex.split(push)[1:]) == 0
        assert [ln.split()[0] for ln in capsys.readouterr().out.splitlines()] == ["acked"] * 20
        for curl in curls:
            args = shlex.split(curl)
            method = args[args.index("-X") + 1] if "-X" in args else "GET"
            url = next(a for a in args if a.startswith("http"))
            body = args[args.index("-d") + 1].encode() if "-d" in args else None
            resp = httpx.request(method, url, content=body, timeout=30, trust_env=False)
            assert resp.status_code == 200, (curl, resp.text)
            if url.endswith("/_sim/push"):
                assert resp.json()["summary"]["acked"] == 3
            elif url.endswith("/_sim/push/batch"):  # lark.ws.Client acks one hundred events of one call
                assert resp.json() == {"count": 100, "acked": 100, "verdicts": ["acked"] * 100}

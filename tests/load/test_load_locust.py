"""The Locust user class, run headless by Locust itself (in a subprocess: Locust monkey-patches with gevent)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer
from tests.docs_examples import example

ROOT = Path(__file__).resolve().parents[2]
KEY = "locust-encrypt-key"
TOKEN = "Vt0123456789abcdefABCDEFghijklmn"
# The locustfile of docs/load.md (tests/load/test_load_readme.py checks they are the same).
LOCUSTFILE = "from simulator.locust import FeishuEventUser  # noqa: F401  (Locust runs the user classes it finds)\n"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                                reason="locust is not installed (pip install locust, or '.[locust]' from a clone)")


def documented_command(host: str, csv: Path) -> list[str]:
    """The ``locust`` command of docs/load.md, shortened (2 users for 3 s), pointed at ``host``, with a
    seed and a CSV report added."""
    (argv,) = example("locust-shell").commands("locust")
    values = {"-u": "2", "-r": "2", "-t": "3s", "--host": host, "--feishu-encrypt-key": KEY,
              "--feishu-verification-token": TOKEN}
    assert set(values) <= set(argv), argv
    for i, arg in enumerate(argv[:-1]):
        if arg in values:
            argv[i + 1] = values[arg]
    return [*argv[1:], "--only-summary", "--stop-timeout", "1", "--feishu-seed", "3", "--csv", str(csv)]


def test_locust_headless_posts_sealed_events(tmp_path: Path) -> None:
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    receiver = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    with ThreadedServer(receiver.app()) as server:
        argv = documented_command(server.url + "/webhook/event", tmp_path / "run")
        assert argv[:2] == ["-f", "locustfile.py"]
        proc = subprocess.run([sys.executable, "-m", "locust", *argv],
                              capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = (tmp_path / "run_stats.csv").read_text().splitlines()
    row = next(line for line in stats if line.startswith("POST,vc.meeting.share_ended_v1"))
    requests, failures = (int(x) for x in row.split(",")[2:4])
    assert requests > 10 and failures == 0
    # every request reached the reference receiver decrypted, signature- and token-checked, and unique
    assert receiver.state.rejected == []
    got = receiver.state.events
    assert len(got) >= min(requests, receiver.state.max_events) - 2
    assert not any(e.duplicate for e in got)
    assert {e.event_type for e in got} == {"vc.meeting.share_ended_v1"}

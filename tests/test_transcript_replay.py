"""Transcripts (append-only, flushed per attempt, platform times, deterministic per seed) and replay."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.cli import main
from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer
from simulator.verdicts.transcript import read_transcript
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parent.parent
LADDER = [15.0, 300.0, 3600.0, 21600.0]
AT = "2026-03-02T01:30:00Z"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def always(status: int) -> tuple[Starlette, list[dict[str, Any]]]:
    log: list[dict[str, Any]] = []

    async def endpoint(request: Request) -> Response:
        log.append({"headers": dict(request.headers), "body": await request.body()})
        return JSONResponse({"msg": "x"}, status_code=status)

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])]), log


def test_transcript_records_platform_times_of_the_ladder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.ndjson"
    app, _ = always(500)
    with ThreadedServer(app) as srv:
        code = main(["push", srv.url + "/hook", "-n", "2", "--seed", "3", "--retries", "feishu", "--time-scale", "0",
                     "--at", AT, "--encrypt-key", "secret-key", "--transcript", str(out)])
    assert code == 1
    rows = lines(out)
    assert rows[0]["kind"] == "run" and rows[0]["seed"] == 3 and rows[0]["retries"] == LADDER
    assert "secret-key" not in out.read_text()
    attempts = [r for r in rows if r["kind"] == "attempt"]
    assert len(attempts) == 10
    for eid in {a["event_id"] for a in attempts}:
        mine = [a for a in attempts if a["event_id"] == eid]
        sent = [a["sent_at"] for a in mine]
        assert [b - a for a, b in itertools.pairwise(sent)] == LADDER
        assert sent[0] == pytest.approx(1772415000.0, abs=120)  # the --at start, not the wall clock
        assert "envelope" in mine[0] and all("envelope" not in a for a in mine[1:])
        assert [int(a["request_headers"]["X-Lark-Request-Timestamp"]) for a in mine] == [int(t) for t in sent]
    deliveries = [r for r in rows if r["kind"] == "delivery"]
    assert [d["final"] for d in deliveries] == ["exhausted"] * 2
    assert all(len(d["history"]) == 5 for d in deliveries)
    capsys.readouterr()


def test_the_run_line_says_what_was_pushed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario push names its scenario and runs, an event push its type and count (not a default type)."""
    app, _ = always(200)
    with ThreadedServer(app) as srv:
        for name, what in (("s.ndjson", ["--scenario", "p2p-conversation", "-n", "2"]),
                           ("e.ndjson", ["im.message.receive_v1", "-n", "3"])):
            assert main(["push", srv.url + "/hook", *what, "--time-scale", "0", "--transcript",
                         str(tmp_path / name)]) == 0
    scenario_run, event_run = lines(tmp_path / "s.ndjson")[0], lines(tmp_path / "e.ndjson")[0]
    assert scenario_run["scenario"] == "p2p-conversation" and scenario_run["runs"] == 2
    assert "event_type" not in scenario_run
    assert event_run["event_type"] == "im.message.receive_v1" and event_run["count"] == 3
    capsys.readouterr()


def normalised(path: Path) -> list[dict[str, Any]]:
    out = []
    for row in lines(path):
        for volatile in ("latency_ms", "response_headers", "target", "start"):
            row.pop(volatile, None)
        out.append(row)
    return out


def test_same_seed_same_transcript(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run(seed: int, name: str) -> list[dict[str, Any]]:
        path = tmp_path / name
        args = ["push", "-n", "8", "--seed", str(seed), "--at", AT, "--time-scale", "0", "--retries", "feishu",
                "--faults", "dup=0.3,dup_new_id=0.2,drop=0.3,reorder=3,delay=0s..5s", "--concurrency", "3",
                "--encrypt-key", "k", "--verification-token", "t", "--transcript", str(path)]
        assert main(args) == 0
        return normalised(path)

    a, b, c = run(5, "a.ndjson"), run(5, "b.ndjson"), run(6, "c.ndjson")
    assert a == b
    assert a != c
    assert any(r.get("origin") == "duplicate" for r in a) and any(r.get("outcome") == "dropped" for r in a)
    capsys.readouterr()


def test_killed_run_leaves_a_valid_prefix_that_replays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "killed.ndjson"
    app, _ = always(500)
    with ThreadedServer(app) as srv:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # 0.001 x 7.1 h of ladder = 25 s of real time: long enough to be killed in the middle
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "push", srv.url + "/hook", "-n", "3", "--retries", "feishu",
             "--time-scale", "0.001", "--encrypt-key", "k", "--transcript", str(out)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: out.exists() and out.read_text().count("\n") >= 8, "eight transcript lines", timeout=30)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    rows = [json.loads(line) for line in text.splitlines()]  # every line is whole JSON
    assert rows[0]["kind"] == "run" and not any(r["kind"] == "delivery" for r in rows)
    recorded = read_transcript(out)
    assert len(recorded) == 3
    assert main(["replay", str(out), "--encrypt-key", "k"]) == 0
    capsys.readouterr()


def record(tmp_path: Path, n: int = 3) -> Path:
    path = tmp_path / "rec.ndjson"
    assert main(["push", "-n", str(n), "--seed", "8", "--encrypt-key", "k", "--verification-token", "t",
                 "--transcript", str(path)]) == 0
    return path


@pytest.mark.parametrize("new_ids", [False, True])
def test_replay_reseals_at_the_current_time(tmp_path: Path, new_ids: bool,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = record(tmp_path)
    recorded = {r["event_id"]: r for r in lines(path) if r["kind"] == "attempt"}
    receiver = ReferenceReceiver(encrypt_key="k", verification_token="t")
    seen: list[dict[str, Any]] = []
    inner = receiver.app()

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await inner(scope, receive, send)

    with ThreadedServer(spy) as srv:
        args = ["replay", str(path), srv.url + "/hook", "--encrypt-key", "k", "--verification-token", "t"]
        assert main(args + (["--new-event-ids"] if new_ids else [])) == 0
    got = [e.event_id for e in receiver.state.events]
    assert len(got) == 3 and not any(e.duplicate for e in receiver.state.events)
    assert (set(got) == set(recorded)) is (not new_ids)
    now = time.time()
    for h in seen:
        assert abs(int(h["x-lark-request-timestamp"]) - now) < 120
    old_sigs = {r["request_headers"]["X-Lark-Signature"] for r in recorded.values()}
    assert not old_sigs & {h["x-lark-signature"] for h in seen}
    capsys.readouterr()


def test_replay_without_url_uses_the_reference_receiver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = record(tmp_path, 2)
    capsys.readouterr()
    assert main(["replay", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["acked"] == 2


@pytest.mark.parametrize(("content", "needle"), [
    ('{"kind":"run"}\n{"kind":"attempt"\n', "line 2: not JSON"),
    ('{"kind":"run"}\n\n[1,2]\n', "line 3: not a JSON object"),
    ('{"kind":"attempt","event_id":"e","attempt":1,"sent_at":1}\n', "line 1: attempt line lacks field 'outcome'"),
    ('{"kind":"delivery","event_id":"e","final":"acked"}\n', "line 1: delivery line lacks field 'envelope'"),
    ('{"kind":"delivery","event_id":"e","final":"acked","envelope":{"header":{}}}\n', "line 1: envelope lacks"),
    ('{"kind":"attempt","event_id":"e","attempt":1,"sent_at":1,"outcome":"great"}\n', "line 1: unknown outcome"),
    ('{"event_id":"e"}\n', "line 1: lacks a valid 'kind'"),
    ('{"kind":"run"}\n', "records no events"),
])
def test_bad_transcripts_exit_2_with_the_line_number(tmp_path: Path, content: str, needle: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text(content)
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("cut", ["ascii", "utf8"])
def test_a_torn_last_line_is_skipped_with_a_warning(tmp_path: Path, cut: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A kill during a long write leaves the last line without its end: replay skips it, not the file."""
    path = record(tmp_path, 3)
    data = path.read_bytes()
    if cut == "ascii":
        data = data[:-40]  # the last (delivery) line loses its tail and its newline
    else:  # a torn line can also end inside a UTF-8 character
        data += '{"kind":"attempt","detail":"会议'.encode()[:-1]
    path.write_bytes(data)
    capsys.readouterr()
    assert main(["replay", str(path), "--encrypt-key", "k", "--verification-token", "t"]) == 0
    out, err = capsys.readouterr()
    warning = [line for line in err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "cut short" in warning[0] and "skipped" in warning[0], err
    assert len(out.splitlines()) == 3  # every recorded delivery is replayed (their attempt lines carry the envelopes)
    # A bad line that is not the last one is still an error.
    path.write_bytes(b'{"kind":"run"}\n{"kind":"attem\n' + data)
    assert main(["replay", str(path)]) == 2
    assert "line 2: not JSON" in capsys.readouterr().err


def test_missing_transcript_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "nope.ndjson")]) == 2
    assert "cannot read transcript" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "needle"), [
    (["--faults", "explode=1"], "unknown fault 'explode'"),
    (["--faults", "dup=1.5"], "probability must be in [0, 1]"),
    (["--faults", "drop=-1"], "probability must be in [0, 1]"),
    (["--time-scale", "-1"], "expected a number >= 0"),
    (["--retries", "sometimes"], "invalid retries"),
])
def test_bad_fault_and_clock_options_exit_2(tmp_path: Path, args: list[str], needle: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "never.ndjson"
    for command in (["push"], ["replay", str(out)]):
        assert main([*command, *args, "--transcript", str(tmp_path / "t.ndjson")]) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1
    assert not (tmp_path / "t.ndjson").exists()


def test_prepare_addresses_the_current_app() -> None:
    from simulator.cli.replay import prepare
    from simulator.engine.core import Simulator

    sim = Simulator()
    env = sim.generate("vc.meeting.share_ended_v1")
    env["header"]["token"] = "old"
    same = prepare([env], sim, new_ids=False, token="")[0]
    assert same["header"]["event_id"] == env["header"]["event_id"] and same["header"]["token"] == ""
    assert same["header"]["app_id"] == env["header"]["app_id"] and env["header"]["token"] == "old"  # a copy
    moved = prepare([env], sim, new_ids=True, token="t", app_id="cli_0000000000000001", tenant_key="abc")[0]
    assert moved["header"]["event_id"] != env["header"]["event_id"]
    assert (moved["header"]["token"], moved["header"]["app_id"], moved["header"]["tenant_key"]) == (
        "t", "cli_0000000000000001", "abc")
    assert moved["event"] == env["event"]

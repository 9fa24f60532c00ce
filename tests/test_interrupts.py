"""Ctrl-C (SIGINT) and SIGTERM to a running ``feishu-sim``: what is left on stdout and on disk is valid and
complete for what happened, the counts add up, and the exit code says it was interrupted."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.servers import ThreadedServer
from tests.cli_proc import alive, children, spawn_cli

SUMMARY = "interrupted: "


def flaky_app(delay_s: float) -> Starlette:
    """Answers after ``delay_s``: 200 to odd requests, 500 to even ones (so ladders are running)."""
    counter = itertools.count()

    async def endpoint(request: Request) -> Response:
        await request.body()
        await asyncio.sleep(delay_s)
        return JSONResponse({"msg": "ok"}, status_code=200 if next(counter) % 2 else 500)

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])])


def wait_until(check: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "nothing happened in time"
        time.sleep(0.02)


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def interrupt(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, (out or b"").decode(), (err or b"").decode()


def transcript_rows(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_push_reports_what_was_judged(tmp_path: Path, sig: int, code: int) -> None:
    transcript = tmp_path / "t.ndjson"
    with ThreadedServer(flaky_app(0.01)) as srv:
        proc = spawn_cli(["push", srv.url + "/hook", "--count", "100000", "-c", "4", "--retries", "2",
                          "--time-scale", "0.01", "--transcript", str(transcript)], cwd=tmp_path)
        wait_until(lambda: line_count(transcript) >= 40, proc)
        rc, out, err = interrupt(proc, sig)
    assert rc == code, err
    assert "Traceback" not in err
    summary = err.splitlines()[-1]
    assert summary.startswith(SUMMARY), err
    # "interrupted: A/T acked (K attempts, P pending) -> URL"
    acked, total = (int(x) for x in summary.split()[1].split("/"))
    attempts = int(summary.split("(")[1].split()[0])
    pending = int(summary.split(", ")[-1].split()[0]) if "pending" in summary else 0
    verdicts = out.splitlines()
    assert all(v.split()[0] in ("acked", "exhausted") for v in verdicts), verdicts[:3]
    assert len(verdicts) == total - pending  # one line per ended delivery, nothing lost on the way out
    assert sum(v.startswith("acked") for v in verdicts) == acked
    rows = transcript_rows(transcript)
    kinds = Counter(r["kind"] for r in rows)
    assert kinds["run"] == 1 and kinds["attempt"] == attempts
    finals = Counter(r["final"] for r in rows if r["kind"] == "delivery")
    assert sum(finals.values()) == total and finals["pending"] == pending and finals["acked"] == acked
    assert pending > 0  # ladders were cut short: they are recorded as such, not dropped


def test_push_json_on_interrupt(tmp_path: Path) -> None:
    with ThreadedServer(flaky_app(0.02)) as srv:
        proc = spawn_cli(["push", srv.url + "/hook", "--count", "100000", "-c", "2", "--json"], cwd=tmp_path)
        time.sleep(2.0)
        rc, out, err = interrupt(proc)
    assert rc == 130 and "Traceback" not in err
    doc = json.loads(out)
    assert doc["interrupted"] is True
    s = doc["summary"]
    assert s["total"] == s["acked"] + s["exhausted"] + s["pending"] == len(doc["deliveries"]) > 0


def test_generate_leaves_whole_lines(tmp_path: Path) -> None:
    out_path = tmp_path / "events.ndjson"
    with out_path.open("wb") as sink:
        proc = spawn_cli(["generate", "--count", "1000000", "--seed", "1"], stdout=sink)
        wait_until(lambda: out_path.stat().st_size > 200_000, proc)
        rc, _, err = interrupt(proc)
    assert rc == 130 and err == "feishu-sim: interrupted\n"
    data = out_path.read_bytes()
    assert data.endswith(b"\n")
    events = [json.loads(line) for line in data.splitlines()]
    assert len(events) > 50 and len({e["header"]["event_id"] for e in events}) == len(events)


def test_replay_reports_what_was_judged(tmp_path: Path) -> None:
    recorded = tmp_path / "rec.ndjson"
    ids = [f"{i:032x}" for i in range(2000)]
    header = {"event_type": "vc.meeting.share_ended_v1", "app_id": "cli_a1b2c3d4e5f60718", "token": "",
              "create_time": "1772415000000", "tenant_key": "t"}
    recorded.write_text("".join(json.dumps({"kind": "delivery", "event_id": i, "final": "acked",
                                            "envelope": {"schema": "2.0", "header": {**header, "event_id": i},
                                                         "event": {}}}) + "\n" for i in ids))
    again = tmp_path / "again.ndjson"
    with ThreadedServer(flaky_app(0.01)) as srv:
        proc = spawn_cli(["replay", str(recorded), srv.url + "/hook", "--transcript", str(again)], cwd=tmp_path)
        wait_until(lambda: line_count(again) >= 30, proc)
        rc, out, err = interrupt(proc)
    assert rc == 130 and "Traceback" not in err
    summary = err.splitlines()[-1]
    assert summary.startswith(SUMMARY)
    total = int(summary.split()[1].split("/")[1])
    assert len(out.splitlines()) == total
    rows = transcript_rows(again)
    assert sum(r["kind"] == "delivery" for r in rows) == total


def counting_app(delay_s: float) -> tuple[Starlette, list[int]]:
    seen = [0]

    async def endpoint(request: Request) -> Response:
        await request.body()
        seen[0] += 1
        await asyncio.sleep(delay_s)
        return JSONResponse({"msg": "ok"})

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])]), seen


def check_load_report(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    c = doc["counts"]
    assert doc["interrupted"] is True
    assert c["sent"] == c["acked"] + c["non_200"] + c["timeout"] + c["error"] > 0, c
    assert c["sent"] + c["unsent"] + c["cancelled"] == doc["scheduled"], c
    assert c["cancelled"] > 0
    assert sum(row["sent"] for row in doc["seconds"]) == c["sent"]
    return doc


def test_load_with_the_built_in_receiver(tmp_path: Path) -> None:
    """Ctrl-C: sending stops, the requests in flight are waited for, every report is written, exit 130."""
    proc = spawn_cli(["load", "--rate", "100", "--duration", "60s", "-c", "4", "--report", "r.json",
                      "--csv", "r.csv"], cwd=tmp_path)
    time.sleep(3.0)
    rc, out, err = interrupt(proc)
    assert rc == 130, err
    assert "Traceback" not in err and err == "", err
    assert out.startswith("interrupted after ")
    doc = check_load_report(tmp_path / "r.json")
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[0].startswith("second,sent") and len(rows) == len(doc["seconds"]) + 1


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_load_with_two_workers(tmp_path: Path, sig: int, code: int) -> None:
    """The signal reaches the whole process group, as a terminal's Ctrl-C does: the workers stop when the
    parent says so, their last seconds are merged, and none of them outlives the run."""
    app, seen = counting_app(0.01)
    with ThreadedServer(app) as srv:
        proc = spawn_cli(["load", srv.url + "/hook", "--rate", "200", "--duration", "60s", "--workers", "2",
                          "-c", "4", "--report", "r.json"], cwd=tmp_path, group=True)
        wait_until(lambda: seen[0] >= 100, proc, timeout=60)
        workers = children(proc.pid)
        os.killpg(proc.pid, sig)
        _out, err = proc.communicate(timeout=30)
        after = seen[0]
        time.sleep(0.5)
        assert seen[0] == after  # nothing sends any more
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    doc = check_load_report(tmp_path / "r.json")
    assert doc["workers"] == 2 and doc["counts"]["sent"] == after
    assert workers and not any(alive(pid) for pid in workers)


def test_load_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    """SIGKILL leaves the parent no say: its workers notice it is gone and stop sending at once."""
    app, seen = counting_app(0.0)
    with ThreadedServer(app) as srv:
        proc = spawn_cli(["load", srv.url + "/hook", "--rate", "200", "--duration", "60s", "--workers", "2",
                          "-c", "4"], cwd=tmp_path)
        wait_until(lambda: seen[0] >= 100, proc, timeout=60)
        workers = children(proc.pid)
        proc.kill()
        proc.communicate(timeout=10)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers and not any(alive(pid) for pid in workers)
        after = seen[0]
        time.sleep(0.5)
        assert seen[0] == after


def test_serve_stops_pushes_before_connections(tmp_path: Path) -> None:
    """Ctrl-C on serve during a push: the push under way stops starting events, the ones in flight get
    their acks while the client is still connected, the transcript records what happened (no fake
    ``not_delivered``), the pushing client is told in one line, and serve ends without a traceback."""
    asyncio.run(_serve_scenario(tmp_path))


async def _serve_scenario(tmp_path: Path) -> None:
    from tests.longconn.miniclient import MiniClient

    ready, transcript = tmp_path / "ready", tmp_path / "t.ndjson"
    serve = spawn_cli(["serve", "--port", "0", "--ready-file", str(ready), "--transcript", str(transcript)])
    client: MiniClient | None = None
    try:
        await asyncio.to_thread(wait_until, ready.exists, serve)
        domain = ready.read_text().strip()
        client = await MiniClient(domain, "cli_a1b2c3d4e5f60718", "sim-app-secret").connect()
        reading = asyncio.create_task(client.run())
        push = spawn_cli(["push", "--platform", domain, "--count", "5000", "-c", "4"])
        await asyncio.to_thread(wait_until, lambda: line_count(transcript) >= 60, serve, 60)
        rc, _, err = await asyncio.to_thread(interrupt, serve)
        assert rc == 0 and "Traceback" not in err, err
        _, push_err = await asyncio.to_thread(push.communicate, None, 30)
        await asyncio.wait_for(reading, 10)
    finally:
        for proc in (serve,):
            if proc.poll() is None:
                proc.kill()
    assert push.returncode == 2
    message = push_err.decode()
    assert len(message.splitlines()) == 1 and "stopped during the push" in message, message
    rows = transcript_rows(transcript)
    finals = Counter(r["final"] for r in rows if r["kind"] == "delivery")
    outcomes = Counter(r["outcome"] for r in rows if r["kind"] == "attempt")
    assert outcomes.get("not_delivered", 0) == 0, outcomes  # nothing was pushed into the closing connections
    acked = int(message.split("push: ")[1].split()[0])
    assert finals["acked"] == acked == len(client.events) > 0, (finals, acked, len(client.events))

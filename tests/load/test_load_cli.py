"""``feishu-sim load`` end to end on loopback: runs, reports, bad input, a receiver that dies mid-run."""

from __future__ import annotations

import csv
import json
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from simulator.cli import build_parser, main
from simulator.cli.load import build_schedule
from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer

KEY = "cli-load-encrypt-key"
TOKEN = "Vt0123456789abcdefABCDEFghijklmn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "Traceback" not in err
    assert err.startswith("feishu-sim: error:")
    return err


def test_builtin_receiver_run_writes_json_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, table = tmp_path / "r.json", tmp_path / "r.csv"
    code = main(["load", "--rate", "200", "--duration", "1", "--seed", "5", "--report", str(report),
                 "--csv", str(table), "--service-time"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "acked 200" in out and "100.00% acked within 3 s" in out
    doc = json.loads(report.read_text())
    assert doc["embedded_receiver"] is True and doc["encrypted"] is True
    assert doc["scheduled"] == 200 and doc["counts"]["acked"] == 200 and doc["counts"]["error"] == 0
    assert doc["receiver"]["rejected"] == 0  # the reference receiver verified every signature and token
    assert doc["receiver"]["duplicates_seen"] == 0
    assert set(doc["latency_ms"]["percentiles_ms"]) >= {"p50", "p99", "p99.9", "p99.99", "max"}
    assert doc["achieved_rate"] == pytest.approx(200, rel=0.01)
    assert doc["histogram"] and doc["distribution"][-1][0] == 100.0
    assert doc["service_time_ms"]["count"] == 200 and "from actual send time" in out
    rows = list(csv.DictReader(table.read_text().splitlines()))
    assert rows[0].keys() >= {"second", "sent", "acked", "p50_ms", "p99_ms"}
    assert sum(int(r["sent"]) for r in rows) == 200


def test_stages_file_and_two_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stages = tmp_path / "stages.json"
    stages.write_text(json.dumps([{"duration": "1s", "rate": 200}, {"duration": "0.5s", "rate": 200}]))
    report = tmp_path / "r.json"
    code = main(["load", "--stages", str(stages), "--workers", "2", "--connections", "4", "--report", str(report)])
    assert code == 0, capsys.readouterr()
    doc = json.loads(report.read_text())
    assert doc["workers"] == 2 and doc["scheduled"] == 200
    assert doc["counts"]["acked"] == 200
    assert sum(w["sent"] for w in doc["generator"]["workers"]) == 200
    assert doc["latency_ms"]["count"] == 200  # histograms of both processes merged


@pytest.mark.parametrize(("argv", "needle"), [
    (["--rate", "0"], "rate"),
    (["--rate", "abc"], "rate"),
    (["--rate=-5"], "rate"),
    (["--rate", "10", "--duration", "abc"], "duration"),
    (["--rate", "10", "--duration", "0s"], "duration"),
    (["--rate", "10", "--duration", "1e400s"], "invalid --duration '1e400s': expected a duration"),
    (["--rate", "10", "--duration", "31 days"], "invalid --duration"),
    ([], "--rate is required"),
    (["--rate", "10", "vc.meeting.nope"], "unknown event type"),
    (["--rate", "10", "https://127.0.0.1:1/x"], "no TLS"),
    (["--rate", "10", "--workers", "4", "--connections", "2"], "--workers"),
    (["--rate", "10", "--report", "/nonexistent-dir/r.json"], "--report"),
    (["--rate", "10", "--stages", "/nonexistent-stages.json"], "stages"),
])
def test_bad_input_is_one_line_exit_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", *argv]) == 2
    assert needle in one_line_error(capsys)


@pytest.mark.parametrize(("text", "seconds"), [("2min", 120.0), ("200 ms", 0.2), ("1m30s", 90.0), ("10", 10.0)])
def test_duration_takes_the_one_grammar(text: str, seconds: float) -> None:
    """``2min`` and ``200 ms`` were refused by the load command's own grammar."""
    args = build_parser().parse_args(["load", "--rate", "10", "--duration", text, "--timeout", "500ms"])
    schedule = build_schedule(args)
    assert schedule.duration == pytest.approx(seconds) and args.timeout == 0.5


def test_invalid_stages_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "stages.json"
    bad.write_text('[{"duration": "10s"}]')
    assert main(["load", "--stages", str(bad)]) == 2
    assert "stage 1: needs 'duration' and 'rate'" in one_line_error(capsys)


def test_unreachable_target_fails_fast_before_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    t0 = time.monotonic()
    code = main(["load", f"http://127.0.0.1:{free_port()}/hook", "--rate", "10", "--duration", "60",
                 "--report", str(report)])
    assert code == 2
    assert time.monotonic() - t0 < 5
    assert "cannot reach" in one_line_error(capsys)
    assert not report.exists()


def test_receiver_dying_mid_run_is_counted_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    receiver = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)
    server = ThreadedServer(receiver.app()).start()
    killer = threading.Timer(0.6, server.stop)
    killer.start()
    report = tmp_path / "r.json"
    try:
        code = main(["load", server.url + "/webhook/event", "--rate", "100", "--duration", "1.5", "--connections",
                     "4", "--encrypt-key", KEY, "--verification-token", TOKEN, "--timeout", "1",
                     "--report", str(report)])
    finally:
        killer.join()
        server.stop()
    out = capsys.readouterr().out
    assert code == 1, out
    doc = json.loads(report.read_text())
    c = doc["counts"]
    assert 30 <= c["acked"] <= 90
    assert c["error"] > 0
    assert c["acked"] + c["non_200"] + c["timeout"] + c["error"] + c["unsent"] == 150
    assert "errors" in out
    assert receiver.state.rejected == []


def test_progress_line_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    assert main(["load", "--rate", "50", "--duration", "1.2"]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: quiet

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["load", "--rate", "50", "--duration", "1.2"]) == 0
    text = term.getvalue()
    assert "\r" in text and "p99" in text and "errors 0" in text and "s left" in text
    assert re.search(r"\s5\d/s", text)  # about 50 requests in the first second


def test_scenario_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    assert main(["load", "--scenario", "plain-meeting", "--rate", "200", "--duration", "1", "--report",
                 str(report)]) == 0, capsys.readouterr()
    doc = json.loads(report.read_text())
    assert doc["event_type"] == "scenario:plain-meeting"
    assert doc["counts"]["acked"] == 200 and doc["receiver"]["rejected"] == 0
    assert doc["generator"]["workers"][0]["source"]["scenario_runs"] >= 2


def test_a_chat_scenario_run_counts_scenario_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The runs of any scenario are ``scenario_runs``; ``meetings`` is its deprecated alias for one release."""
    report = tmp_path / "r.json"
    assert main(["load", "--scenario", "p2p-conversation", "--rate", "200", "--duration", "1", "--report",
                 str(report)]) == 0, capsys.readouterr()
    source = json.loads(report.read_text())["generator"]["workers"][0]["source"]
    assert source["scenario"] == "p2p-conversation" and source["scenario_runs"] >= 1
    assert source["meetings"] == source["scenario_runs"]


@pytest.mark.parametrize(("argv", "needle"), [
    (["--scenario", "no-such-scenario"], "unknown scenario"),
    (["--scenario", "plain-meeting", "vc.meeting.share_ended_v1"], "not both"),
])
def test_bad_scenario_is_exit_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--rate", "10", *argv]) == 2
    assert needle in one_line_error(capsys)


def test_runs_on_the_default_asyncio_loop_without_uvloop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "uvloop", None)  # as after a plain `pip install .` (uvloop is an extra)
    report = tmp_path / "r.json"
    assert main(["load", "--rate", "100", "--duration", "1", "--report", str(report)]) == 0, capsys.readouterr()
    doc = json.loads(report.read_text())
    assert doc["loop"] == "asyncio" and doc["counts"]["acked"] == 100

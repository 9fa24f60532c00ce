from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import build_parser, main
from simulator.generation import schemas

ROOT = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_ndjson_is_schema_valid_and_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    code, out1, _ = run(capsys, "generate", "--count", "5", "--seed", "42")
    assert code == 0
    lines = out1.splitlines()
    assert len(lines) == 5
    for line in lines:
        assert schemas.errors(json.loads(line)) == []
        assert ", " not in line.split('"topic"')[0]  # compact separators
    _, out2, _ = run(capsys, "generate", "--count", "5", "--seed", "42")
    assert out1 == out2


def test_generate_set_and_locale(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "generate", "--seed", "1", "--locale", "en_US", "--set", "event.meeting.topic=Q3 review",
                       "--set", "header.tenant_key=736588c9260f175c")
    env = json.loads(out)
    assert code == 0 and env["event"]["meeting"]["topic"] == "Q3 review"
    assert env["header"]["tenant_key"] == "736588c9260f175c"


def test_generate_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "generate", "--list")
    assert code == 0 and "vc.meeting.share_ended_v1" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["generate", "vc.meeting.nope_v1"], "unknown event type"),
        (["generate", "--set", "event.meting.topic=x"], "does not exist"),
        (["generate", "--set", "event.meeting.id=12"], "break the schema"),
        (["generate", "--set", "novalue"], "PATH=VALUE"),
        (["generate", "--count", "0"], "positive integer"),
        (["generate", "--locale", "xx_YY"], "locale"),
        (["push", "--bogus-flag"], "unrecognized arguments"),
        (["push", "ftp://example.invalid/x"], "invalid URL"),
        (["push", "http://127.0.0.1:1/hook"], "cannot reach"),
        (["push", "--encrypt-key", ""], "must not be empty"),
        (["push", "--verification-token", ""], "must not be empty"),
        (["verify-url", "not a url"], "invalid URL"),
        (["push", "vc.meeting.nope_v1"], "unknown event type"),
        (["push", "--timeout", "0"], "argument --timeout: invalid duration '0': must be more than 0"),
        (["push", "--connect-timeout", "1e400s"], "expected a duration such as 10, 10s, 500ms"),
        (["serve", "--ack-timeout", "soon"], "argument --ack-timeout"),
        (["audit", "http://127.0.0.1:1/hook", "--timeout", "9999h"], "limit of 30 days"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_timeouts_take_the_one_duration_grammar() -> None:
    args = build_parser().parse_args(["push", "--timeout", "1m30s", "--connect-timeout", "200 ms"])
    assert (args.timeout, args.connect_timeout) == (90.0, 0.2)
    assert build_parser().parse_args(["serve", "--ack-timeout", "2"]).ack_timeout == 2.0


def test_bad_input_leaves_no_transcript(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    t = tmp_path / "t.ndjson"
    code, _, _ = run(capsys, "push", "--transcript", str(t), "--set", "event.meeting.id=1")
    assert code == 2 and not t.exists()
    code, _, _ = run(capsys, "push", "http://127.0.0.1:1/", "--transcript", str(t))
    assert code == 2 and not t.exists()


def test_push_without_url_uses_reference_receiver(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    t = tmp_path / "t.ndjson"
    code, out, err = run(capsys, "push", "--count", "5", "--encrypt-key", "k", "--verification-token", "tok",
                         "--transcript", str(t), "--seed", "3")
    assert code == 0, err
    assert len(out.splitlines()) == 5 and all(line.startswith("acked ") for line in out.splitlines())
    assert "reference receiver" in err
    records = [json.loads(line) for line in t.read_text().splitlines()]
    attempts = [r for r in records if r["kind"] == "attempt"]
    assert len(attempts) == 5
    a = attempts[0]
    assert a["status"] == 200 and a["request_headers"]["X-Lark-Signature"]
    assert json.loads(a["request_body"]).keys() == {"encrypt"}
    assert a["response_body"] == '{"msg":"success"}'


def test_push_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "push", "--count", "3", "--json", "--concurrency", "3")
    doc = json.loads(out)
    assert code == 0 and doc["summary"]["acked"] == 3 and len(doc["deliveries"]) == 3


def test_push_env_keys(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEISHU_ENCRYPT_KEY", "env-key")
    monkeypatch.setenv("FEISHU_VERIFICATION_TOKEN", "env-token")
    code, _out, _ = run(capsys, "push", "--json")
    assert code == 0


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "simulator", "--version"], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    assert proc.returncode == 0 and "feishu-sim" in proc.stdout


def test_rejections_exit_1_with_status_and_excerpt(capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.receiver import ReferenceReceiver
    from simulator.servers import ThreadedServer

    with ThreadedServer(ReferenceReceiver(encrypt_key="the-right-key").app()) as srv:
        code, out, _ = run(capsys, "push", srv.url + "/hook", "--encrypt-key", "a-wrong-key", "--count", "2")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.startswith("exhausted ") and "status=401" in line for line in lines)
    assert "signature verification failed" in lines[0]


def test_validate_all_checks_unmodified_generator_output(capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.generation import catalog

    spec = catalog.get("vc.meeting.share_ended_v1")
    real = spec.generate

    def broken(ctx):  # type: ignore[no-untyped-def]
        body = real(ctx)
        body["meeting"]["meeting_no"] = "12"
        return body

    object.__setattr__(spec, "generate", broken)  # EventSpec is frozen; restored below
    try:
        code, _, _ = run(capsys, "generate", "--seed", "1")
        assert code == 0  # generator output is trusted by default
        code, out, err = run(capsys, "generate", "--seed", "1", "--validate-all")
        assert code == 2 and out == "" and "meeting_no" in err
    finally:
        object.__setattr__(spec, "generate", real)
    code, _, err = run(capsys, "generate", "--validate-all", "--no-validate")
    assert code == 2 and "not allowed with" in err

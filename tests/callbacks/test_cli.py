"""``feishu-sim push`` with callbacks: one verdict line per callback with the judged answer, ``--json`` with the
answer, ``--legacy-card``; and, as subprocesses, a lark-oapi bot that answers a click with a toast passes while
one that answers late or with a malformed toast fails with a one-line reason."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.cli import main
from tests.callbacks.lark_bot import Bot, serving

ROOT = Path(__file__).resolve().parents[2]
KEY, TOKEN = "cli-key", "cli-token"


def test_push_prints_the_judged_answer_of_each_callback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push", "card.action.trigger", "-n", "2", "--seed", "4",
                 "--set", 'event.action.value={"approve":true}']) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    for line in out:
        assert line.startswith("acked ") and " card.action.trigger status=200 " in line
        assert line.endswith('ms toast success "received"')


def test_push_json_carries_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push", "url.preview.get", "--seed", "4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (d,) = doc["deliveries"]
    assert d["callback"] == "url.preview.get" and d["final"] == "acked"
    (a,) = d["attempts"]
    assert a["outcome"] == "acked" and a["event_type"] == "url.preview.get"
    assert a["answer"]["valid"] and a["answer"]["body"]["inline"]["title"].startswith("https://")


def test_legacy_card_push_and_its_alias(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    transcript = tmp_path / "t.ndjson"
    assert main(["push", "card.action.trigger_v1", "--seed", "4", "--verification-token", TOKEN,
                 "--transcript", str(transcript)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert " card.action.trigger_v1 status=200 " in line and line.endswith('toast success "received"')
    lines = [json.loads(x) for x in transcript.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["legacy_card"] is True
    (attempt,) = [x for x in lines if x["kind"] == "attempt"]
    body = json.loads(attempt["request_body"])
    assert set(body) == {"open_id", "user_id", "open_message_id", "open_chat_id", "tenant_key", "token", "action"}
    assert attempt["answer"]["kind"] == "card.action.trigger_v1"


@pytest.mark.parametrize(("argv", "message"), [
    (["push", "vc.meeting.share_ended_v1", "--legacy-card"],
     "--legacy-card delivers card.action.trigger clicks, not vc.meeting.share_ended_v1"),
    (["push", "card.action.trigger_v1", "--platform", "http://127.0.0.1:9"],
     "--legacy-card needs a webhook URL: the long connection does not carry the legacy card request"),
    (["push", "card.action.trigger", "--set", "event.action.tag=click"],
     "overrides break the schema: event.action.tag: 'click' is not one of"),
])
def test_bad_callback_input_is_one_line_and_exit_2(argv: list[str], message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"feishu-sim: error: {message}") and err.count("\n") == 1


# -- a lark-oapi bot in its own process, pushed to by the CLI in another ---------------------------------------

@pytest.fixture
def bots() -> Iterator[dict[str, str]]:
    """Three lark-oapi bots on loopback ports (threads of this process; the CLI runs in its own)."""
    with contextlib.ExitStack() as stack:
        yield {mode: stack.enter_context(serving(Bot(mode, KEY, TOKEN))) for mode in ("toast", "slow", "bad_toast")}


def cli(*args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FEISHU_ENCRYPT_KEY", None)
    env.pop("FEISHU_VERIFICATION_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "simulator", *args, "--encrypt-key", KEY,
                           "--verification-token", token, "--seed", "2"], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.lark_sdk
def test_a_lark_bot_answering_with_a_toast_passes_and_bad_ones_fail(bots: dict[str, str]) -> None:
    ok = cli("push", bots["toast"] + "/webhook/event", "card.action.trigger",
             "--set", 'event.action.value={"action":"approve"}')
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("acked ") and ok.stdout.rstrip().endswith('ms toast success "Approve"')

    late = cli("push", bots["slow"] + "/webhook/event", "card.action.trigger")
    assert late.returncode == 1
    (line,) = late.stdout.splitlines()
    assert line.startswith("timeout ") and line.endswith("no complete response within 3 s")

    bad = cli("push", bots["bad_toast"] + "/webhook/event", "card.action.trigger", "--retries", "feishu")
    assert bad.returncode == 1
    (line,) = bad.stdout.splitlines()  # one attempt, whatever the retry policy: callbacks are not retried
    assert line.startswith("bad_answer ") and line.endswith(
        "ms toast.type 'ok' is not one of info|success|warning|error")
    assert "0/1 acked (1 attempts)" in bad.stderr

    legacy = cli("push", bots["toast"] + "/card", "card.action.trigger", "--legacy-card")
    assert legacy.returncode == 0, legacy.stdout + legacy.stderr
    assert legacy.stdout.rstrip().endswith('ms toast success "Done", card raw')
    forged = cli("push", bots["toast"] + "/card", "card.action.trigger", "--legacy-card", token="not-the-token")
    assert forged.returncode == 1 and 'HTTP 500: {"msg":"signature verification failed"}' in forged.stdout


@pytest.mark.lark_sdk
def test_verify_url_for_callback_and_legacy_card_urls(capsys: pytest.CaptureFixture[str]) -> None:
    keys = ["--encrypt-key", KEY, "--verification-token", TOKEN]
    with serving(Bot("toast", KEY, TOKEN)) as base:
        assert main(["verify-url", base + "/webhook/event", *keys]) == 0  # a callback URL: the event challenge
        assert main(["verify-url", base + "/card", "--legacy-card", *keys]) == 0
        assert main(["verify-url", base + "/card", "--legacy-card", "--verification-token", "wrong"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == [line for line in out[:4] if line.startswith("PASS ")] and len(out) == 12
    assert out[8] == "FAIL  status: HTTP 500"  # lark-oapi's CardActionHandler: {"msg":"invalid verification_token"}
    assert out[10].startswith("FAIL  challenge echoed: got None")


def test_generate_prints_legacy_bodies(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.wire.test_legacy_card import request_validator

    assert main(["generate", "card.action.trigger_v1", "--seed", "1", "-n", "3"]) == 0
    bodies = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(bodies) == 3 and all(list(request_validator("card.action.trigger_v1").iter_errors(b)) == []
                                    for b in bodies)
    assert main(["generate", "card.action.trigger", "--legacy-card", "--seed", "1", "-n", "3"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == bodies
    assert main(["generate", "card.action.trigger_v1", "--longconn"]) == 2

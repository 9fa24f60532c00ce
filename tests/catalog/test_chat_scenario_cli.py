"""``feishu-sim generate|push|load --scenario`` with the conversation scenarios."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.cli import main
from tests.catalog.chat_invariants import SHORT

CHATS = ["busy-group", "group-mention-thread", "p2p-conversation"]


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_list_scenarios_shows_the_conversations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--list-scenarios"]) == 0
    rows = dict(r.split("\t") for r in capsys.readouterr().out.splitlines())
    assert set(CHATS) <= set(rows) and all(rows[name] for name in CHATS)


@pytest.mark.parametrize("name", ["p2p-conversation", "group-mention-thread"])
def test_generate_a_conversation_is_byte_identical_per_seed(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--scenario", name, "--seed", "9"]) == 0
    first = capsys.readouterr().out
    assert main(["generate", "--scenario", name, "--seed", "9"]) == 0
    assert capsys.readouterr().out == first
    envs = lines(first)
    assert envs[0]["header"]["create_time"] == "1772415000000"
    assert {e["header"]["event_type"] for e in envs} <= set(SHORT)


def test_generate_a_conversation_from_a_file_twice_with_longconn(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[chat]\ntype = "p2p"\nuser = "me"\n\n[people]\nnamed = ["me"]\n\n[[step]]\nevent = "message"\n'
                    'count = 3\nspread = "1m"\n', encoding="utf-8")
    assert main(["generate", "--scenario", str(path), "--seed", "1", "--count", "2", "--longconn"]) == 0
    envs = lines(capsys.readouterr().out)
    assert len(envs) == 6 and all(e["header"]["token"] == "" for e in envs)
    times = [int(e["header"]["create_time"]) for e in envs]
    assert times == sorted(times)


@pytest.mark.parametrize("argv", [
    ["generate", "im.message.receive_v1", "--scenario", "p2p-conversation"],
    ["generate", "--scenario", "busy-group", "--set", "event.message.chat_type=p2p"],
    ["push", "--scenario", "p2p-conversation", "im.message.receive_v1"],
])
def test_bad_combinations_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("feishu-sim: error:")


def test_push_a_busy_group_to_the_reference_receiver(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["push", "--scenario", "busy-group", "--seed", "2", "--encrypt-key", "k", "--verification-token",
                 "t", "--json", "--concurrency", "8"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["summary"]["acked"] == out["summary"]["total"] == len(out["deliveries"]) == 430
    types = [d["event_type"] for d in out["deliveries"]]
    assert types.count("im.message.receive_v1") == 370 and types.count("im.message.reaction.created_v1") == 60


def test_load_a_conversation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    assert main(["load", "--scenario", "p2p-conversation", "--rate", "100", "--duration", "1", "--report",
                 str(report)]) == 0, capsys.readouterr()
    doc = json.loads(report.read_text())
    assert doc["event_type"] == "scenario:p2p-conversation"
    assert doc["counts"]["acked"] == 100 and doc["receiver"]["rejected"] == 0
    assert doc["generator"]["workers"][0]["source"]["meetings"] >= 9  # runs of 11 events, one after another

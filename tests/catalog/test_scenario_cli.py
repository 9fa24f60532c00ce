"""``feishu-sim generate|push --scenario``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from simulator.cli import main
from simulator.generation import scenarios
from tests.catalog.invariants import check_sequence


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_list_groups_the_types_by_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--list"]) == 0
    out = capsys.readouterr().out
    blocks = {block.splitlines()[0]: block.splitlines()[1:] for block in out.strip().split("\n\n")}
    assert "vc_meeting (15 types)" in blocks
    rows = blocks["vc_meeting (15 types)"]
    assert len(rows) == 15 and all(r.startswith("  vc.meeting.") and r.split(maxsplit=1)[1] for r in rows)


def test_list_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--list-scenarios"]) == 0
    out = capsys.readouterr().out
    assert [r.split("\t")[0] for r in out.splitlines()] == scenarios.names()


def test_generate_scenario_by_name_is_byte_identical_per_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--scenario", "share-and-record", "--seed", "9"]) == 0
    first = capsys.readouterr().out
    assert main(["generate", "--scenario", "share-and-record", "--seed", "9"]) == 0
    assert capsys.readouterr().out == first
    envs = lines(first)
    check_sequence(envs, mirror=False, subscribers=True)
    assert envs[0]["header"]["create_time"] == "1772415000000"


def test_generate_scenario_from_a_file_with_at_and_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.toml"
    shutil.copy(scenarios.resolve("plain-meeting"), path)
    assert main(["generate", "--scenario", str(path), "--seed", "1", "--at", "2026-03-02T10:00:00+08:00",
                 "--count", "2", "--longconn"]) == 0
    envs = lines(capsys.readouterr().out)
    assert envs[0]["header"]["create_time"] == "1772416800000"
    assert all(e["header"]["token"] == "" for e in envs)
    assert len({e["event"]["meeting"]["id"] for e in envs}) == 2


@pytest.mark.parametrize("argv", [
    ["generate", "vc.meeting.join_meeting_v1", "--scenario", "plain-meeting"],
    ["generate", "--scenario", "plain-meeting", "--set", "event.meeting.topic=x"],
    ["generate", "--scenario", "no-such-scenario"],
    ["push", "--scenario", "plain-meeting", "vc.meeting.join_meeting_v1"],
    ["push", "--scenario", "no-such-scenario"],
])
def test_bad_combinations_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("feishu-sim: error:")


@pytest.mark.parametrize("concurrency", ["1", "8"])
def test_push_scenario_to_the_reference_receiver(capsys: pytest.CaptureFixture[str], concurrency: str) -> None:
    code = main(["push", "--scenario", "share-and-record", "--seed", "2", "--encrypt-key", "k",
                 "--verification-token", "t", "--json", "--concurrency", concurrency])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["summary"]["acked"] == out["summary"]["total"] == len(out["deliveries"]) >= 25
    types = [d["event_type"] for d in out["deliveries"]]
    assert types[0] == "vc.meeting.meeting_started_v1" and "vc.meeting.recording_ready_v1" in types

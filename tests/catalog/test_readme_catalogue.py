"""The README's "Event catalogue and scenarios" section works as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.generation import scenarios
from simulator.rand import SimRandom
from tests.catalog.helpers import factory
from tests.catalog.invariants import check_sequence

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Event catalogue and scenarios"


def section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(HEADING)
    return text[start:text.find("\n## ", start + len(HEADING))]


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section(), re.S)


def test_the_shell_examples_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)  # the file example is relative to the repository root
    commands = [line.split("#")[0].strip() for line in blocks("bash")[0].splitlines()]
    commands = [c for c in commands if c]
    assert len(commands) == 6
    for cmd in commands:
        argv = shlex.split(cmd)
        assert argv[0] == "feishu-sim"
        assert main(argv[1:]) == 0, cmd
    out = capsys.readouterr().out
    assert out.count("vc.meeting.") > 15


def test_the_toml_example_is_a_valid_coherent_scenario() -> None:
    (text,) = blocks("toml")
    sc = scenarios.loads(text, source="README.md")
    for seed in range(5):
        envs = scenarios.play(sc, factory(seed), SimRandom(seed))
        counts = check_sequence(envs, mirror=True, subscribers=True)
        assert counts["join_meeting"] == 23 and counts["share_started"] == 1


def test_the_error_example_is_what_the_cli_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (expected,) = blocks("text")
    plain = scenarios.resolve("plain-meeting").read_text(encoding="utf-8")
    (tmp_path / "mine.toml").write_text(plain.replace('who = ["ana", "bo",', 'who = ["ana",'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--scenario", "mine.toml"]) == 2
    assert capsys.readouterr().err == expected


def test_the_python_example_runs() -> None:
    (code,) = blocks("python")
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})

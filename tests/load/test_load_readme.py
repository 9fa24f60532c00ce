"""The examples of README's "Load testing" section run as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from simulator.cli import build_parser, main

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Load testing")
    return text[start:text.index("\n## ", start + 5)]


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section(), re.S)


def commands(block: str) -> list[list[str]]:
    joined = block.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip().startswith(("feishu-sim", "locust"))]


def test_local_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                            ) -> None:
    pytest.importorskip("plotly")
    monkeypatch.chdir(tmp_path)
    stages = re.findall(r"```json\n(.*?)```", section(), re.S)
    assert stages, "the stages example"
    (tmp_path / "stages.json").write_text(stages[0].strip().replace("\n  ", "\n"))
    local = commands(blocks("bash")[0])
    assert len(local) == 3
    for argv in local:
        assert argv[0] == "feishu-sim"
        assert main([*argv[1:], "--quiet"]) == 0, (argv, capsys.readouterr())
    for name in ("run.json", "run.csv", "run.html"):
        assert (tmp_path / name).stat().st_size > 0


def test_remote_example_parses() -> None:
    (argv,) = commands(blocks("bash")[1])
    args = build_parser().parse_args(argv[1:])
    assert args.command == "load" and args.args == ["http://127.0.0.1:8000/webhook/event"]
    assert args.connections == 64


def test_locustfile_example_is_the_one_tested() -> None:
    from tests.load.test_load_locust import LOCUSTFILE

    assert blocks("python") == [LOCUSTFILE]

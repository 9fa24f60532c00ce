"""The command examples of docs/callbacks.md run as written against a lark-oapi card bot (the pytest example,
``pytest-callbacks``, is run by tests/plugin/test_readme_pytest.py with the other pytest examples)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from simulator.cli import main
from tests.callbacks.lark_bot import Bot, serving
from tests.docs_examples import ROOT, example

pytestmark = pytest.mark.lark_sdk

ENV = {"$KEY": "docs-key", "$TOKEN": "docs-token"}
NAMES = ["callbacks-push", "callbacks-legacy", "callbacks-audit", "callbacks-load"]


def test_the_guide_is_linked_from_the_readme() -> None:
    assert "[docs/callbacks.md](docs/callbacks.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_the_commands_run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    commands = example(name).commands()
    assert commands
    with serving(Bot("toast", ENV["$KEY"], ENV["$TOKEN"])) as base:
        for argv in commands:
            argv = [ENV.get(a, a).replace("http://127.0.0.1:8000", base) for a in argv]
            if name == "callbacks-load":
                argv += ["--report", str(tmp_path / "r.json")]
            assert main(argv[1:]) == 0, shlex.join(argv)
            out = capsys.readouterr().out
            if name == "callbacks-push" and "card.action.trigger" in argv:
                lines = out.splitlines()
                assert len(lines) == 3 and all(x.endswith('toast success "Approve"') for x in lines)
    if name == "callbacks-load":
        assert json.loads((tmp_path / "r.json").read_text())["valid_answer_share"] == 1.0

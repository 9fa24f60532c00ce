"""Every fenced python block in README.md runs, and the shell examples for generate work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(heading: str | None = None) -> list[str]:
    text = README.read_text(encoding="utf-8")
    if heading is not None:
        start = text.index(heading)
        nxt = text.find("\n## ", start + len(heading))
        text = text[start: nxt if nxt != -1 else len(text)]
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.parametrize("block", python_blocks("## Using it from Python"))
def test_python_example_runs(block: str) -> None:
    exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})


def test_generate_examples(capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli import main

    text = README.read_text(encoding="utf-8")
    start = text.index("## Generating events")
    section = text[start:text.index("\n## ", start)]
    commands = re.findall(r"^feishu-sim (generate[^#\n]*)", section, re.M)
    assert len(commands) == 3
    import shlex

    for cmd in commands:
        assert main(shlex.split(cmd)) == 0, cmd
    capsys.readouterr()

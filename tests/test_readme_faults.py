"""Every command in the README's "Faults, retries, replay and audit" section runs and succeeds."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer

README = Path(__file__).resolve().parent.parent / "README.md"
HEADING = "## Faults, retries, replay and audit"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(HEADING)
    end = text.find("\n## ", start + len(HEADING))
    return text[start:end]


def test_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", section(), re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "__readme__"})


def commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", section(), re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("feishu-sim ")]


def test_section_has_the_examples() -> None:
    cmds = commands()
    assert len(cmds) == 5
    assert {c.split()[1] for c in cmds} == {"push", "replay", "audit"}


def test_readme_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"KEY": "readme-key", "TOKEN": "readme-token"}
    receiver = ReferenceReceiver(encrypt_key=env["KEY"], verification_token=env["TOKEN"])
    with ThreadedServer(receiver.app()) as srv:
        for cmd in commands():
            cmd = cmd.replace("http://127.0.0.1:9000", srv.url)
            for name, value in env.items():
                cmd = cmd.replace(f'"${name}"', value)
            assert main(shlex.split(cmd)[1:]) == 0, cmd
            capsys.readouterr()
    assert (tmp_path / "run.ndjson").exists()

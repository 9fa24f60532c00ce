"""The examples of docs/faults.md (retries, faults, replay, audit) run and succeed."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer
from tests.docs_examples import example


def test_python_example_runs() -> None:
    block = example("faults-python")
    exec(compile(block.code, block.where, "exec"), {"__name__": "__readme__"})


def commands() -> list[list[str]]:
    return example("faults-shell").commands() + example("audit-shell").commands()


def test_the_examples_are_there() -> None:
    cmds = commands()
    assert len(cmds) == 5
    assert {c[1] for c in cmds} == {"push", "replay", "audit"}


def test_the_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"$KEY": "readme-key", "$TOKEN": "readme-token"}
    receiver = ReferenceReceiver(encrypt_key=env["$KEY"], verification_token=env["$TOKEN"])
    with ThreadedServer(receiver.app()) as srv:
        for argv in commands():
            argv = [env.get(a, a).replace("http://127.0.0.1:9000", srv.url) for a in argv]
            assert main(argv[1:]) == 0, shlex.join(argv)
            capsys.readouterr()
    assert (tmp_path / "run.ndjson").exists()

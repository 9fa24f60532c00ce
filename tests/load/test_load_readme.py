"""The load examples of README.md and docs/load.md run as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.cli import build_parser, main
from tests.docs_examples import example


def test_local_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                            ) -> None:
    pytest.importorskip("plotly")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stages.json").write_text(example("load-stages").code)
    local = example("load-readme").commands() + example("load-local").commands()
    assert len(local) == 3
    for argv in local:
        assert argv[0] == "feishu-sim"
        assert main([*argv[1:], "--quiet"]) == 0, (argv, capsys.readouterr())
    for name in ("run.json", "run.csv", "run.html"):
        assert (tmp_path / name).stat().st_size > 0


def test_remote_example_parses() -> None:
    (argv,) = example("load-remote").commands()
    args = build_parser().parse_args(argv[1:])
    assert args.command == "load" and args.args == ["http://127.0.0.1:8000/webhook/event"]
    assert args.connections == 64


def test_locustfile_example_is_the_one_tested() -> None:
    from tests.load.test_load_locust import LOCUSTFILE

    assert example("locustfile").code == LOCUSTFILE

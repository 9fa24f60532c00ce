"""The examples of docs/catalogue.md work as written: the catalogue and scenario commands, the scenario
file and error, the Python scenario example, and the made-up event family, built from the page's own
blocks into copies of the families package and the schema folder."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.generation import catalog, families, scenarios
from simulator.rand import SimRandom
from simulator.resources import schemas_dir
from tests.catalog.chat_invariants import check_chat_sequence
from tests.catalog.helpers import factory
from tests.catalog.invariants import check_sequence
from tests.docs_examples import ROOT, example


def test_the_shell_examples_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)  # the file example is relative to the repository root
    commands = example("catalogue-shell").commands()
    assert len(commands) == 6
    for argv in commands:
        assert main(argv[1:]) == 0, argv
    out = capsys.readouterr().out
    assert out.count("vc.meeting.") > 15


def test_the_toml_example_is_a_valid_coherent_scenario() -> None:
    block = example("scenario-toml")
    sc = scenarios.loads(block.code, source=block.where)
    for seed in range(5):
        envs = scenarios.play(sc, factory(seed), SimRandom(seed))
        counts = check_sequence(envs, mirror=True, subscribers=True)
        assert counts["join_meeting"] == 23 and counts["share_started"] == 1


def test_the_error_example_is_what_the_cli_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    expected = example("scenario-error").code
    plain = scenarios.resolve("plain-meeting").read_text(encoding="utf-8")
    (tmp_path / "mine.toml").write_text(plain.replace('who = ["ana", "bo",', 'who = ["ana",'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--scenario", "mine.toml"]) == 2
    assert capsys.readouterr().err == expected


def test_the_chat_toml_example_is_a_coherent_conversation() -> None:
    block = example("scenario-chat-toml")
    sc = scenarios.loads(block.code, source=block.where)
    for seed in range(5):
        f = factory(seed)
        envs = scenarios.play(sc, f, SimRandom(seed))
        counts = check_chat_sequence(envs, f.world["im"].message)
        assert counts == {"bot_added": 1, "message": 2, "reaction_created": 3, "user_added": 1}
        question, last = envs[1]["event"]["message"], envs[-1]["event"]["message"]
        assert last["root_id"] == question["message_id"] and last["thread_id"].startswith("omt_")


def test_the_chat_shell_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    commands = example("scenario-chat-shell").commands()
    assert len(commands) == 2
    for argv in commands:
        assert main(argv[1:]) == 0, argv
    out, err = capsys.readouterr()
    assert out.count('"event_type":"im.message.receive_v1"') == 6 and "430/430 acked" in err


def test_the_python_example_runs() -> None:
    block = example("scenario-python")
    exec(compile(block.code, block.where, "exec"), {"__name__": "__readme__"})


# -- the made-up family of "Adding an event family" ------------------------------------------------------

FAMILY = "example_notes"
EVENT_TYPE = "example.note.created_v1"


@pytest.fixture
def example_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """The page's package dropped into (a copy of the search path of) the families package and its schema
    into a copy of the schema folder, exactly at the paths the page names; nothing else is changed. Yields
    the page's test module."""
    import simulator.generation.schemas as schemas_mod

    catalog.event_types()  # the real catalogue first
    package = tmp_path / "families" / FAMILY
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(example("family-package").code, encoding="utf-8")
    schema = json.loads(example("family-schema").code)
    rel = schema["$id"].split("/schemas/", 1)[1]
    assert rel == f"{FAMILY}/{EVENT_TYPE}.schema.json"
    shutil.copytree(schemas_dir(), tmp_path / "schemas")
    (tmp_path / "schemas" / FAMILY).mkdir()
    (tmp_path / "schemas" / rel).write_text(json.dumps(schema), encoding="utf-8")

    monkeypatch.setattr(families, "__path__", [*families.__path__, str(tmp_path / "families")])
    monkeypatch.setattr(catalog, "_REGISTRY", dict(catalog._REGISTRY))
    monkeypatch.setattr(catalog, "_loaded", False)
    monkeypatch.setattr(schemas_mod, "schemas_dir", lambda: tmp_path / "schemas")
    caches = (schemas_mod.validator, schemas_mod._registry, schemas_mod._index)
    for cached in caches:
        cached.cache_clear()
    tests_module = types.ModuleType("example_family_tests")
    exec(compile(example("family-tests").code, "family-tests", "exec"), tests_module.__dict__)
    try:
        yield tests_module
    finally:
        monkeypatch.undo()
        sys.modules.pop(f"{families.__name__}.{FAMILY}", None)
        for cached in caches:
            cached.cache_clear()
        importlib.invalidate_caches()


def test_the_example_family_needs_no_other_change(example_family: types.ModuleType, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert EVENT_TYPE in catalog.event_types()
    names = [n for n in vars(example_family) if n.startswith("test_")]
    assert len(names) == 2
    for name in names:
        getattr(example_family, name)()

    assert main(["generate", "--list"]) == 0
    assert EVENT_TYPE in capsys.readouterr().out
    assert main(["generate", EVENT_TYPE, "--seed", "1", "--validate-all"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["event"]["note_id"].startswith("nt_")
    assert main(["push", EVENT_TYPE, "--count", "2", "--encrypt-key", "k", "--verification-token", "t"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["acked", "acked"] and all(EVENT_TYPE in ln for ln in lines)

    from simulator.receiver import ReferenceReceiver
    from simulator.testing import FeishuSim

    receiver = ReferenceReceiver(encrypt_key="k")
    with FeishuSim.from_options(encrypt_key="k", seed=2) as sim:
        assert sim.push(receiver.app(), EVENT_TYPE).acked
    assert receiver.state.events[-1].event_type == EVENT_TYPE

    monkeypatch.chdir(tmp_path)
    assert main(["load", EVENT_TYPE, "--rate", "50", "--duration", "0.5", "--quiet", "--report", "r.json"]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["event_type"] == EVENT_TYPE and report["counts"]["acked"] == report["counts"]["sent"] > 0

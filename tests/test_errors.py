"""The one exception tree: every error class lives in ``simulator/errors.py``, its docstring draws the real
hierarchy, users get the tree's classes (not bare builtins), and a misspelt event type names the closest."""

from __future__ import annotations

import ast
import builtins
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from simulator import errors as E
from simulator.cli import main
from simulator.generation import catalog, schemas
from simulator.servers import bind_socket
from simulator.wire import frames
from simulator.wire.seal import AesCipher, open_body

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "simulator"
ERROR_CLASSES = [c for c in vars(E).values() if isinstance(c, type) and issubclass(c, BaseException)]
BUILTIN_ERRORS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
RAISED_ON_PURPOSE = {"AttributeError"}  # what a module ``__getattr__`` must raise for a name it does not have

# Builtin exceptions that may still be raised in simulator/, and why.
ALLOWED_BUILTIN_RAISES = {
    # internal control flow: caught a few lines later and re-raised as one of the tree's errors
    ("generation/scenarios/_format.py", "ValueError"),  # parse_duration/parse_span -> FixtureError
    ("load/runner.py", "ValueError"),  # judge_batch_answer -> an "ack:unreadable" verdict
    ("verdicts/answers.py", "ValueError"),  # json's parse_constant hook: NaN/Infinity -> "answer is not JSON"
    # the package's own bugs, never a user's input
    ("engine/schedule.py", "RuntimeError"),
    ("generation/families/vc_meeting/meeting.py", "KeyError"),
    ("load/schedule.py", "AssertionError"),
    ("load/platform_driver.py", "ValueError"),  # a batch answer that does not fit -> an "ack:unreadable" verdict
    ("platform/control.py", "ValueError"),  # a control request body that is not an object -> HTTP 400
    ("load/driver.py", "NotImplementedError"),  # the abstract methods of the load drivers' base class
    # the platform's own bugs (an illegal lifecycle transition), never a client's input
    ("platform/session.py", "RuntimeError"),
    ("platform/session.py", "ValueError"),
}


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(PACKAGE)), ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(PACKAGE.rglob("*.py")) if "_pb2" not in p.name]


def test_every_exception_class_is_defined_in_errors() -> None:
    names = BUILTIN_ERRORS | {c.__name__ for c in ERROR_CLASSES}
    elsewhere = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and path != "errors.py":
                bases = {b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                         for b in node.bases}
                if bases & names:
                    elsewhere.append(f"{path}: class {node.name}")
    assert elsewhere == []


def test_no_bare_builtin_exception_reaches_a_user() -> None:
    found = set()
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id in BUILTIN_ERRORS - RAISED_ON_PURPOSE:
                    found.add((path, exc.id))
    assert found - ALLOWED_BUILTIN_RAISES == set()


def test_the_docstring_draws_the_real_tree() -> None:
    drawn: dict[str, str | None] = {}
    stack: list[str] = []
    for line in (E.__doc__ or "").splitlines():
        m = re.match(r"^ {4}((?:[│ ] {3})*)([├└]── )?([A-Z]\w+) ", line)  # a class, not a continuation line
        if not m:
            continue
        depth = len(m.group(1)) // 4 + (1 if m.group(2) else 0)
        del stack[depth:]
        drawn[m.group(3)] = stack[-1] if stack else None
        stack.append(m.group(3))
    real = {c.__name__: ((c.__base__ or object).__name__ if c is not E.SimulatorError else None)
            for c in ERROR_CLASSES if issubclass(c, E.SimulatorError)}
    assert drawn == real


def test_whose_fault() -> None:
    for cls in (E.ConfigError, E.FixtureError, E.OverrideError, E.UnknownEventType, E.ValidationFailed):
        assert issubclass(cls, E.UsageError) and cls.exit_code == 2
    assert not issubclass(E.TargetError, E.UsageError) and E.TargetError.exit_code == 2
    assert issubclass(E.DecryptError, E.ProtocolError) and issubclass(E.FrameError, E.ProtocolError)
    assert E.ProtocolError.exit_code == E.ReceiverError.exit_code == E.NotAcked.exit_code == 1
    assert frames.FrameError is E.FrameError  # re-exported where the platform's session imports it


def test_a_port_that_cannot_be_bound_is_a_target_error() -> None:
    taken = bind_socket()
    try:
        with pytest.raises(E.TargetError, match="cannot listen on"):
            bind_socket(port=taken.getsockname()[1])
    finally:
        taken.close()


def test_a_peer_body_that_is_not_a_json_object_is_a_protocol_error() -> None:
    for body in (b"not json", b"[1]", b'{"encrypt": "' + AesCipher("k").encrypt(b"[2]", bytes(16)).encode() + b'"}'):
        with pytest.raises(E.ProtocolError, match=r"not JSON|not a JSON object"):
            open_body(body, "k")
    with pytest.raises(E.DecryptError):
        open_body(b'{"encrypt": "AAAA"}', "k")


@pytest.mark.parametrize(("exc", "code"), [(E.TargetError("cannot reach x"), 2), (E.ProtocolError("bad frame"), 1),
                                           (E.NotAcked("1 of 1 not acked"), 1), (E.ConfigError("bad"), 2)])
def test_the_cli_exits_with_the_error_s_code(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                             exc: E.SimulatorError, code: int) -> None:
    def fail(_: object) -> int:
        raise exc

    monkeypatch.setattr("simulator.cli.generate.run", fail)
    assert main(["generate"]) == code
    assert capsys.readouterr().err == f"feishu-sim: error: {exc}\n"


# -- did you mean ------------------------------------------------------------------------------------

def test_did_you_mean() -> None:
    assert E.did_you_mean("encrpyt_key", ["encrypt_key", "app_id", "seed"]) == " (did you mean 'encrypt_key'?)"
    assert E.did_you_mean("abc", ["abd", "abe", "abf", "abg"]) == " (did you mean 'abd', 'abe' or 'abf'?)"
    assert E.did_you_mean("xyz", ["encrypt_key"]) == "" and E.did_you_mean("x", []) == ""


TYPO = "vc.meeting.share_end_v1"
SUGGESTION = f"unknown event type {TYPO!r} (did you mean 'vc.meeting.share_ended_v1'?)"


@pytest.mark.parametrize("lookup", [catalog.get, schemas.schema_path])
def test_unknown_event_type_names_the_closest(lookup: Callable[[str], object]) -> None:
    with pytest.raises(E.UnknownEventType) as info:
        lookup(TYPO)
    assert str(info.value) == SUGGESTION
    assert info.value.event_type == TYPO and "vc.meeting.share_ended_v1" in info.value.known


def test_unknown_event_type_far_from_any_points_to_the_list() -> None:
    with pytest.raises(E.UnknownEventType, match=r"^unknown event type 'nope' \(\d+ known: see feishu-sim "
                                                 r"generate --list\)$"):
        catalog.get("nope")


def test_cli_prints_the_suggestion_in_one_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "simulator", "generate", TYPO], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"feishu-sim: error: {SUGGESTION}\n"


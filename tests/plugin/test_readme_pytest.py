"""The pytest examples (README.md and docs/pytest.md, markers ``pytest-*``) are real test suites: run them
with pytester.

Each block starts with ``# <file name>`` (``// <file>.js`` for a Node program next to the tests); a
``conftest.py`` or ``.js`` block goes with the test file block after it. Every test in them must pass. A
suite with a Node program runs where node and the Node SDK are installed (``tests/node``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import flask  # noqa: F401  (kept loaded across in-process runs, see test_pytest_plugin)
import pytest

import simulator.pytest_plugin  # noqa: F401
from tests.docs_examples import examples
from tests.plugin.test_pytest_plugin import HAVE_LARK, PLUGIN

pytest_plugins = ["pytester"]

NODE_MODULES = Path(__file__).resolve().parents[1] / "node" / "node_modules"
HAVE_NODE = shutil.which("node") is not None and (NODE_MODULES / "@larksuiteoapi" / "node-sdk").is_dir()


def section_blocks() -> list[tuple[str, str]]:
    out = []
    for block in examples("pytest-"):
        first = block.code.splitlines()[0]
        match = re.fullmatch(r"# (\w+\.py)|// (\w+\.js)", first)
        assert match, f"{block.where}: a pytest example must start with '# <file>.py' or '// <file>.js': {first!r}"
        out.append((match.group(1) or match.group(2), block.code))
    return out


def groups() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    pending: dict[str, str] = {}
    for name, source in section_blocks():
        pending[name] = source
        if name != "conftest.py" and name.endswith(".py"):
            out.append(pending)
            pending = {}
    assert not pending, "a conftest.py or .js block must be followed by a test file block"
    return out


def test_the_section_has_examples() -> None:
    assert len(groups()) >= 5


@pytest.mark.parametrize("files", groups(), ids=lambda files: "+".join(files))
def test_readme_example_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                               files: dict[str, str]) -> None:
    if any("lark_oapi" in source for source in files.values()) and not HAVE_LARK:
        pytest.skip("lark-oapi is not installed")
    if any(name.endswith(".js") for name in files):
        if not HAVE_NODE:
            pytest.skip("node or @larksuiteoapi/node-sdk not installed (npm install --prefix tests/node)")
        monkeypatch.setenv("NODE_PATH", str(NODE_MODULES))
    for name, source in files.items():
        (pytester.path / name).write_text(source, encoding="utf-8")
    tests = sum(len(re.findall(r"^(?:async )?def test_", src, re.M)) for name, src in files.items()
                if name.endswith(".py"))
    result = pytester.runpytest_inprocess(*PLUGIN)
    result.assert_outcomes(passed=tests)

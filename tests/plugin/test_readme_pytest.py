"""The pytest examples (README.md and docs/pytest.md, markers ``pytest-*``) are real test suites: run them
with pytester.

Each block starts with ``# <file name>``; a ``conftest.py`` block goes with the test file block after it.
Every test in them must pass.
"""

from __future__ import annotations

import re

import flask  # noqa: F401  (kept loaded across in-process runs, see test_pytest_plugin)
import pytest

import simulator.pytest_plugin  # noqa: F401
from tests.docs_examples import examples
from tests.plugin.test_pytest_plugin import HAVE_LARK, PLUGIN

pytest_plugins = ["pytester"]


def section_blocks() -> list[tuple[str, str]]:
    out = []
    for block in examples("pytest-"):
        first = block.code.splitlines()[0]
        match = re.fullmatch(r"# (\w+\.py)", first)
        assert match, f"{block.where}: a pytest example must start with '# <file>.py': {first!r}"
        out.append((match.group(1), block.code))
    return out


def groups() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    pending: dict[str, str] = {}
    for name, source in section_blocks():
        pending[name] = source
        if name != "conftest.py":
            out.append(pending)
            pending = {}
    assert not pending, "a conftest.py block must be followed by a test file block"
    return out


def test_the_section_has_examples() -> None:
    assert len(groups()) >= 5


@pytest.mark.parametrize("files", groups(), ids=lambda files: "+".join(files))
def test_readme_example_passes(pytester: pytest.Pytester, files: dict[str, str]) -> None:
    if any("lark_oapi" in source for source in files.values()) and not HAVE_LARK:
        pytest.skip("lark-oapi is not installed")
    for name, source in files.items():
        (pytester.path / name).write_text(source, encoding="utf-8")
    tests = sum(len(re.findall(r"^(?:async )?def test_", src, re.M)) for src in files.values())
    result = pytester.runpytest_inprocess(*PLUGIN)
    result.assert_outcomes(passed=tests)

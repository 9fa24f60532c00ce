"""The platform package stays small: modules under 400 lines, functions under mccabe complexity 12 (the
control API's handlers are module-level functions, not one closure-laden factory)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PLATFORM = Path(__file__).resolve().parents[2] / "simulator" / "platform"
MAX_LINES = 400
MAX_COMPLEXITY = 12


def test_platform_modules_are_under_400_lines() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PLATFORM.glob("*.py")}
    assert sizes and max(sizes.values()) <= MAX_LINES, sizes


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_platform_functions_are_under_complexity_12() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "C901", "--config",
                             f"lint.mccabe.max-complexity={MAX_COMPLEXITY}", "--output-format", "concise",
                             str(PLATFORM)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

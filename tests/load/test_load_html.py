"""The HTML report: self-contained (plotly.js inlined) and actually drawn by a browser (headless Chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from simulator.cli import main

pytest.importorskip("plotly")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    assert main(["load", "--rate", "100", "--duration", "2", "--quiet", "--html", str(path)]) == 0
    return path


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "Plotly" in text and len(text) > 1_000_000  # plotly.min.js inlined
    assert not re.search(r"<script[^>]+src=", text)  # nothing fetched from the network
    assert '"seconds":[' in text and '"distribution":[' in text


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    exe = chromium()
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=10000", "--dump-dom", report.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    assert 'data-charts="2"' in dom, dom[-2000:]
    assert dom.count('class="main-svg"') >= 4  # two plotly charts, each with its SVG layers
    assert "2 charts drawn with plotly" in dom

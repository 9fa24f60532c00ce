"""No module of the package is over 400 lines (the generated protobuf module aside): small modules, one thing each."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"
MAX_LINES = 400
GENERATED = {"pbbp2_pb2.py"}


def test_no_module_is_over_400_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py") if p.name not in GENERATED}
    assert len(sizes) > 100
    over = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not over, f"split these modules: {over}"

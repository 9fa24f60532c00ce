"""Where the shipped data lives: ``schemas/`` and ``fixtures/`` at the repository root in a checkout or
editable install, ``simulator/_data/`` inside an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from simulator.errors import TargetError

_PKG = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise TargetError(f"broken installation: cannot find the {name}/ directory next to the simulator package")


def schemas_dir() -> Path:
    return data_dir("schemas")


def fixtures_dir() -> Path:
    return data_dir("fixtures")

"""The import graph of ``simulator``, read with ``ast`` (nothing is imported): no cycles, and the
long-connection stack points one way: engine -> delivery channel -> platform.

Every import statement counts, wherever it stands: at module level, inside a function, or under
``if TYPE_CHECKING:``. A package's ``__init__`` is a module of its own; importing ``a.b.c`` is an edge to
``a.b.c`` only (Python also runs ``a/__init__`` and ``a/b/__init__`` first, but every module would then
depend on ``simulator/__init__``, which re-exports the public API: that implicit edge is left out).
Imports by name at run time (``importlib.import_module("...")``) are not statements and do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "simulator"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _nearest_module(name: str) -> str | None:
    """``name`` or its nearest enclosing package that is a module of ours."""
    while name:
        if name in modules():
            return name
        name = name.rpartition(".")[0]
    return None


def imported(name: str) -> Iterator[str]:
    """Every module of ours that module ``name`` imports, anywhere in its source."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names]  # a submodule, or a name in ``base``
        else:
            continue
        for target in targets:
            found = _nearest_module(target)
            if found is not None and found != name:
                yield found


@cache
def graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(imported(name)) for name in modules()}


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for w in graph()[todo.pop()]:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_graph_is_read() -> None:
    g = graph()
    assert "simulator.platform.core" in g and "simulator.engine.core" in g
    # A function-level import and a TYPE_CHECKING one both count.
    assert "simulator.platform.core" in g["simulator.delivery.longconn"]  # under TYPE_CHECKING
    assert "simulator.platform_server" in g["simulator.pytest_plugin"]  # TYPE_CHECKING and in a fixture


def test_tarjan_finds_a_planted_cycle() -> None:
    edges = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


@pytest.mark.parametrize("forbidden", ["simulator.engine", "simulator.delivery"])
def test_the_platform_never_imports_the_engine_or_a_delivery_channel(forbidden: str) -> None:
    platform = [m for m in modules() if in_package(m, "simulator.platform")]
    assert len(platform) > 5
    for name in platform:
        bad = sorted(m for m in reachable(name) if in_package(m, forbidden))
        assert not bad, f"{name} imports {bad} (directly or through other modules)"


def test_delivery_channels_never_import_the_engine() -> None:
    """Directly: ``simulator.config`` (which channels read) holds a ``FaultSpec`` from ``engine.faults``."""
    for name in (m for m in modules() if in_package(m, "simulator.delivery")):
        bad = sorted(m for m in graph()[name] if in_package(m, "simulator.engine"))
        assert not bad, f"{name} imports {bad}"
    assert not any(in_package(m, "simulator.engine") for m in reachable("simulator.delivery.longconn"))

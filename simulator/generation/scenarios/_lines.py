"""Where things are in a scenario file: ``tomllib`` reports no positions, so the lines of the
``[[step]]`` / ``[table]`` headers and of their keys are found by a small scan of the text."""

from __future__ import annotations

import re


class LineMap:
    """Line numbers of ``[[step]]`` / ``[table]`` headers and their keys."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.steps: list[tuple[int, dict[str, int]]] = []
        self.tables: dict[str, tuple[int, dict[str, int]]] = {}
        self.root: dict[str, int] = {}  # keys before the first header
        current: dict[str, int] = self.root
        for number, raw in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(raw)
            if header:
                current = {}
                name = header.group(1)
                if raw.lstrip().startswith("[[") and name == "step":
                    self.steps.append((number, current))
                else:
                    self.tables.setdefault(name, (number, current))
                continue
            key = self._KEY.match(raw)
            if key:
                current.setdefault(key.group(1), number)

    def step_line(self, index: int, key: str | None = None) -> int | None:
        if index >= len(self.steps):
            return None
        line, keys = self.steps[index]
        return keys.get(key, line) if key else line

    def table_line(self, table: str, key: str | None = None) -> int | None:
        if key is not None and key not in self.tables.get(table, (0, {}))[1] and f"{table}.{key}" in self.tables:
            return self.tables[f"{table}.{key}"][0]  # a sub-table: [people.crowds]
        if table not in self.tables:
            return self.root.get(table) if key is None else None  # ``meeting = 5``: a key, not a table
        line, keys = self.tables[table]
        return keys.get(key, line) if key else line

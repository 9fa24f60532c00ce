"""The fenced examples of README.md and docs/*.md, found by name wherever they live.

An example is a fenced code block whose opening fence follows a marker line, an HTML comment that GitHub
does not render::

    <!-- example: faults-python -->
    ```python
    ...
    ```

Tests ask for examples by name (``example("faults-python")``) or by name prefix (``examples("pytest-")``),
not by file or heading, so moving text between README.md and docs/ neither breaks nor silently drops them.
``tests/test_docs.py`` checks that every runnable block (python, bash, toml, json) is marked and that every
marker is read by some test.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^\s*<!--\s*example:\s*(\S+)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)\s*$")


@dataclass(frozen=True)
class Block:
    """A fenced code block: its file, the line of its opening fence (1-based), language, text, marker."""

    file: Path
    line: int
    lang: str
    code: str
    name: str | None

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"

    def commands(self, *programs: str) -> list[list[str]]:
        """The shell commands of the block that start with one of ``programs`` (default ``feishu-sim``), as
        argument lists: backslash continuations joined, ``# comments`` and a trailing ``&`` dropped."""
        programs = programs or ("feishu-sim",)
        out = []
        for line in self.code.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv and argv[-1] == "&":
                argv = argv[:-1]
            if argv and argv[0] in programs:
                out.append(argv)
        return out


def doc_files() -> list[Path]:
    """README.md and every page of docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@cache
def blocks(path: Path) -> tuple[Block, ...]:
    """The fenced blocks of one Markdown file, in order. An indented fence (in a list item) loses its
    indentation; a block's marker is the line just before its opening fence (blank lines allowed)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.groups()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence))
                                      and lines[i].strip().strip(fence[0]) == ""):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1  # the closing fence
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        marker = MARKER.match(lines[j]) if j >= 0 else None
        out.append(Block(path, start + 1, lang, "\n".join(body) + "\n", marker.group(1) if marker else None))
    return tuple(out)


def all_blocks() -> list[Block]:
    return [b for path in doc_files() for b in blocks(path)]


def example(name: str) -> Block:
    """The one block marked ``name``, in README.md or docs/."""
    found = [b for b in all_blocks() if b.name == name]
    assert found, f"no example marked {name!r} in README.md or docs/*.md"
    assert len(found) == 1, f"example {name!r} is marked more than once: {[b.where for b in found]}"
    return found[0]


def examples(prefix: str) -> list[Block]:
    """Every block whose marker starts with ``prefix``: README.md first, then docs/ by file name, each in
    document order."""
    found = [b for b in all_blocks() if b.name is not None and b.name.startswith(prefix)]
    assert found, f"no example marked {prefix!r}... in README.md or docs/*.md"
    return found

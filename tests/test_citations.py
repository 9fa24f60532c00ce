"""Every citation in code, schemas, fixtures, docs and the README names a repository document and a heading
that exists in it (``docs/<name>.md#<anchor>``, GitHub-style anchors); no citation points elsewhere."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"(?<![\w/.-])((?:\.\./)?docs/[\w.-]+\.md)(#[\w-]+)?")
# A section sign is only allowed after an RFC number (RFC 6455 \u00a77.4): our documents are cited by heading.
SECTION_SIGN = "\u00a7"
AFTER_RFC = re.compile(r"RFC ?\d+ ?$")


def _sources() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    sources = (("simulator", {".py", ".pyi", ".proto"}), ("schemas", {".json"}), ("fixtures", {".toml", ".json"}),
               ("tests", {".py", ".js"}))
    for top, exts in sources:
        files += [p for p in sorted((ROOT / top).rglob("*")) if p.suffix in exts and "node_modules" not in p.parts]
    return files


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation other than '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"`|\*\*|\*", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(doc: Path) -> frozenset[str]:
    found: list[str] = []
    in_code = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (m := re.match(r"#{1,6} (.+)", line)):
            base = slug(m.group(1))
            n = found.count(base)
            found.append(base if n == 0 else f"{base}-{n}")
    return frozenset(found)


def citations() -> list[tuple[Path, int, str, str]]:
    out = []
    for path in _sources():
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in CITATION.finditer(line):
                out.append((path, no, m.group(1), (m.group(2) or "")[1:]))
    return out


def test_there_are_citations_to_check() -> None:
    assert len(citations()) > 100


def test_every_citation_resolves() -> None:
    dangling = []
    for path, no, doc, anchor in citations():
        target = (ROOT / doc.removeprefix("../")).resolve()
        where = f"{path.relative_to(ROOT)}:{no}"
        if not target.is_file():
            dangling.append(f"{where}: {doc} does not exist")
        elif anchor and anchor not in anchors(target):
            dangling.append(f"{where}: {doc} has no heading #{anchor}")
    assert not dangling, "\n".join(dangling)


def section_numbers(line: str) -> int:
    """How many section signs in ``line`` are not part of an RFC reference."""
    return sum(1 for i, ch in enumerate(line) if ch == SECTION_SIGN and not AFTER_RFC.search(line[max(0, i - 12):i]))


def test_no_section_numbers_left() -> None:
    found = [f"{p.relative_to(ROOT)}:{no}: {line.strip()}" for p in _sources()
             for no, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if section_numbers(line)]
    assert not found, "cite docs/<name>.md#<heading> instead:\n" + "\n".join(found)


@pytest.mark.parametrize(("heading", "anchor"), [
    ("Retry ladder", "retry-ladder"),
    ("`start_time` described as the end time", "start_time-described-as-the-end-time"),
    ("Close, reconnect and handshake failures", "close-reconnect-and-handshake-failures"),
])
def test_slug_is_githubs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_section_signs_are_found() -> None:
    assert section_numbers(f"(semantics {SECTION_SIGN}1.2)") == 1
    assert section_numbers(f"RFC 6455 {SECTION_SIGN}7.4 and RFC7231{SECTION_SIGN}6.4") == 0


def test_a_dangling_citation_is_caught(tmp_path: Path) -> None:
    doc = tmp_path / "d.md"
    doc.write_text("# Title\n## Retry ladder\n", encoding="utf-8")
    assert "retry-ladder" in anchors(doc) and "no-such-heading" not in anchors(doc)

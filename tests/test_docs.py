"""README.md and docs/*.md hold together: the quick start works as the README says, every runnable
example is marked and run by a test, every relative link resolves, and every command is documented."""

from __future__ import annotations

import json
import re
import shlex
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from simulator.cli import COMMANDS, build_parser, main
from tests.docs_examples import ROOT, all_blocks, blocks, doc_files, example

# Languages whose blocks are examples to run; other blocks (``text`` diagrams, output) may go unmarked.
RUNNABLE = {"python", "py", "bash", "sh", "shell", "console", "toml", "json"}
# Reference pages written from the platform's documents rather than as guides to run.
REFERENCE_PAGES = {"protocol.md", "semantics.md", "events.md", "openapi.md"}


# -- the quick start -----------------------------------------------------------------------------------

def quickstart(name: str) -> list[str]:
    """The last command of the one-line block, without its leading ``NAME=value`` assignments."""
    (line,) = example(name).code.strip().splitlines()
    argv = shlex.split(line.split(" && ")[-1])
    while argv and re.fullmatch(r"[A-Za-z_]\w*=.*", argv[0]):
        argv = argv[1:]
    return argv


def test_the_quickstart_push_is_what_the_readme_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """``.venv/bin/feishu-sim push --count 5``: five events to the built-in receiver, all acked, exit 0;
    with no key in the environment, plaintext and unsigned (as the README says)."""
    argv = quickstart("quickstart-push")
    assert argv[0] == ".venv/bin/feishu-sim" and argv[1:] == ["push", "--count", "5"]
    monkeypatch.delenv("FEISHU_ENCRYPT_KEY", raising=False)
    monkeypatch.delenv("FEISHU_VERIFICATION_TOKEN", raising=False)
    assert main(argv[1:]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 5 and all(ln.startswith("acked ") and "vc.meeting.share_ended_v1" in ln for ln in lines)
    assert "built-in reference receiver" in captured.err

    transcript = tmp_path / "t.ndjson"
    assert main([*argv[1:], "--transcript", str(transcript)]) == 0
    attempts = [r for r in map(json.loads, transcript.read_text().splitlines()) if r["kind"] == "attempt"]
    assert len(attempts) == 5
    for a in attempts:
        assert "X-Lark-Signature" not in a["request_headers"]
        assert json.loads(a["request_body"])["schema"] == "2.0"  # the plaintext envelope
    capsys.readouterr()


def test_the_quickstart_test_command_is_the_ci_test_script() -> None:
    block = example("quickstart-test").code.strip()
    assert block.startswith('python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && ')
    assert quickstart("quickstart-test") == ["bash", ".ci/test"]
    script = (ROOT / ".ci" / "test").read_text(encoding="utf-8")
    for step in ("ruff check simulator tests", "mypy", "python -m pytest -q"):
        assert step in script
    assert "bash .ci/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


# -- every example is marked and run --------------------------------------------------------------------

def guide_files() -> list[Path]:
    return [p for p in doc_files() if p.name not in REFERENCE_PAGES]


def test_every_runnable_block_is_a_marked_example() -> None:
    unmarked = [b.where for p in guide_files() for b in blocks(p) if b.lang in RUNNABLE and b.name is None]
    assert unmarked == [], "mark these with <!-- example: NAME --> and run them in a test"


def test_example_names_are_unique() -> None:
    names = [b.name for b in all_blocks() if b.name is not None]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


def requested_names() -> tuple[set[str], set[str]]:
    """The string literals of the test files (a test names its examples: ``example("cli-push")``, or in a
    parametrize list) and the prefixes they ask for with ``examples("...")``. ``example()`` itself fails
    when a name is not found, so a test cannot ask for an example that is gone."""
    exact: set[str] = set()
    prefixes: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        if path.name == "docs_examples.py":
            continue
        text = path.read_text(encoding="utf-8")
        exact.update(re.findall(r'"([a-z0-9][a-z0-9-]*)"', text))
        prefixes.update(re.findall(r'\bexamples\(\s*"([^"]+)"', text))
    return exact, prefixes


def test_every_marked_example_is_read_by_a_test() -> None:
    exact, prefixes = requested_names()
    unread = [f"{b.where} ({b.name})" for b in all_blocks() if b.name is not None
              and b.name not in exact and not any(b.name.startswith(p) for p in prefixes)]
    assert unread == []


# -- links ----------------------------------------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def prose(path: Path) -> list[str]:
    """The lines of a Markdown file outside fenced code blocks, with inline code spans kept."""
    out, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append(line)
    return out


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: markup removed, lowercase, punctuation other than '-' and '_'
    removed, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in prose(path):
        m = HEADING.match(line)
        if m:
            base = anchor(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    text = "\n".join(prose(path))
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    found = LINK.findall(text)
    found += [m.group(1) for line in text.splitlines() if (m := REF_DEF.match(line))]
    return found


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for target in links(path):
        parts = urlsplit(target)
        if parts.scheme or target.startswith("//"):
            continue  # absolute URLs are not checked here
        dest = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif parts.fragment and (dest.suffix != ".md" or unquote(parts.fragment) not in anchors(dest)):
            broken.append(f"{target}: no heading with that anchor in {dest.relative_to(ROOT)}")
    assert broken == []


def test_the_link_checker_sees_links_and_anchors() -> None:
    readme = ROOT / "README.md"
    assert "docs/architecture.md" in links(readme)
    assert "long-connection-with-the-official-larkwsclient" in anchors(readme)
    assert anchor("Long connection, with the official `lark.ws.Client`") == \
        "long-connection-with-the-official-larkwsclient"
    assert anchor("Adding an event type to the `vc.meeting` family") == "adding-an-event-type-to-the-vcmeeting-family"
    assert anchor("事件 (events) & more_stuff") == "事件-events--more_stuff"


# -- commands -------------------------------------------------------------------------------------------

def test_every_command_is_in_the_cli_guide() -> None:
    table = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = set(sub.choices)  # type: ignore[arg-type]
    assert len(names) == len(COMMANDS)
    for name in names:
        assert f"| `{name}` |" in table, name

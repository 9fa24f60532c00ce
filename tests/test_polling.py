"""The tests' polling helper: it returns what it waited for, and fails naming it."""

from __future__ import annotations

import asyncio
import itertools
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.polling import WaitTimeout, await_until, wait_for_ready_file, wait_until


def test_wait_until_returns_the_first_truthy_value() -> None:
    calls = itertools.count()
    assert wait_until(lambda: next(calls) >= 3 and "done", "three calls", interval=0) == "done"


def test_wait_until_names_what_it_waited_for() -> None:
    t0 = time.monotonic()
    with pytest.raises(WaitTimeout, match=r"timed out after 0.05 s waiting for the moon \(last value: \[\]\)"):
        wait_until(list, "the moon", timeout=0.05)
    assert time.monotonic() - t0 < 1


def test_without_a_description_it_names_the_predicate() -> None:
    def nothing_yet() -> bool:
        return False

    with pytest.raises(AssertionError, match=re.escape("waiting for test_without_a_description_it_names_the_predicate"
                                                       ".<locals>.nothing_yet")):
        wait_until(nothing_yet, timeout=0)


def test_await_until_lets_the_loop_run() -> None:
    async def main() -> str:
        box: list[str] = []

        async def fill() -> None:
            for _ in range(5):
                await asyncio.sleep(0)
            box.append("filled")

        task = asyncio.create_task(fill())
        got = await await_until(lambda: box[0] if box else "", "the box to be filled", interval=0)
        await task
        return got

    assert asyncio.run(main()) == "filled"


def test_await_until_times_out() -> None:
    with pytest.raises(WaitTimeout, match="waiting for godot"):
        asyncio.run(await_until(lambda: False, "godot", timeout=0.05))


def test_ready_file_text(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = f"import pathlib, time; pathlib.Path({str(ready)!r}).write_text('http://x\\n'); time.sleep(30)"
    with subprocess.Popen([sys.executable, "-c", code]) as proc:
        try:
            assert wait_for_ready_file(proc, ready) == "http://x"
        finally:
            proc.kill()


def test_a_process_exiting_before_its_ready_file_fails_at_once(tmp_path: Path) -> None:
    code = "import sys; sys.stderr.write('port in use'); sys.exit(3)"
    with (subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) as proc,
          pytest.raises(AssertionError, match="exited with 3 before writing ready: port in use")):
        wait_for_ready_file(proc, tmp_path / "ready", timeout=30)

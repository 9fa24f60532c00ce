"""The one way tests wait for something to become true: poll a predicate until it holds or a deadline
passes, then fail naming what was awaited (instead of sleeping a fixed time and hoping it was enough).

``wait_until`` blocks the calling thread (for servers and clients running in other threads);
``await_until`` yields to the running event loop between polls (for work on the same loop);
``wait_for_ready_file`` is ``wait_until`` for a server subprocess announcing itself in a file.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")

TIMEOUT_S = 10.0  # generous: a shared CI machine may be slow; a passing test never waits this long
INTERVAL_S = 0.01


class WaitTimeout(AssertionError):
    """The awaited condition did not hold in time (an ``AssertionError``, so pytest reports it as a failure)."""


class _Poll(Generic[T]):
    """One wait's deadline: ``done()`` calls the predicate once, keeps a truthy value in ``value``, and raises
    ``WaitTimeout`` once the deadline has passed; the caller sleeps its own way between calls."""

    value: T  # set by ``done()`` once the predicate held

    def __init__(self, predicate: Callable[[], T], what: str | None, timeout: float) -> None:
        self.predicate, self.what, self.timeout = predicate, what, timeout
        self.deadline = time.monotonic() + timeout

    def done(self) -> bool:
        value = self.predicate()
        if value:
            self.value = value
            return True
        if time.monotonic() >= self.deadline:
            what = self.what or getattr(self.predicate, "__qualname__", None) or repr(self.predicate)
            raise WaitTimeout(f"timed out after {self.timeout:g} s waiting for {what} (last value: {value!r})")
        return False


def wait_until(predicate: Callable[[], T], what: str | None = None, *, timeout: float = TIMEOUT_S,
               interval: float = INTERVAL_S) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy, and return that;
    after ``timeout`` seconds raise ``WaitTimeout`` naming ``what`` (default: the predicate's name)."""
    poll = _Poll(predicate, what, timeout)
    while not poll.done():
        time.sleep(interval)
    return poll.value


async def await_until(predicate: Callable[[], T], what: str | None = None, *, timeout: float = TIMEOUT_S,
                      interval: float = INTERVAL_S) -> T:
    """``wait_until`` for the running event loop: between polls it awaits ``asyncio.sleep(interval)``
    (``interval=0`` just lets every other ready task run once), so work on the same loop can progress."""
    poll = _Poll(predicate, what, timeout)
    while not poll.done():
        await asyncio.sleep(interval)
    return poll.value


def wait_for_ready_file(proc: subprocess.Popen[Any], path: Path, *, timeout: float = TIMEOUT_S) -> str:
    """Wait until the subprocess ``proc`` has written ``path`` (its ``--ready-file``: a URL or port) and return
    the text; fail at once, with its stderr when piped, if the process exits first."""

    def written() -> str:
        if proc.poll() is not None:
            err = proc.communicate()[1] if proc.stderr is not None else None
            raise AssertionError(f"the process exited with {proc.returncode} before writing {path.name}: {err or ''}")
        return path.read_text().strip() if path.exists() else ""

    return wait_until(written, f"{path.name} to be written by {proc.args!r}", timeout=timeout)

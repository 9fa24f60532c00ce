"""Stopping a load run early (Ctrl-C, SIGTERM) and never leaving a worker process behind.

The parent asks every driver to stop through an event (an ``asyncio.Event`` in process, a
``multiprocessing`` event across processes); each driver then sends nothing more and lets its requests
in flight finish. Worker processes ignore SIGINT (a terminal's Ctrl-C reaches the whole process group:
the parent decides) and watch their parent: when it is gone, they exit at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

WATCH_S = 0.25  # how often a worker checks that its parent is alive (and for the parent's halt)
GO_POLL_S = 0.01  # how often a ready worker looks for the parent's go


class Stoppable(Protocol):
    def request_stop(self) -> None: ...


def on_event(event: asyncio.Event | None, action: Callable[[], None]) -> asyncio.Task[None] | None:
    """A task calling ``action`` once ``event`` is set (``None``: nothing to watch)."""
    if event is None:
        return None

    async def watch() -> None:
        await event.wait()
        action()

    return asyncio.get_running_loop().create_task(watch())


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while the workers start, so that they are born ignoring it (only the main thread can
    change it; elsewhere nothing changes)."""
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def watch_parent(loop: asyncio.AbstractEventLoop, driver: Stoppable, halt: Any, parent: int) -> None:
    """A worker's watchdog thread: ``halt`` (a shared flag) set by the parent (interrupted) stops the driver
    gracefully; a parent that is gone (killed) ends the worker at once -- no orphan keeps sending."""
    def watch() -> None:
        while not halt.value:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(WATCH_S)
        with contextlib.suppress(RuntimeError):  # the loop is closed: the run is over anyway
            loop.call_soon_threadsafe(driver.request_stop)

    threading.Thread(target=watch, name="feishu-sim-load-watchdog", daemon=True).start()


class Inbox:
    """The messages of a ``multiprocessing`` queue, read by a daemon thread. A worker killed in the middle
    of a message leaves half of it in the pipe, and a read then waits for the rest for ever: in that
    thread, never in the caller's event loop (``get`` has a timeout) nor at the interpreter's exit."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = threading.Event()
        threading.Thread(target=self._read, name="feishu-sim-load-inbox", daemon=True).start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                item = self._source.get(True, WATCH_S)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):  # the queue is closed
                return
            try:
                self._loop.call_soon_threadsafe(self._inbox.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody listens any more
                return

    async def get(self, timeout: float) -> Any:
        """The next message; ``asyncio.TimeoutError`` after ``timeout`` seconds without one."""
        return await asyncio.wait_for(self._inbox.get(), timeout)

    def close(self) -> None:
        self._closed.set()

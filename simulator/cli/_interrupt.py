"""Ctrl-C and SIGTERM for the commands that run something: stop gracefully, keep what was measured.

``run_interruptible(main)`` runs ``main(stop)`` on a fresh event loop with SIGINT and SIGTERM handled by
the loop. The first signal sets ``stop`` (and calls what was registered with ``stop.on_stop``): the
command stops starting new work, lets what is in flight finish (each wait has its own timeout), reports
what happened and returns ``stop.exit_code`` (130 for SIGINT, 143 for SIGTERM). A second signal cancels
the run at once (``KeyboardInterrupt``, exit 130). Where the loop cannot take signals (not the main
thread), Python's default applies: ``KeyboardInterrupt``; a signal ignored by whoever started the
process (a background job of a script) stays ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)


class Stop:
    """Whether (and by which signal) the run was asked to stop."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._callbacks: list[Callable[[], None]] = []
        self.event = asyncio.Event()

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """128 + the signal number, the shell's convention (130 for Ctrl-C)."""
        return 128 + (self.signum or signal.SIGINT)

    def on_stop(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)
        if self.requested:
            callback()

    def request(self, signum: int = signal.SIGINT) -> None:
        if self.requested:
            return
        self.signum = signum
        self.event.set()
        for callback in list(self._callbacks):
            callback()


def run_interruptible(main: Callable[[Stop], Coroutine[Any, Any, T]],
                      loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop) -> T:
    loop = loop_factory()
    asyncio.set_event_loop(loop)
    installed: list[int] = []
    try:
        stop = Stop()
        task = loop.create_task(main(stop))

        def on_signal(signum: int) -> None:
            if stop.requested:
                task.cancel()  # the second signal: now
            else:
                stop.request(signum)

        for signum in SIGNALS:
            if signal.getsignal(signum) == signal.SIG_IGN:  # ignored by whoever started us (e.g. `cmd &`): keep it so
                continue
            try:
                loop.add_signal_handler(signum, on_signal, signum)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no signals here
                continue
            installed.append(signum)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None
    finally:
        for signum in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
        _cancel_all(loop)
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.wait(tasks, timeout=5))

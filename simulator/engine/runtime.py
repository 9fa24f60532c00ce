"""How a command runs the engine in a process of its own: event loop and garbage collector.

* The loop comes from the one chooser (``simulator.loops``): uvloop when installed, as for ``serve`` and
  ``load``; a push's per-request loop work (callbacks, timers, socket writes) is C code there.
* The collector: a push keeps a record of every delivery (``Delivery``, ``Attempt``) and, until they
  are sent, every generated envelope (a few dozen dicts each), and almost none of it is ever garbage
  in a cycle. CPython's default thresholds then run a young collection every 700 allocations and full
  ones that walk the whole growing heap: ~35 us of a push's ~140 us per event (20,000 events to nginx,
  ``bench_push.py``). ``quiet_gc`` freezes what exists when the run starts (imports, Faker's data) and
  collects the young generation every 20,000 allocations instead; cycles are still collected, and the
  settings are restored when the run ends (the CLI also runs inside test processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from simulator.loops import EventLoopChoice, loop_factory

T = TypeVar("T")
GC_THRESHOLD = (20_000, 10, 10)


@contextlib.contextmanager
def quiet_gc(threshold: tuple[int, int, int] = GC_THRESHOLD) -> Iterator[None]:
    """Freeze the objects alive now and collect less often while the block runs; restore afterwards.
    Leaves an existing freeze alone (a host process may have frozen its heap on purpose)."""
    old = gc.get_threshold()
    froze = gc.get_freeze_count() == 0
    if froze:
        gc.freeze()
    gc.set_threshold(*threshold)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        if froze:
            gc.unfreeze()


def run(main: Coroutine[Any, Any, T], *, loop: EventLoopChoice = "auto") -> T:
    """``asyncio.run(main)`` on a loop of ``loop``'s kind, with ``quiet_gc``."""
    with quiet_gc():
        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
                return runner.run(main)
        new_loop = loop_factory(loop)()  # pragma: no cover - Python 3.10: what asyncio.run does
        try:
            asyncio.set_event_loop(new_loop)
            return new_loop.run_until_complete(main)
        finally:
            try:
                pending = asyncio.all_tasks(new_loop)
                for task in pending:
                    task.cancel()
                new_loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                new_loop.run_until_complete(new_loop.shutdown_asyncgens())
                new_loop.run_until_complete(new_loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                new_loop.close()

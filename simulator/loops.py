"""Which asyncio event loop to run on: the one chooser for server threads, ``serve`` and ``load``.

uvloop (an optional extra) does several times less CPU work per socket operation than the stdlib loop;
``auto`` takes it when it is installed. Only the loop that is created changes: no global event-loop
policy is touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from simulator.errors import ConfigError

EventLoopChoice = Literal["asyncio", "uvloop", "auto"]
EVENT_LOOPS: tuple[EventLoopChoice, ...] = ("asyncio", "uvloop", "auto")


def loop_factory(choice: EventLoopChoice = "asyncio") -> Callable[[], asyncio.AbstractEventLoop]:
    """How to make a loop: the stdlib's, uvloop's (``ConfigError`` when not installed) or ``auto``
    (uvloop when installed, else the stdlib's)."""
    if choice not in EVENT_LOOPS:
        raise ConfigError(f"unknown event loop {choice!r}: use one of {', '.join(EVENT_LOOPS)}")
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise ConfigError("event loop uvloop requested but uvloop is not installed") from None
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory
    return asyncio.new_event_loop


def new_event_loop(choice: EventLoopChoice = "auto") -> asyncio.AbstractEventLoop:
    """A new loop as ``choice`` says (default ``auto``)."""
    return loop_factory(choice)()


def loop_name(loop: Any) -> str:
    """``uvloop`` or ``asyncio``: which kind ``loop`` is (for reports)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


__all__ = ["EVENT_LOOPS", "EventLoopChoice", "loop_factory", "loop_name", "new_event_loop"]

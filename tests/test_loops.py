"""The one event-loop chooser (``simulator.loops``), used by the server threads, ``serve`` and ``load``."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from simulator.errors import ConfigError
from simulator.loops import loop_factory, loop_name, new_event_loop


def test_asyncio_is_the_stdlib_loop() -> None:
    loop = loop_factory("asyncio")()
    try:
        assert loop_name(loop) == "asyncio" and type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()


def test_auto_takes_uvloop_when_installed() -> None:
    uvloop = pytest.importorskip("uvloop")
    loop = new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop) and loop_name(loop) == "uvloop"
    finally:
        loop.close()


def test_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as after a plain install (uvloop is an extra)
    loop = new_event_loop("auto")
    try:
        assert loop_name(loop) == "asyncio" and isinstance(loop, asyncio.AbstractEventLoop)
    finally:
        loop.close()
    with pytest.raises(ConfigError, match="uvloop requested but uvloop is not installed"):
        loop_factory("uvloop")


def test_unknown_choice_is_a_config_error() -> None:
    bogus: Any = "trio"
    with pytest.raises(ConfigError, match="unknown event loop 'trio'"):
        loop_factory(bogus)

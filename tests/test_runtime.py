"""The command runtime: the chosen loop, a quieter collector while the run lasts, everything restored."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
from typing import Any

from simulator.engine import runtime
from simulator.loops import loop_name


def test_run_on_the_chosen_loop_with_quiet_gc_then_restores() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    seen: dict[str, Any] = {}

    async def probe() -> int:
        seen["loop"] = loop_name(asyncio.get_running_loop())
        seen["threshold"] = gc.get_threshold()
        seen["frozen"] = gc.get_freeze_count()
        return 7

    assert runtime.run(probe()) == 7
    assert seen["loop"] == ("uvloop" if importlib.util.find_spec("uvloop") else "asyncio")
    assert seen["threshold"] == runtime.GC_THRESHOLD and seen["frozen"] > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
    assert runtime.run(probe(), loop="asyncio") == 7 and seen["loop"] == "asyncio"


def test_an_existing_freeze_is_left_alone() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with runtime.quiet_gc():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_errors_propagate_and_settings_come_back() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()

    async def boom() -> None:
        raise ValueError("x")

    try:
        runtime.run(boom())
    except ValueError:
        pass
    else:
        raise AssertionError("the error was swallowed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen

"""``make_clock``: the one rule that turns a time scale and a start into a clock (engine, serve)."""

from __future__ import annotations

import time

import pytest

from simulator.clock import SystemClock, VirtualClock, is_instant, make_clock
from simulator.config import SimConfig
from simulator.engine.core import Simulator

START = 1_772_000_000.0


@pytest.mark.parametrize("scale", [None, 1, 1.0])
def test_real_time_without_a_start(scale: float | None) -> None:
    assert isinstance(make_clock(scale), SystemClock)


@pytest.mark.parametrize(("scale", "expected"), [(None, 1.0), (1, 1.0), (0, 0.0), (0.001, 0.001)])
def test_a_pinned_start_gives_a_virtual_clock_from_it(scale: float | None, expected: float) -> None:
    clock = make_clock(scale, START)
    assert isinstance(clock, VirtualClock) and clock.scale == expected
    assert START <= clock.now() < START + 60


def test_other_scales_are_virtual_from_now() -> None:
    clock = make_clock(0)
    assert is_instant(clock) and abs(clock.now() - time.time()) < 60


@pytest.mark.parametrize(("scale", "start"), [(None, None), (None, START), (0.0, START), (0.5, None)])
def test_the_engine_uses_it(scale: float | None, start: float | None) -> None:
    clock = Simulator(SimConfig(time_scale=scale, start_time=start)).clock
    expected = make_clock(scale, start)
    assert type(clock) is type(expected) and getattr(clock, "scale", None) == getattr(expected, "scale", None)
    if start is not None:
        assert start <= clock.now() < start + 60

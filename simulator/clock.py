"""Time, from one injectable place.

``Clock.now()`` is platform (wall) time in seconds since the epoch; ``Clock.sleep`` waits in platform
time. ``SystemClock`` is real time. ``VirtualClock`` runs platform time at ``scale`` x real time:
``scale=0`` makes every sleep instant (time jumps forward), ``scale=0.001`` compresses an hour into 3.6 s.
Latency measurements always use ``time.perf_counter`` (they measure the receiver, not the platform).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from simulator.errors import ConfigError


class Clock(Protocol):
    def now(self) -> float:
        """Platform time, epoch seconds."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of platform time."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)


class VirtualClock:
    """Platform time that starts at ``start`` and advances by sleeping (scaled) or by ``advance``.

    With ``scale > 0`` real elapsed time also moves the clock (x ``1/scale``), so a compressed ladder
    still records realistic platform times.
    """

    def __init__(self, start: float | None = None, scale: float = 0.0) -> None:
        if scale < 0:
            raise ConfigError(f"time scale must be >= 0, got {scale!r}")
        self._start = time.time() if start is None else float(start)
        self._scale = scale
        self._offset = 0.0
        self._real0 = time.perf_counter()

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        real = 0.0
        if self._scale > 0:
            real = (time.perf_counter() - self._real0) / self._scale
        return self._start + self._offset + real

    def advance(self, seconds: float) -> None:
        self._offset += max(0.0, seconds)

    def advance_to(self, when: float) -> None:
        """Jump forward to platform time ``when`` (never backwards)."""
        self.advance(when - self.now())

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        if self._scale == 0:
            self._offset += seconds
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(seconds * self._scale)


def is_instant(clock: Clock) -> bool:
    """True for a clock whose time moves only when told to (``VirtualClock(scale=0)``)."""
    return isinstance(clock, VirtualClock) and clock.scale == 0


def real_seconds(clock: Clock, platform_seconds: float) -> float:
    """How long to wait in real time for ``platform_seconds`` to pass on ``clock``."""
    if platform_seconds <= 0:
        return 0.0
    if isinstance(clock, VirtualClock):
        return platform_seconds * clock.scale
    return platform_seconds


def make_clock(time_scale: float | None, start: float | None = None) -> Clock:
    """The clock for a run: real time (``SystemClock``) when ``time_scale`` is None or 1 and no ``start``
    is pinned; otherwise a ``VirtualClock`` from ``start`` (None: now) at ``time_scale`` (None: 1)."""
    if start is None and time_scale in (None, 1):
        return SystemClock()
    return VirtualClock(start, scale=1.0 if time_scale is None else time_scale)

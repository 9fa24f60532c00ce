"""Open-loop arrival schedules: when request ``k`` is *meant* to be sent, independent of responses.

A schedule is a piecewise-linear arrival rate (requests/s) over time, built from stages as in k6's
``ramping-arrival-rate``: each stage ramps linearly from the previous rate to its ``rate`` over its
``duration`` (equal rates hold). ``arrivals(t)`` is the integral of the rate (how many requests are due by
``t``); ``time_of(k)`` is its inverse (when request ``k`` is due). Both are pure arithmetic, so the
generator keeps no queue of pending requests: a backlog is just ``due - sent``, which keeps memory flat
whatever the receiver does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.durations import MAX_DURATION_S, parse_duration
from simulator.errors import ConfigError, FixtureError

_EPS = 1e-9


def parse_rate(text: str | float | int, *, what: str = "rate", allow_zero: bool = False) -> float:
    try:
        rate = float(text)
    except (TypeError, ValueError):
        raise ConfigError(f"invalid {what} {text!r}: expected requests per second") from None
    if not math.isfinite(rate) or rate < 0 or (rate == 0 and not allow_zero):
        raise ConfigError(f"invalid {what} {text!r}: must be > 0" if not allow_zero else f"invalid {what} {text!r}")
    return rate


@dataclass(frozen=True)
class Stage:
    """Ramp linearly to ``rate`` requests/s over ``duration`` seconds."""

    duration: float
    rate: float


@dataclass(frozen=True)
class _Segment:
    t0: float
    t1: float
    r0: float
    r1: float
    n0: float  # arrivals due before t0

    @property
    def n1(self) -> float:
        return self.n0 + (self.r0 + self.r1) / 2.0 * (self.t1 - self.t0)


class Schedule:
    """Arrival times of an open-loop run. Request ``k`` (0-based) is due at ``time_of(k)`` seconds."""

    def __init__(self, stages: Sequence[Stage], *, start_rate: float | None = None, offset: float = 0.0) -> None:
        if not stages:
            raise ConfigError("a schedule needs at least one stage")
        segs: list[_Segment] = []
        t = 0.0
        n = 0.0
        prev = stages[0].rate if start_rate is None else start_rate
        for st in stages:
            seg = _Segment(t, t + st.duration, prev, st.rate, n)
            segs.append(seg)
            t, n, prev = seg.t1, seg.n1, st.rate
        self.stages = tuple(stages)
        self.start_rate = stages[0].rate if start_rate is None else start_rate
        self._segs = tuple(segs)
        self.duration = t
        self.offset = offset
        expected = n
        self.total = max(0, math.ceil(expected - _EPS))
        if self.total == 0:
            raise ConfigError("the schedule sends no requests (every rate is 0)")

    @classmethod
    def constant(cls, rate: float, duration: float) -> Schedule:
        return cls([Stage(duration, rate)])

    def scaled(self, factor: float, *, offset: float = 0.0) -> Schedule:
        """The same shape at ``factor`` x the rate (one worker's share), shifted by ``offset`` seconds."""
        return Schedule([Stage(s.duration, s.rate * factor) for s in self.stages],
                        start_rate=self.start_rate * factor, offset=offset)

    def rate_at(self, t: float) -> float:
        t -= self.offset
        for s in self._segs:
            if t < s.t1:
                if t < s.t0:
                    return 0.0
                return s.r0 + (s.r1 - s.r0) * (t - s.t0) / (s.t1 - s.t0)
        return 0.0

    def arrivals(self, t: float) -> float:
        """Requests due by ``t`` (a real number; request k is due once ``arrivals(t) >= k``)."""
        t -= self.offset
        if t <= 0:
            return 0.0
        for s in self._segs:
            if t < s.t1:
                dt = t - s.t0
                slope = (s.r1 - s.r0) / (s.t1 - s.t0)
                return s.n0 + s.r0 * dt + slope * dt * dt / 2.0
        return self._segs[-1].n1

    def due(self, t: float) -> int:
        """How many requests (0..total) are due at ``t``: request k is due when ``time_of(k) <= t``."""
        if t < self.offset:
            return 0
        return min(self.total, math.floor(self.arrivals(t) + _EPS) + 1)

    def time_of(self, k: int) -> float:
        """When request ``k`` is due (seconds since the start), the inverse of ``arrivals``."""
        for s in self._segs:
            if k < s.n1 - _EPS or s is self._segs[-1]:
                need = k - s.n0
                if need <= 0:
                    return self.offset + s.t0
                slope = (s.r1 - s.r0) / (s.t1 - s.t0)
                if abs(slope) < 1e-12:
                    dt = need / s.r0 if s.r0 > 0 else 0.0
                else:
                    # r0*dt + slope*dt^2/2 = need  ->  dt = (-r0 + sqrt(r0^2 + 2*slope*need)) / slope
                    disc = max(0.0, s.r0 * s.r0 + 2.0 * slope * need)
                    dt = (math.sqrt(disc) - s.r0) / slope
                return self.offset + s.t0 + min(max(dt, 0.0), s.t1 - s.t0)
        raise AssertionError("unreachable")  # pragma: no cover

    def describe(self) -> str:
        if len(self.stages) == 1 and self.start_rate == self.stages[0].rate:
            return f"{self.stages[0].rate:g}/s for {self.duration:g} s"
        parts = [f"{s.rate:g}/s over {s.duration:g} s" for s in self.stages]
        return f"from {self.start_rate:g}/s: " + ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"start_rate": self.start_rate, "duration_s": self.duration, "requests": self.total,
                "stages": [{"duration_s": s.duration, "rate": s.rate} for s in self.stages]}


def parse_stages(path: str | Path, *, start_rate: float | None = None) -> Schedule:
    """Read a stages file: JSON, either a list of ``{"duration": "30s", "rate": 500}`` or an object
    ``{"start_rate": 0, "stages": [...]}``. Each stage ramps linearly from the previous rate to its own;
    the first ramps from ``start_rate`` (the file's, else the argument, else 0, as k6 does).
    Anything invalid raises ``FixtureError`` naming the file (and the stage)."""
    p = Path(path)
    name = f"stages file {str(p)!r}"
    items, start_rate = _stages_document(p, name, start_rate)
    stages = [_stage(item, f"{name}, stage {i}") for i, item in enumerate(items, start=1)]
    if sum(s.duration for s in stages) > MAX_DURATION_S:
        raise FixtureError(f"{name}: longer than 30 days in total")
    try:
        return Schedule(stages, start_rate=0.0 if start_rate is None else start_rate)
    except ConfigError as exc:
        raise FixtureError(f"{name}: {exc}") from None


def _stages_document(p: Path, name: str, start_rate: float | None) -> tuple[list[Any], float | None]:
    """The file's list of stages and the start rate (the file's, else ``start_rate``)."""
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FixtureError(f"cannot read {name}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{name} is not valid JSON: {exc}") from None
    items: Any = doc
    if isinstance(doc, dict):
        unknown = set(doc) - {"start_rate", "stages"}
        if unknown:
            raise FixtureError(f"{name}: unknown key {sorted(unknown)[0]!r}")
        items = doc.get("stages")
        if "start_rate" in doc:
            try:
                start_rate = parse_rate(doc["start_rate"], what="start_rate", allow_zero=True)
            except ConfigError as exc:
                raise FixtureError(f"{name}: {exc}") from None
    if not isinstance(items, list) or not items:
        raise FixtureError(f"{name}: expected a non-empty list of stages")
    return items, start_rate


def _stage(item: Any, where: str) -> Stage:
    if not isinstance(item, dict):
        raise FixtureError(f"{where}: expected an object like {{\"duration\": \"30s\", \"rate\": 500}}")
    extra = set(item) - {"duration", "rate", "target"}
    if extra:
        raise FixtureError(f"{where}: unknown key {sorted(extra)[0]!r}")
    if "duration" not in item or ("rate" not in item and "target" not in item):
        raise FixtureError(f"{where}: needs 'duration' and 'rate'")
    try:
        duration = parse_duration(item["duration"], what="duration", positive=True)
        rate = parse_rate(item["rate"] if "rate" in item else item["target"], allow_zero=True)
    except ConfigError as exc:
        raise FixtureError(f"{where}: {exc}") from None
    return Stage(duration, rate)

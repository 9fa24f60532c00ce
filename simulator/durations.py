"""Durations: the one grammar for every option, spec item and file field that takes a length of time.

Accepted forms (units in any case, spaces allowed between the parts)::

    10              seconds: a bare number, on its own only
    10s  500ms  250us  2m  2min  1.5h
    1m30s  1h30m  200 ms  1h 30m
                    several parts add up: largest unit first, each unit once

``parse_duration_range`` also takes ``a..b`` (``delay=200ms..2s``) where an option allows a range.
A number given as ``int`` or ``float`` (TOML and JSON files) is seconds.

Refused with ``ConfigError`` (one line naming the option and the accepted forms): negatives, NaN and
infinity, empty text, anything else, and durations over ``MAX_DURATION_S`` (30 days: longer than any
platform wait, the 6 h retry gap included, and small enough that later arithmetic on it cannot overflow).
"""

from __future__ import annotations

import math
import re
from typing import Final

from simulator.errors import ConfigError

MAX_DURATION_S: Final = 30 * 24 * 3600.0
FORMS: Final = "10, 10s, 500ms, 250us, 2m, 2min, 1m30s or 1.5h"

_UNITS: Final = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
# ``min`` and ``ms`` before ``m``: the regex takes the first alternative that matches.
_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|ms|min|s|m|h)", re.IGNORECASE)


def _seconds(text: str) -> float | None:
    """The seconds ``text`` spells, or None when it is not a duration."""
    if _NUMBER.fullmatch(text):
        return float(text)
    total, pos, last = 0.0, 0, math.inf
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None:
            return None
        scale = _UNITS[m.group(2).lower()]
        if scale >= last:  # "1s1m", "1m1min": one part per unit, largest first
            return None
        total += float(m.group(1)) * scale
        last, pos = scale, m.end()
    return total if pos else None


def parse_duration(text: object, *, what: str, positive: bool = False) -> float:
    """Seconds from ``text`` (see the module docstring); ``positive`` refuses zero too. ``text`` is
    normally a string or a number; anything else (a file's ``true`` or list) is refused like garbage."""
    seconds: float | None = None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    elif isinstance(text, str):
        raw = text.strip()
        if raw.startswith("-"):
            raise ConfigError(f"invalid {what} {text!r}: a duration cannot be negative")
        seconds = _seconds(raw)
    if seconds is None or math.isnan(seconds):
        raise ConfigError(f"invalid {what} {text!r}: expected a duration such as {FORMS}")
    if seconds < 0:
        raise ConfigError(f"invalid {what} {text!r}: a duration cannot be negative")
    if seconds > MAX_DURATION_S:  # infinity included
        raise ConfigError(f"invalid {what} {text!r}: longer than the limit of 30 days")
    if positive and seconds == 0:
        raise ConfigError(f"invalid {what} {text!r}: must be more than 0")
    return seconds


def parse_duration_range(text: str, *, what: str) -> tuple[float, float]:
    """``(lo, hi)`` from ``a..b``, or ``(d, d)`` from one duration; refuses ``hi < lo``."""
    lo_text, sep, hi_text = text.partition("..")
    try:
        lo = parse_duration(lo_text, what=what)
        hi = parse_duration(hi_text, what=what) if sep else lo
    except ConfigError as exc:
        if not sep:
            raise
        raise ConfigError(f"{exc} (in the range {text!r})") from None
    if hi < lo:
        raise ConfigError(f"invalid {what} {text!r}: the range's upper bound is below its lower bound")
    return lo, hi


__all__ = ["FORMS", "MAX_DURATION_S", "parse_duration", "parse_duration_range"]

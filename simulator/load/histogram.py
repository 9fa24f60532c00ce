"""Latency histograms: HdrHistogram (the ``hdrhistogram`` package) in microseconds, 3 significant digits.

HDR histograms have a fixed size whatever the number of samples (here 1 us .. 60 s, ~140 kB), merge
exactly (per-bucket addition), and serialise to a compact compressed string, which is how worker
processes hand their latencies to the parent. Percentiles are read up to 99.99 and the maximum.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000  # anything slower is clamped to 60 s (the budget is 3 s)
SIGNIFICANT_FIGURES = 3
PERCENTILES: tuple[float, ...] = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


class LatencyHistogram:
    """A latency histogram in microseconds with the few operations a run needs."""

    __slots__ = ("hdr",)

    def __init__(self, hdr: HdrHistogram | None = None) -> None:
        self.hdr = hdr if hdr is not None else new_histogram()

    def __del__(self) -> None:
        # An ``HdrHistogram`` and its encoder refer to each other, so without this its ~280 kB would wait
        # for the cyclic garbage collector; a run makes one histogram per second (and per worker), and RSS
        # crept up by ~1 MB every 10 s until a full collection. Breaking the cycle frees it at once.
        hdr = getattr(self, "hdr", None)
        if hdr is not None:
            hdr.encoder = None

    def record_us(self, us: int) -> None:
        self.hdr.record_value(min(max(int(us), LOWEST_US), HIGHEST_US))

    def record_s(self, seconds: float) -> None:
        self.record_us(int(seconds * 1_000_000))

    @property
    def count(self) -> int:
        return int(self.hdr.get_total_count())

    def add(self, other: LatencyHistogram) -> None:
        if other.count:
            self.hdr.add(other.hdr)

    def reset(self) -> None:
        self.hdr.reset()

    def encode(self) -> str:
        """A compact, compressed base64 string (the HdrHistogram interchange format)."""
        data = self.hdr.encode()
        return data.decode("ascii") if isinstance(data, bytes) else str(data)

    @classmethod
    def decode(cls, encoded: str) -> LatencyHistogram:
        return cls(HdrHistogram.decode(encoded.encode("ascii")))

    @classmethod
    def merged(cls, encoded: list[str]) -> LatencyHistogram:
        out = cls()
        for e in encoded:
            out.add(cls.decode(e))
        return out

    def value_at_ms(self, percentile: float) -> float:
        if not self.count:
            return 0.0
        return float(self.hdr.get_value_at_percentile(percentile)) / 1000.0

    def max_ms(self) -> float:
        return float(self.hdr.get_max_value()) / 1000.0 if self.count else 0.0

    def min_ms(self) -> float:
        return float(self.hdr.get_min_value()) / 1000.0 if self.count else 0.0

    def mean_ms(self) -> float:
        return float(self.hdr.get_mean_value()) / 1000.0 if self.count else 0.0

    def percentiles_ms(self, percentiles: tuple[float, ...] = PERCENTILES) -> dict[str, float]:
        out = {_label(p): round(self.value_at_ms(p), 3) for p in percentiles}
        out["max"] = round(self.max_ms(), 3)
        return out

    def distribution(self, ticks_per_half: int = 5) -> list[tuple[float, float]]:
        """(percentile, latency ms) points of the classic HDR percentile plot, up to the maximum."""
        points: list[tuple[float, float]] = []
        if not self.count:
            return points
        for item in self.hdr.get_percentile_iterator(ticks_per_half):
            points.append((float(item.percentile_level_iterated_to), item.value_iterated_to / 1000.0))
            if item.percentile_level_iterated_to >= 100.0:
                break
        return points

    def summary(self) -> dict[str, Any]:
        return {"count": self.count, "min_ms": round(self.min_ms(), 3), "mean_ms": round(self.mean_ms(), 3),
                "percentiles_ms": self.percentiles_ms()}


def _label(p: float) -> str:
    return f"p{p:g}"

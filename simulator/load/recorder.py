"""What a run keeps: counters, one latency histogram and one row per second. Nothing per request.

Verdicts follow ``simulator.verdicts.model``: ``acked`` (HTTP 200, or any 2xx with ``accept_2xx``; for a
callback, with a valid answer), ``non_200`` (the receiver answered something else; counted by status),
``bad_answer`` (a callback answered 200 with a body that is not a valid answer: label ``bad_answer``, or
``ack:bad_answer`` through the platform), ``timeout`` (no complete answer
within the budget; recorded in the histogram *at* the budget, a lower bound, so the tail is not hidden),
``error`` (connect refused, reset, broken response; counted by kind). ``unsent`` are requests the
schedule asked for that could not be sent before the end (every connection stuck). Latency is measured
from each request's *intended* send time (the schedule's), so queueing in the generator or on a slow
connection is counted -- the coordinated-omission correction of wrk2 and vegeta.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from simulator.load.histogram import LatencyHistogram

MAX_SAMPLES = 5  # non-200 / error examples kept for the report (bounded)
BAD_ANSWER_LABELS = frozenset({"bad_answer", "ack:bad_answer"})  # a callback's invalid answer, not a non-200
_COUNTERS = ("sent", "acked", "within_budget", "non_200", "bad_answer", "timeout", "error", "unsent")


@dataclass
class Counts:
    sent: int = 0
    acked: int = 0
    within_budget: int = 0
    non_200: int = 0
    bad_answer: int = 0
    timeout: int = 0
    error: int = 0
    unsent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.acked + self.non_200 + self.bad_answer + self.timeout + self.error

    @property
    def valid_answer_share(self) -> float | None:
        """Callbacks: the share of in-time 200 answers that were valid (None when none came)."""
        answered = self.acked + self.bad_answer
        return self.acked / answered if answered else None

    def add(self, other: Counts) -> None:
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        for s in other.samples:
            if len(self.samples) < MAX_SAMPLES and s not in self.samples:
                self.samples.append(s)

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "acked": self.acked, "within_budget": self.within_budget,
                "non_200": self.non_200, "bad_answer": self.bad_answer, "timeout": self.timeout, "error": self.error,
                "unsent": self.unsent,
                "statuses": dict(sorted(self.statuses.items())), "errors": dict(sorted(self.errors.items())),
                "samples": list(self.samples)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Counts:
        c = cls()
        for name in _COUNTERS:
            setattr(c, name, int(data.get(name, 0)))
        c.statuses.update(data.get("statuses", {}))
        c.errors.update(data.get("errors", {}))
        c.samples.extend(data.get("samples", []))
        return c


@dataclass
class Interval:
    """One second of a run (by completion time): counts and that second's latency histogram."""

    second: int
    counts: Counts
    hist: LatencyHistogram
    service: LatencyHistogram | None = None  # from the actual send time, when asked for

    def row(self) -> dict[str, Any]:
        h = self.hist
        return {"second": self.second, "sent": self.counts.sent, "acked": self.counts.acked,
                "non_200": self.counts.non_200, "bad_answer": self.counts.bad_answer, "timeout": self.counts.timeout,
                "error": self.counts.error,
                "p50_ms": round(h.value_at_ms(50), 3), "p90_ms": round(h.value_at_ms(90), 3),
                "p99_ms": round(h.value_at_ms(99), 3), "max_ms": round(h.max_ms(), 3)}


class Recorder:
    """Counts verdicts into the current one-second interval; ``roll()`` hands the closed interval on.

    Each latency is recorded once, into the interval histogram; whoever aggregates intervals adds them
    up (a cheap bucket-wise add), so the per-request cost is one ``record_value``.
    """

    def __init__(self, budget_s: float, *, service_time: bool = False) -> None:
        self.budget_us = int(budget_s * 1_000_000)
        self.interval = Counts()
        self.interval_hist = LatencyHistogram()
        self.service_time = service_time
        self.interval_service = LatencyHistogram() if service_time else None
        self.second = 0

    # -- per request (hot) ---------------------------------------------------------------------------
    def sent(self) -> None:
        self.interval.sent += 1

    def response(self, status: int | str, latency_s: float, *, ok: bool, service_s: float = 0.0) -> None:
        us = int(latency_s * 1_000_000)
        self.interval_hist.record_us(us)
        if self.interval_service is not None:
            self.interval_service.record_s(service_s)
        iv = self.interval
        if ok:
            iv.acked += 1
            if us <= self.budget_us:
                iv.within_budget += 1
        elif status in BAD_ANSWER_LABELS:
            iv.bad_answer += 1
        else:
            iv.non_200 += 1
            iv.statuses[str(status)] += 1

    def timeout(self, latency_s: float) -> None:
        """No answer within the budget: recorded at its age so far (a lower bound of its latency)."""
        self.interval_hist.record_us(int(latency_s * 1_000_000))
        self.interval.timeout += 1

    def error(self, kind: str, detail: str = "") -> None:
        self.interval.error += 1
        self.interval.errors[kind] += 1
        if detail and len(self.interval.samples) < MAX_SAMPLES:
            self.interval.samples.append(f"{kind}: {detail}"[:300])

    def sample(self, text: str) -> None:
        if len(self.interval.samples) < MAX_SAMPLES:
            self.interval.samples.append(text[:300])

    def unsent(self, n: int) -> None:
        self.interval.unsent += n

    # -- per second ------------------------------------------------------------------------------------
    def roll(self) -> Interval:
        """Close the current second and start the next one."""
        closed = Interval(self.second, self.interval, self.interval_hist, self.interval_service)
        self.interval = Counts()
        self.interval_hist = LatencyHistogram()
        self.interval_service = LatencyHistogram() if self.service_time else None
        self.second += 1
        return closed


class Aggregate:
    """The run's totals, histogram and per-second rows, merged from the intervals of ``workers`` recorders
    (one per process). A second's row is final once every worker has reported that second."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self.total = Counts()
        self.hist = LatencyHistogram()
        self.rows: list[dict[str, Any]] = []
        self.service: LatencyHistogram | None = None  # uncorrected latency (from the actual send time)
        self._pending: dict[int, tuple[Interval, int]] = {}

    def add(self, iv: Interval) -> Interval | None:
        """Add one worker's interval; return the merged interval when that second is complete."""
        self.total.add(iv.counts)
        self.hist.add(iv.hist)
        if iv.service is not None:
            if self.service is None:
                self.service = LatencyHistogram()
            self.service.add(iv.service)
        if self.workers == 1:
            self.rows.append(iv.row())
            return iv
        merged, seen = self._pending.get(iv.second, (Interval(iv.second, Counts(), LatencyHistogram()), 0))
        merged.counts.add(iv.counts)
        merged.hist.add(iv.hist)
        seen += 1
        if seen >= self.workers:
            self._pending.pop(iv.second, None)
            self.rows.append(merged.row())
            return merged
        self._pending[iv.second] = (merged, seen)
        return None

    def finish(self) -> None:
        for second in sorted(self._pending):
            self.rows.append(self._pending[second][0].row())
        self._pending.clear()
        self.rows.sort(key=lambda r: int(r["second"]))

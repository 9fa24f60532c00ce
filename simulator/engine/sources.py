"""What a push takes (``Simulator.stream``): envelopes, or ``Released`` ones that wait for their time; and, for a
push with faults, the ``Window`` that plans its first attempts a bounded number of events ahead."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# A push with faults plans the first attempts of this many events ahead of those started (more when its
# in-flight limit, burst or reorder window is larger): memory stays flat whatever the count
# (docs/faults.md#the-planning-window).
PLAN_WINDOW = 1024

Timed = tuple[float | None, dict[str, Any]]  # (not before this platform time, or None: the push's start; envelope)


def event_time(envelope: dict[str, Any]) -> float:
    return int(envelope["header"]["create_time"]) / 1000


@dataclass(frozen=True)
class Released:
    """Envelopes for ``Simulator.stream``, each with the platform time before which it is not first pushed:
    ``(not_before, envelope)`` pairs in nondecreasing time (an earlier time counts as the push's start)."""

    items: Iterable[tuple[float, dict[str, Any]]]

    @classmethod
    def runs(cls, runs: Iterable[list[dict[str, Any]]]) -> Released:
        """A scenario's runs (``Generating.scenario_runs``), each released once it has ended: its events go
        out together, never before they happened, and a run is made only when the push reaches it."""
        return cls((event_time(run[-1]), env) for run in runs for env in run)


Source = Iterable[dict[str, Any]] | Released


def timed(source: Source) -> Iterator[Timed]:
    return iter(source.items) if isinstance(source, Released) else ((None, env) for env in source)


def later(base: float, not_before: float | None) -> float:
    return base if not_before is None or not_before <= base else not_before


class Window:
    """The events of a push with faults not planned yet (``items``), and how many planned ones have not
    started (``ahead``), which stays within ``size``."""

    __slots__ = ("ahead", "items", "size")

    def __init__(self, items: Iterator[Timed], size: int) -> None:
        self.items = items
        self.size = size
        self.ahead = 0

    def next(self) -> Timed | None:
        """The next event to plan, or None when the window is full or the events are all planned."""
        if self.ahead >= self.size:
            return None
        item = next(self.items, None)
        if item is not None:
            self.ahead += 1
        return item

"""Seeded delivery faults: what the platform does to a receiver besides the retry ladder
(docs/semantics.md#retry-ladder, docs/semantics.md#dedupe-and-event_id-reuse, docs/semantics.md#ordering).

Sans-IO: a ``FaultSpec`` says *which* faults and how often; a ``FaultPlan`` answers, for a given event
and attempt, *whether* a fault happens. Every answer is a pure function of ``(seed, key)`` (a hash, not a
draw from a shared stream), so the plan does not depend on the order in which concurrent attempts
complete: the same seed gives the same plan, whatever the receiver's latencies.

Spec grammar (``--faults``), comma-separated ``name=value`` items, or ``none``::

    dup=P            an acked event is pushed once more, later, with the same event_id
                     (at-least-once delivery: "即使成功接收，仍会收到重复消息", docs/semantics.md#retry-ladder)
    dup_new_id=P     ... with a new event_id and the same payload (exercises business-key dedupe,
    docs/semantics.md#dedupe-and-event_id-reuse)
    dup_after=D[..D] platform delay from the ack to the duplicate (default 1s..60s)
    drop=P           the receiver's answer to an attempt is lost: the platform counts the attempt as
                     failed (outcome ``dropped``) and retries it on the ladder, although the receiver
                     processed it
    reorder=N        the first pushes are shuffled within consecutive windows of N events (no order
                     guarantee, docs/semantics.md#ordering); 1 means off
    delay=D[..D]     extra platform delay before each event's first push (uniform in the range)
    burst=N          events are released in bursts of N, every event of a burst in flight at once
    burst_gap=D      platform time between two bursts (default 1s)

``P`` is a probability in [0, 1]; ``D`` a duration in the one grammar of ``simulator.durations``
(``200ms``, ``2s``, ``5m``, ``1m30s``, ``1h`` or plain seconds).
Example: ``dup=0.1,dup_new_id=0.05,reorder=5,delay=200ms..2s,drop=0.1,burst=50``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from simulator.durations import parse_duration, parse_duration_range
from simulator.errors import ConfigError
from simulator.rand import SimRandom, hash_seed

DEFAULT_DUP_AFTER = (1.0, 60.0)
DEFAULT_BURST_GAP = 1.0


def parse_probability(text: str, *, name: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise ConfigError(f"invalid fault {name}={text!r}: expected a probability in [0, 1]") from None
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"invalid fault {name}={text!r}: probability must be in [0, 1]")
    return p


def parse_count(text: str, *, name: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise ConfigError(f"invalid fault {name}={text!r}: expected an integer >= 1") from None
    if n < 1:
        raise ConfigError(f"invalid fault {name}={text!r}: expected an integer >= 1")
    return n


@dataclass(frozen=True)
class FaultSpec:
    """Which faults, and how often. The all-default spec injects nothing."""

    dup: float = 0.0
    dup_new_id: float = 0.0
    dup_after: tuple[float, float] = DEFAULT_DUP_AFTER
    drop: float = 0.0
    reorder: int = 1
    delay: tuple[float, float] = (0.0, 0.0)
    burst: int = 0
    burst_gap: float = DEFAULT_BURST_GAP

    def __post_init__(self) -> None:
        for name in ("dup", "dup_new_id", "drop"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ConfigError(f"invalid fault {name}={p!r}: probability must be in [0, 1]")
        if self.reorder < 1 or self.burst < 0:
            raise ConfigError("invalid fault: reorder must be >= 1 and burst >= 0")
        for name in ("dup_after", "delay"):  # the duration rule also for specs built in code
            lo, hi = (parse_duration(v, what=f"fault {name}") for v in getattr(self, name))
            if hi < lo:
                raise ConfigError(f"invalid fault {name}={getattr(self, name)!r}: the range's upper bound is below "
                                  "its lower bound")
            object.__setattr__(self, name, (lo, hi))
        object.__setattr__(self, "burst_gap", parse_duration(self.burst_gap, what="fault burst_gap"))

    @classmethod
    def parse(cls, spec: str | None) -> FaultSpec:
        if spec is None:
            return cls()
        text = spec.strip()
        if text in ("", "none"):
            return cls()
        values: dict[str, Any] = {}
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, value = item.partition("=")
            name = name.strip().lower()
            value = value.strip()
            if not sep or not value:
                raise ConfigError(f"invalid fault {item!r}: expected NAME=VALUE (known: {', '.join(FAULT_NAMES)})")
            if name not in FAULT_NAMES:
                raise ConfigError(f"unknown fault {name!r} (known: {', '.join(FAULT_NAMES)})")
            if name in values:
                raise ConfigError(f"fault {name!r} given twice")
            if name in ("dup", "dup_new_id", "drop"):
                values[name] = parse_probability(value, name=name)
            elif name in ("reorder", "burst"):
                values[name] = parse_count(value, name=name)
            elif name in ("dup_after", "delay"):
                values[name] = parse_duration_range(value, what=f"fault {name}")
            else:  # burst_gap
                values[name] = parse_duration(value, what=f"fault {name}")
        return cls(**values)

    @property
    def active(self) -> bool:
        return self != FaultSpec()

    def __str__(self) -> str:
        """The canonical spec text (round-trips through ``parse``); ``none`` when nothing is injected."""
        default = FaultSpec()
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(default, f.name):
                continue
            if isinstance(value, tuple):
                lo, hi = value
                parts.append(f"{f.name}={_fmt(lo)}" if lo == hi else f"{f.name}={_fmt(lo)}..{_fmt(hi)}")
            elif f.name == "burst_gap":
                parts.append(f"{f.name}={_fmt(value)}")
            else:
                parts.append(f"{f.name}={value:g}" if isinstance(value, float) else f"{f.name}={value}")
        return ",".join(parts) or "none"


FAULT_NAMES = tuple(f.name for f in fields(FaultSpec))


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:g}ms" if 0 < seconds < 1 else f"{seconds:g}s"


@dataclass(frozen=True)
class Duplicate:
    """A duplicate push planned after an ack: ``new_id`` is the fresh event_id, or None to reuse it."""

    kind: str  # "duplicate" (same event_id) or "duplicate_new_id"
    after: float  # platform seconds after the acked attempt was sent
    new_id: str | None


@dataclass(frozen=True)
class Release:
    """When and in which order an event is first pushed: ``offset`` platform seconds after it was
    submitted, ``order`` the tie-break among events due at the same time."""

    offset: float
    order: int


class FaultPlan:
    """Answers fault questions for keys (strings naming an event or a duplicate) deterministically."""

    def __init__(self, spec: FaultSpec, rand: SimRandom) -> None:
        self.spec = spec
        self.seed = rand.seed
        self._perms: dict[int, list[int]] = {}

    def _perm(self, window: int) -> list[int]:
        perm = self._perms.get(window)
        if perm is None:
            if len(self._perms) > 1024:
                self._perms.clear()
            n = self.spec.reorder
            perm = self._perms[window] = SimRandom(hash_seed(self.seed, f"reorder:{window}")).sample(range(n), n)
        return perm

    def _u(self, label: str) -> float:
        """A uniform draw in [0, 1) that depends only on (seed, label)."""
        return hash_seed(self.seed, label) / 2.0**64

    def _between(self, lo: float, hi: float, label: str) -> float:
        return lo if hi <= lo else lo + (hi - lo) * self._u(label)

    def release(self, index: int) -> Release:
        """The first push of the ``index``-th submitted event (0-based, counted over the whole run)."""
        s = self.spec
        order = index
        if s.reorder > 1:
            window, pos = divmod(index, s.reorder)
            order = window * s.reorder + self._perm(window)[pos]
        offset = self._between(*s.delay, f"delay:{index}")
        if s.burst > 0:
            offset += (index // s.burst) * s.burst_gap
        return Release(offset, order)

    def drop(self, key: str, attempt_no: int) -> bool:
        """Whether the platform loses the receiver's (successful) answer to this attempt."""
        return self.spec.drop > 0 and self._u(f"drop:{key}:{attempt_no}") < self.spec.drop

    def duplicates(self, key: str) -> list[Duplicate]:
        """Duplicate pushes of an acked delivery (none for deliveries that are themselves duplicates)."""
        s = self.spec
        out: list[Duplicate] = []
        if s.dup > 0 and self._u(f"dup:{key}") < s.dup:
            out.append(Duplicate("duplicate", self._between(*s.dup_after, f"dup-after:{key}"), None))
        if s.dup_new_id > 0 and self._u(f"dup-new:{key}") < s.dup_new_id:
            new_id = SimRandom(hash_seed(self.seed, f"dup-id:{key}")).hex(32)
            out.append(Duplicate("duplicate_new_id", self._between(*s.dup_after, f"dup-new-after:{key}"), new_id))
        return out

    @property
    def min_in_flight(self) -> int:
        """Bursts put every event of a burst in flight at once."""
        return self.spec.burst

"""Verdicts, attempts and delivery records: the one result model for every delivery channel.

An *attempt* is one try at delivering one event (one HTTP POST, or one data message over the long
connection). Its ``outcome`` is judged from what the receiver did:

* ``acked``: HTTP 200 (any 2xx with ``accept_2xx``) within the 3 s budget / ack code 200 within 3 s;
* ``rejected``: any other HTTP status (status + body excerpt in ``detail``) / ack code != 200;
* ``timeout``: no complete response within the budget / no ack within 3 s;
* ``connection_error``: connect refused, reset, DNS, TLS / connection lost before the ack;
* ``not_delivered``: (long connection only) no connection of the app online;
* ``dropped``: (fault injection, ``drop=P``) the receiver acked, but the platform lost the answer and
  counts a failure, so the attempt is retried;
* ``bad_answer``: (callbacks only) HTTP 200 / ack code 200 within the budget, but the answer body is not
  valid for that callback (``answer.problems`` and ``detail`` say what is wrong).

Every outcome but ``acked`` is a failed attempt and is retried on the ladder (docs/semantics.md#retry-ladder,
docs/semantics.md#documented-long-connection-rules), except
for callbacks (``card.action.trigger``, ``url.preview.get``, the legacy card request): they are synchronous
and never retried (docs/semantics.md#callbacks-are-not-retried), so one attempt is the whole delivery. A
callback's attempt carries its judged ``answer`` (``simulator.verdicts.answers.Answer``).

A *delivery* is one event with all its attempts; it ends in exactly one terminal state: ``acked``
(at attempt k) or ``exhausted`` (every attempt of the retry ladder failed). Fault-injected duplicates
are deliveries of their own (``origin``), so ``Summary.total == acked + exhausted`` always holds.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from simulator.errors import ConfigError
from simulator.verdicts.answers import Answer


class Outcome(str, enum.Enum):
    ACKED = "acked"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    NOT_DELIVERED = "not_delivered"
    # fault injection: the receiver answered, but the platform lost the answer and counts a failure
    DROPPED = "dropped"
    # a callback answered 200 (ack code 200) in time with a body that is not a valid answer
    BAD_ANSWER = "bad_answer"

    def __str__(self) -> str:
        return str.__str__(self)  # the value, without Enum's slower ``value`` property

    @property
    def ok(self) -> bool:
        return self is Outcome.ACKED

    @property
    def injected(self) -> bool:
        """A failure the platform injected (the ``drop`` fault lost the receiver's ack): not the receiver's doing."""
        return self is Outcome.DROPPED

    @property
    def app_acked(self) -> bool:
        """The receiver acked (whether or not the platform kept the answer)."""
        return self is Outcome.ACKED or self is Outcome.DROPPED


class Channel(str, enum.Enum):
    WEBHOOK = "webhook"
    LONGCONN = "longconn"

    def __str__(self) -> str:
        return str.__str__(self)  # the value, without Enum's slower ``value`` property


class DeliveryState(str, enum.Enum):
    """Where a delivery stands: ``pending`` while its ladder runs, then ``acked`` or ``exhausted``."""

    ACKED = "acked"
    EXHAUSTED = "exhausted"
    PENDING = "pending"

    def __str__(self) -> str:
        return str.__str__(self)  # the value, without Enum's slower ``value`` property


def deprecated_alias(module: str, name: str) -> type[DeliveryState]:
    """``Final``, the old name of ``DeliveryState`` (it shadowed ``typing.Final``), kept for one release
    with a ``DeprecationWarning``; any other unknown name is an ``AttributeError``."""
    if name != "Final":
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(f"{module}.Final is deprecated (it shadows typing.Final): use DeliveryState",
                  DeprecationWarning, stacklevel=3)
    return DeliveryState


if TYPE_CHECKING:
    Final = DeliveryState  # deprecated: type checkers see the alias, the runtime warns (below)
else:
    def __getattr__(name: str) -> type[DeliveryState]:
        return deprecated_alias(__name__, name)


@dataclass
class Attempt:
    """One try at delivering one event."""

    event_id: str
    event_type: str
    attempt: int  # 1-based; 1 is the initial push, 2.. are retries
    channel: Channel
    outcome: Outcome
    sent_at: float  # platform time (epoch seconds) when it was sent
    latency_ms: float  # receiver time: from send to verdict
    status: int | None = None  # HTTP status (webhook) or ack code (long connection)
    detail: str = ""  # human-readable reason: body excerpt, exception text, ...
    target: str = ""  # URL or connection id
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # channel specifics (biz_rt, message_id, ...)
    answer: Answer | None = None  # a callback's judged answer (when the receiver answered 200 / code 200)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self if self.answer is None else replace(self, answer=None))
        data["channel"] = str(self.channel)
        data["outcome"] = str(self.outcome)
        data["kind"] = "attempt"
        if self.answer is None:
            del data["answer"]  # events: the line stays as it was
        else:
            data["answer"] = self.answer.to_json()
        return data

    def verdict_json(self, *, reproducible: bool = False) -> dict[str, Any]:
        """The attempt's verdict without the request and response (``Delivery.to_json``'s attempts);
        ``reproducible``: only what the seed decides (no latency, target, detail or extras)."""
        data: dict[str, Any] = {"attempt": self.attempt, "outcome": str(self.outcome), "status": self.status,
                                "sent_at": self.sent_at}
        if not reproducible:
            data.update(latency_ms=round(self.latency_ms, 3), detail=self.detail, target=self.target, extra=self.extra)
            if self.answer is not None:  # a callback's judged answer (the app's words, not the seed's)
                data["answer"] = self.answer.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attempt:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["channel"] = Channel(fields["channel"])
        fields["outcome"] = Outcome(fields["outcome"])
        if fields.get("answer") is not None:
            fields["answer"] = Answer.from_json(fields["answer"])
        return cls(**fields)


@dataclass
class Delivery:
    """One event and every attempt made to deliver it."""

    event_id: str
    event_type: str
    envelope: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    expect_rejected: bool = False
    final: DeliveryState = DeliveryState.PENDING
    # why the platform pushed it: "event" (the first push of a generated event), "duplicate" (an
    # at-least-once duplicate after an ack, same event_id), "duplicate_new_id" (a duplicate with a new
    # event_id)
    origin: str = "event"
    duplicate_of: str | None = None  # the event_id of the acked delivery a duplicate copies
    seq: int | None = None  # the engine's delivery number (transcript lines refer to it)
    # a duplicate's original delivery (set by the engine; not serialised, not compared)
    parent: Delivery | None = field(default=None, repr=False, compare=False)
    # a callback (never retried, its answer judged): the kind of answer expected, e.g. "card.action.trigger"
    callback: str | None = None

    @property
    def acked(self) -> bool:
        return self.final is DeliveryState.ACKED

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def acked_at_attempt(self) -> int | None:
        for a in self.attempts:
            if a.outcome.ok:
                return a.attempt
        return None

    @property
    def app_acked_at(self) -> int | None:
        """The first attempt the *app* acked, even if the platform lost that answer (fault ``drop``)."""
        for a in self.attempts:
            if a.outcome.app_acked:
                return a.attempt
        return None

    @property
    def lost(self) -> bool:
        """Exhausted only because the platform lost every answer (fault ``drop``): the app acked each attempt,
        so the delivery failed through no fault of the app's."""
        return (self.final is DeliveryState.EXHAUSTED and bool(self.attempts)
                and all(a.outcome.injected for a in self.attempts))

    @property
    def as_expected(self) -> bool:
        """Judged on what the app did: acked (or acked every time, but lost by the ``drop`` fault); with
        ``expect_rejected``, never acked by the app."""
        if self.expect_rejected:
            return self.final is not DeliveryState.PENDING and self.app_acked_at is None
        return self.acked or self.lost

    @property
    def verdict(self) -> str:
        """The verdict in a few words, e.g. ``acked at attempt 1``, ``timeout after 1 attempt: no complete
        response within 3 s``, ``lost by the drop fault after 2 attempts (the app acked every one)``."""
        n = len(self.attempts)
        attempts = f"{n} attempt{'s' if n != 1 else ''}"
        last = self.last
        if self.acked:
            return f"acked at attempt {self.acked_at_attempt}"
        if last is None or self.final is DeliveryState.PENDING:
            return f"pending after {attempts}"
        if self.lost:
            every = "it" if n == 1 else "every one"
            return f"lost by the drop fault after {attempts} (the app acked {every}; the platform lost the answer)"
        detail = last.detail if len(last.detail) <= 160 else last.detail[:157] + "..."
        return f"{last.outcome} after {attempts}" + (f": {detail}" if detail else "")

    def __repr__(self) -> str:
        origin = "" if self.origin == "event" else f", {self.origin} of {self.duplicate_of!r}"
        return f"Delivery({self.verdict}, event_id={self.event_id!r}, type={self.event_type!r}{origin})"

    @property
    def answer(self) -> Answer | None:
        """A callback's judged answer (its last attempt's), or None (an event, or no 200 answer)."""
        last = self.last
        return None if last is None else last.answer

    def record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)
        if attempt.outcome.ok and self.final is DeliveryState.PENDING:
            self.final = DeliveryState.ACKED

    def close(self) -> None:
        """Mark the end of the ladder: a still-pending delivery is exhausted."""
        if self.final is DeliveryState.PENDING:
            self.final = DeliveryState.EXHAUSTED

    def to_json(self, *, reproducible: bool = False) -> dict[str, Any]:
        """The delivery as JSON, the same for every face: ``push --json``, the platform's ``/_sim/push``
        answer and the transcript's ``delivery`` lines. ``reproducible`` (the transcript, the same for the
        same seed): only what the seed decides, without the summary line and the attempts' latencies."""
        data: dict[str, Any] = {
            "event_id": self.event_id, "event_type": self.event_type, "final": str(self.final), "origin": self.origin,
            "duplicate_of": self.duplicate_of, "acked_at_attempt": self.acked_at_attempt,
        }
        if self.callback is not None:
            data["callback"] = self.callback
        if not reproducible:
            data["summary"] = self._summary_line()
        data["attempts"] = [a.verdict_json(reproducible=reproducible) for a in self.attempts]
        if self.callback is not None:  # what each attempt sent: a click may go out as card.action.trigger_v1
            for a, out in zip(self.attempts, data["attempts"], strict=True):
                out["event_type"] = a.event_type
        return data

    @property
    def summary_line(self) -> SummaryLine:
        """One line: final state, event id and type, attempts, the last outcome, status, latency and detail
        (``push``'s output line). A property like ``acked`` and ``last``; calling it (the old method) still
        works for one release, with a ``DeprecationWarning``."""
        return SummaryLine(self._summary_line())

    def _summary_line(self) -> str:
        last = self.last
        if last is None:
            return f"{self.event_id} {self.event_type} pending"
        status = "" if last.status is None else f" status={last.status}"
        if self.callback is not None:  # one attempt, judged by its answer: lead with the attempt's outcome
            what = last.answer.describe() if last.outcome.ok and last.answer is not None else last.detail
            # the attempt's type: a click sent as a legacy card request is card.action.trigger_v1
            return f"{last.outcome} {self.event_id} {last.event_type}{status} {last.latency_ms:.1f}ms {what}".rstrip()
        detail = f" {last.detail}" if last.detail and not last.outcome.ok else ""
        return (
            f"{self.final} {self.event_id} {self.event_type} attempts={len(self.attempts)} "
            f"last={last.outcome}{status} {last.latency_ms:.1f}ms{detail}"
        )


class SummaryLine(str):
    """``Delivery.summary_line``: a ``str``; calling it, as when it was a method, is deprecated."""

    __slots__ = ()

    def __call__(self) -> str:
        warnings.warn("Delivery.summary_line is a property now: drop the parentheses", DeprecationWarning,
                      stacklevel=2)
        return str(self)


@dataclass
class Summary:
    total: int = 0
    acked: int = 0
    exhausted: int = 0
    pending: int = 0
    attempts: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0  # deliveries that are fault-injected duplicates (counted in ``total`` too)
    acked_at: dict[str, int] = field(default_factory=dict)  # attempt number -> deliveries acked there

    @classmethod
    def of(cls, deliveries: Iterable[Delivery]) -> Summary:
        s = cls()
        for d in deliveries:
            s.add(d)
        return s

    def add(self, d: Delivery) -> None:
        """Count one more delivery (a running summary, e.g. of deliveries no longer retained)."""
        self.total += 1
        if d.origin.startswith("duplicate"):
            self.duplicates += 1
        if d.final is DeliveryState.ACKED:
            self.acked += 1
            k = str(d.acked_at_attempt)
            self.acked_at[k] = self.acked_at.get(k, 0) + 1
        elif d.final is DeliveryState.EXHAUSTED:
            self.exhausted += 1
        else:
            self.pending += 1
        for a in d.attempts:
            self.attempts += 1
            self.outcomes[str(a.outcome)] = self.outcomes.get(str(a.outcome), 0) + 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class DeliveryLog(list[Delivery]):
    """The record of deliveries, in creation order. ``keep=None`` keeps all of them; ``keep=N`` bounds
    memory on long runs: only the newest N (up to N/8 more between trims, trimmed in chunks so that
    appending stays O(1)) stay, ``total`` counts every delivery ever appended and ``dropped`` those let
    go. ``newest()`` gives exactly the newest ``keep``."""

    def __init__(self, keep: int | None = None) -> None:
        super().__init__()
        if keep is not None and keep < 1:
            raise ConfigError(f"keep must be >= 1, got {keep!r}")
        self.keep = keep
        self.total = 0
        self.dropped = 0
        self._slack = 0 if keep is None else max(1, keep // 8)

    def append(self, d: Delivery) -> None:
        super().append(d)
        self.total += 1
        if self.keep is not None and len(self) > self.keep + self._slack:
            cut = len(self) - self.keep
            del self[:cut]
            self.dropped += cut

    def newest(self) -> list[Delivery]:
        return list(self) if self.keep is None else list(self[-self.keep:])

    def clear(self) -> None:
        super().clear()
        self.total = 0
        self.dropped = 0

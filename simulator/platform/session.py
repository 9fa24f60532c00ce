"""One client connection's protocol state, sans-IO (docs/protocol.md#ping-and-pong,
docs/protocol.md#data-frames-and-fragmentation, docs/protocol.md#acknowledgement-frames,
docs/semantics.md#documented-long-connection-rules).

The I/O layer feeds received WebSocket messages to ``Session.receive`` and sends the bytes it gets back;
it asks ``send_event`` for the frames of a data message, sleeps until ``next_deadline()`` and then calls
``expire``. The session never reads a clock: every call passes ``now`` (monotonic seconds, never going
backwards), so tests drive it with plain numbers.

A connection's lifecycle is one ``Phase`` with an explicit transition table (``TRANSITIONS``): a ticket
handed out by discovery is ``issued``; the handshake makes it ``open`` (or ``half_open``: pings go
unanswered); the platform's own close makes it ``closing``; a lost socket makes it ``closed``. Any other
move raises (see docs/protocol.md).

What a session decides:

* ping -> pong carrying the *complete* ClientConfig (a partial one crashes the clients,
  docs/protocol.md#ping-and-pong), by default in every pong: node-sdk parses any pong payload, and an empty
  one makes 1.74 log ``invalid pong payload`` on every pong (1.72 is reported to crash at the first).
  ``pong_config`` ``changed`` sends it only when the client's config is out of date (the empty pong
  otherwise), ``never`` never;
* each data message is pending until the ack with its ``message_id`` arrives, or until
  ``sent + ack_budget_s`` (3 s, docs/semantics.md#documented-long-connection-rules) passes;
* whatever the client sends that is not a usable ping or ack is counted, never raised: a malformed
  frame, a text message, an ack for an unknown or already judged message id.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from simulator import constants as C
from simulator.wire.frames import (
    DEFAULT_FRAGMENT_SIZE,
    H_TYPE,
    Ack,
    ClientConfig,
    FrameError,
    FrameType,
    MessageType,
    control_frame,
    data_frames,
    decode,
    encode,
    header,
    parse_ack,
)


class PongConfig(str, enum.Enum):
    """When a pong carries the ClientConfig."""

    ALWAYS = "always"  # every pong (default: what the SDKs expect)
    CHANGED = "changed"  # only when the client's config is out of date; an empty pong otherwise
    NEVER = "never"  # never (runtime config changes reach clients only on reconnect)

    def __str__(self) -> str:
        return self.value


class Phase(str, enum.Enum):
    """Where a connection is in its life (from discovery's ticket to the closed socket)."""

    ISSUED = "issued"  # discovery handed out the ticket; no socket yet
    OPEN = "open"  # handshake accepted: events go out, pings are answered
    HALF_OPEN = "half_open"  # open, but pings go unanswered (a fault: the client sees a dead link)
    CLOSING = "closing"  # the platform is closing it: no new events, acks still count
    CLOSED = "closed"  # the socket is gone: pending messages are lost

    def __str__(self) -> str:
        return self.value


TRANSITIONS: Mapping[Phase, frozenset[Phase]] = MappingProxyType({
    Phase.ISSUED: frozenset({Phase.OPEN, Phase.HALF_OPEN}),
    Phase.OPEN: frozenset({Phase.HALF_OPEN, Phase.CLOSING, Phase.CLOSED}),
    Phase.HALF_OPEN: frozenset({Phase.OPEN, Phase.CLOSING, Phase.CLOSED}),
    Phase.CLOSING: frozenset({Phase.CLOSED}),
    Phase.CLOSED: frozenset(),
})
LIVE = frozenset({Phase.OPEN, Phase.HALF_OPEN})  # phases that take new events


class Lifecycle:
    """One connection's phase; ``move`` follows ``TRANSITIONS`` and raises on anything else (a bug in
    the caller, never something a client can cause)."""

    __slots__ = ("phase",)

    def __init__(self, phase: Phase = Phase.ISSUED) -> None:
        self.phase = phase

    def move(self, to: Phase) -> None:
        if to not in TRANSITIONS[self.phase]:
            raise RuntimeError(f"illegal connection transition {self.phase} -> {to}")
        self.phase = to

    @property
    def live(self) -> bool:
        return self.phase in LIVE

    def __repr__(self) -> str:
        return f"Lifecycle({self.phase})"


def _opened() -> Lifecycle:
    return Lifecycle(Phase.OPEN)


@dataclass
class Pending:
    """A data message sent and not yet judged. ``token`` is the I/O layer's handle (e.g. a future)."""

    message_id: str
    sent_at: float
    deadline: float
    fragments: int
    token: Any = None


@dataclass(frozen=True)
class Pong:
    data: bytes
    with_config: bool


@dataclass(frozen=True)
class Acked:
    """An ack matched to its pending message (``ack.code`` may still be a rejection)."""

    pending: Pending
    ack: Ack
    at: float


@dataclass(frozen=True)
class Expired:
    pending: Pending


@dataclass(frozen=True)
class Problem:
    """Something the client sent that the session ignored (``kind`` is a counter name)."""

    kind: str
    detail: str


SessionEvent = Pong | Acked | Problem


@dataclass
class Counters:
    pings: int = 0
    pongs: int = 0
    pongs_with_config: int = 0
    pings_unanswered: int = 0
    messages_sent: int = 0
    frames_sent: int = 0
    acks: int = 0
    expired: int = 0
    late_acks: int = 0
    unknown_acks: int = 0
    malformed: int = 0
    non_binary: int = 0
    unexpected: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Session:
    """``lifecycle``: the platform passes the one its ticket started (so the phase spans discovery to
    close); a session made on its own starts ``open``."""

    service_id: int
    config: ClientConfig  # the config the platform wants the client to run with
    ack_budget_s: float = C.LONGCONN_ACK_BUDGET_S
    fragment_size: int = DEFAULT_FRAGMENT_SIZE
    pong_config: PongConfig = PongConfig.ALWAYS
    lifecycle: Lifecycle = field(default_factory=_opened)
    counters: Counters = field(default_factory=Counters)
    ping_times: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    # What the client last received (discovery's answer, then pongs); ``None``: ``config`` itself. A config
    # changed between discovery and the upgrade makes the two differ, and the first pong corrects it.
    client_config: ClientConfig | None = None
    # Pending messages in send order, which is deadline order (one budget, ``now`` never going back).
    _pending: dict[str, Pending] = field(default_factory=dict)
    _judged: deque[str] = field(default_factory=lambda: deque(maxlen=4096))
    _judged_set: set[str] = field(default_factory=set)
    _next_seq: int = 1
    _last_sent: float = float("-inf")

    def __post_init__(self) -> None:
        if self.client_config is None:
            self.client_config = self.config

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        return self.lifecycle.phase

    @property
    def answer_pings(self) -> bool:
        return self.lifecycle.phase is not Phase.HALF_OPEN

    def half_open(self, on: bool) -> None:
        """Stop (``True``) or resume answering pings; only a live connection changes."""
        phase = self.lifecycle.phase
        if phase in LIVE and (phase is Phase.HALF_OPEN) != on:
            self.lifecycle.move(Phase.HALF_OPEN if on else Phase.OPEN)

    def closing(self) -> None:
        """The platform started closing the connection: no new events."""
        self.lifecycle.move(Phase.CLOSING)

    # -- outgoing ----------------------------------------------------------------------------------
    def send_event(self, payload: bytes, *, message_id: str, trace_id: str, now: float, token: Any = None,
                   kind: MessageType = MessageType.EVENT) -> list[bytes]:
        """Encoded frame(s) of one data message; the message is pending from ``now``."""
        if self.lifecycle.phase not in LIVE:
            raise RuntimeError(f"cannot send on a {self.lifecycle.phase} connection")
        if message_id in self._pending:
            raise ValueError(f"message {message_id} is already pending on this connection")
        if now < self._last_sent:
            raise ValueError(f"now went backwards ({now} < {self._last_sent})")
        self._last_sent = now
        seq = self._next_seq
        frames = data_frames(payload, service=self.service_id, message_id=message_id, trace_id=trace_id,
                             seq_id=seq, log_id=seq, kind=kind, fragment_size=self.fragment_size)
        self._next_seq += len(frames)
        self._pending[message_id] = Pending(message_id, now, now + self.ack_budget_s, len(frames), token)
        self.counters.messages_sent += 1
        self.counters.frames_sent += len(frames)
        return [encode(f) for f in frames]

    def set_config(self, config: ClientConfig) -> None:
        """Change the wanted config; the next pong carries it (unless ``pong_config`` is NEVER)."""
        self.config = config

    # -- incoming ----------------------------------------------------------------------------------
    def receive(self, data: bytes | str, now: float) -> list[SessionEvent]:
        if isinstance(data, str):
            self.counters.non_binary += 1
            return [Problem("non_binary", f"text message of {len(data)} chars")]
        try:
            frame = decode(data)
        except FrameError as exc:
            self.counters.malformed += 1
            return [Problem("malformed", str(exc))]
        if frame.method == FrameType.CONTROL:
            kind = header(frame, H_TYPE)
            if kind == MessageType.PING:
                return self._on_ping(now)
            self.counters.unexpected += 1
            return [Problem("unexpected", f"control frame type={kind!r}")]
        if frame.method == FrameType.DATA:
            return self._on_ack(parse_ack(frame), now)
        self.counters.malformed += 1
        return [Problem("malformed", f"unknown method {frame.method}")]

    def _on_ping(self, now: float) -> list[SessionEvent]:
        self.counters.pings += 1
        self.ping_times.append(now)
        if self.lifecycle.phase is Phase.HALF_OPEN:
            self.counters.pings_unanswered += 1
            return []
        with_config = self.pong_config is PongConfig.ALWAYS or (
            self.pong_config is PongConfig.CHANGED and self.client_config != self.config)
        payload = self.config.payload() if with_config else b""
        if with_config:
            self.client_config = self.config
            self.counters.pongs_with_config += 1
        self.counters.pongs += 1
        return [Pong(encode(control_frame(MessageType.PONG, service=self.service_id, payload=payload)), with_config)]

    def _on_ack(self, ack: Ack, now: float) -> list[SessionEvent]:
        pending = self._pending.pop(ack.message_id, None)
        if pending is None:
            if ack.message_id in self._judged_set:
                self.counters.late_acks += 1
                return [Problem("late_acks", f"ack for {ack.message_id} after its verdict")]
            self.counters.unknown_acks += 1
            return [Problem("unknown_acks", f"ack for unknown message_id {ack.message_id[:64]!r}")]
        self._remember(pending.message_id)
        self.counters.acks += 1
        return [Acked(pending, ack, now)]

    # -- deadlines ---------------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        """When the oldest pending message runs out of time (``None``: nothing pending). The I/O layer
        sleeps until then and calls ``expire``."""
        for pending in self._pending.values():  # the first one is the oldest
            return pending.deadline
        return None

    def expire(self, now: float) -> list[Expired]:
        """Messages whose ack budget has run out; a later ack for them counts as late."""
        out: list[Expired] = []
        for pending in self._pending.values():
            if pending.deadline > now:
                break
            out.append(Expired(pending))
        for e in out:
            del self._pending[e.pending.message_id]
            self._remember(e.pending.message_id)
        self.counters.expired += len(out)
        return out

    def forget(self, message_id: str) -> Pending | None:
        """Stop waiting for ``message_id`` (judged elsewhere); a later ack counts as late."""
        pending = self._pending.pop(message_id, None)
        if pending is not None:
            self._remember(message_id)
        return pending

    def close(self) -> list[Pending]:
        """The connection is gone: every pending message is lost."""
        self.lifecycle.move(Phase.CLOSED)
        lost = list(self._pending.values())
        self._pending.clear()
        return lost

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _remember(self, message_id: str) -> None:
        if len(self._judged) == self._judged.maxlen:
            self._judged_set.discard(self._judged[0])
        self._judged.append(message_id)
        self._judged_set.add(message_id)

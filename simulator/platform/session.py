"""One client connection's protocol state, sans-IO (protocol §2.6-§2.8, semantics §2.1).

The I/O layer feeds received WebSocket messages to ``Session.receive`` and sends the bytes it gets back;
it asks ``send_event`` for the frames of a data message and, at or after a message's deadline, calls
``expire``. The session never reads a clock: every call passes ``now`` (monotonic seconds).

What a session decides:

* ping -> pong, with no payload unless the client's ClientConfig is out of date (or ``pong_config`` says
  always); when a payload is sent it is the *complete* config (a partial one crashes the clients, §2.6);
* each data message is pending until the ack with its ``message_id`` arrives, or until
  ``sent + ack_budget`` (3 s, semantics §2.1) passes;
* whatever the client sends that is not a usable ping or ack is counted, never raised: a malformed
  frame, a text message, an ack for an unknown or already judged message id.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
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

    CHANGED = "changed"  # only when the client's config is out of date (default)
    ALWAYS = "always"  # every pong
    NEVER = "never"  # never (runtime config changes reach clients only on reconnect)

    def __str__(self) -> str:
        return self.value


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
    service_id: int
    config: ClientConfig  # the config the platform wants the client to run with
    ack_budget: float = C.LONGCONN_ACK_BUDGET_S
    fragment_size: int = DEFAULT_FRAGMENT_SIZE
    pong_config: PongConfig = PongConfig.CHANGED
    answer_pings: bool = True
    counters: Counters = field(default_factory=Counters)
    ping_times: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    client_config: ClientConfig | None = None  # what the client last received (discovery or pong)
    _pending: dict[str, Pending] = field(default_factory=dict)
    _judged: deque[str] = field(default_factory=lambda: deque(maxlen=4096))
    _judged_set: set[str] = field(default_factory=set)
    _next_seq: int = 1

    def __post_init__(self) -> None:
        if self.client_config is None:
            self.client_config = self.config

    # -- outgoing ----------------------------------------------------------------------------------
    def send_event(self, payload: bytes, *, message_id: str, trace_id: str, now: float, token: Any = None,
                   kind: MessageType = MessageType.EVENT) -> list[bytes]:
        """Encoded frame(s) of one data message; the message is pending from ``now``."""
        if message_id in self._pending:
            raise ValueError(f"message {message_id} is already pending on this connection")
        seq = self._next_seq
        frames = data_frames(payload, service=self.service_id, message_id=message_id, trace_id=trace_id,
                             seq_id=seq, log_id=seq, kind=kind, fragment_size=self.fragment_size)
        self._next_seq += len(frames)
        self._pending[message_id] = Pending(message_id, now, now + self.ack_budget, len(frames), token)
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
        if not self.answer_pings:
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
        return min((p.deadline for p in self._pending.values()), default=None)

    def expire(self, now: float) -> list[Expired]:
        """Messages whose ack budget has run out; a later ack for them counts as late."""
        out = [Expired(p) for p in list(self._pending.values()) if p.deadline <= now]
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

"""``pbbp2`` frames, sans-IO: build, parse, fragment, reassemble, and read acks (docs/protocol.md#ping-and-pong
and the sections cited below). Bytes to values and back, no socket, no clock; the rules the clients rely on:

* every frame sets the four proto2-required fields (SeqID, LogID, service, method), otherwise the Node
  client drops it and the Python client cannot encode its ack (docs/protocol.md#the-pbbp2-frame-schema);
* data frames carry ``type``, ``message_id``, ``sum``, ``seq`` and ``trace_id`` (the Python client
  drops a frame missing any of them, with no ack, docs/protocol.md#frame-headers-and-message-types);
* a payload above the fragment threshold is cut into ``sum`` non-empty slices (an empty slice counts
  as missing, docs/protocol.md#data-frames-and-fragmentation);
* acks are read leniently: ``{"code": 200}`` (Python, spaced), ``{"code":200}`` (Node), the Go form
  with ``headers``/``data`` nulls, an optional base64 ``data`` (docs/protocol.md#acknowledgement-frames).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from google.protobuf.message import DecodeError, EncodeError

from simulator.errors import ConfigError, FrameError
from simulator.verdicts.ack import code_acked
from simulator.wire.pbbp2_pb2 import Frame

__all__ = [
    "DEFAULT_FRAGMENT_SIZE",
    "MAX_CLIENT_MESSAGE",
    "Ack",
    "ClientConfig",
    "Frame",
    "FrameError",  # re-exported from simulator.errors: the platform's session imports it from here
    "FrameType",
    "MessageType",
    "Reassembler",
    "ack_frame",
    "control_frame",
    "data_frames",
    "decode",
    "encode",
    "header",
    "headers_of",
    "parse_ack",
]


class FrameType(enum.IntEnum):
    """``Frame.method`` (docs/protocol.md#the-pbbp2-frame-schema)."""

    CONTROL = 0
    DATA = 1


class MessageType(str, enum.Enum):
    """The ``type`` header (docs/protocol.md#frame-headers-and-message-types)."""

    PING = "ping"
    PONG = "pong"
    EVENT = "event"
    CARD = "card"

    def __str__(self) -> str:
        return self.value


# Header keys (docs/protocol.md#frame-headers-and-message-types).
H_TYPE: Final = "type"
H_MESSAGE_ID: Final = "message_id"
H_SUM: Final = "sum"
H_SEQ: Final = "seq"
H_TRACE_ID: Final = "trace_id"
H_BIZ_RT: Final = "biz_rt"

# The Python client keeps websockets' default max_size: a single WS message above 1 MiB makes it close
# with 1009 and reconnect (docs/protocol.md#data-frames-and-fragmentation).
MAX_CLIENT_MESSAGE: Final = 1 << 20
# Half the client's limit: a fragment plus its frame overhead (~200 bytes of headers) stays far below
# 1 MiB, and a single event still goes out unsplit unless it is really large (real events are a few KiB).
DEFAULT_FRAGMENT_SIZE: Final = 512 * 1024


@dataclass(frozen=True)
class ClientConfig:
    """The four ClientConfig keys, in seconds (docs/protocol.md#endpoint-discovery). Always serialised complete: a
    partial
    config crashes the Python client's ping loop and gives the Node client a ping storm
    (docs/protocol.md#ping-and-pong)."""

    reconnect_count: int = -1
    reconnect_interval: int = 120
    reconnect_nonce: int = 30
    ping_interval: int = 120

    def __post_init__(self) -> None:
        for name in ("reconnect_count", "reconnect_interval", "reconnect_nonce", "ping_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"ClientConfig {name} must be an integer, got {value!r}")
        if self.reconnect_count < -1:
            raise ConfigError("ClientConfig reconnect_count must be >= -1")
        if self.reconnect_interval < 0 or self.reconnect_nonce < 0:
            raise ConfigError("ClientConfig reconnect_interval and reconnect_nonce must be >= 0")
        if self.ping_interval < 1:
            # 0 would make both clients ping in a tight loop.
            raise ConfigError("ClientConfig ping_interval must be >= 1")

    def to_json(self) -> dict[str, int]:
        return {
            "ReconnectCount": self.reconnect_count,
            "ReconnectInterval": self.reconnect_interval,
            "ReconnectNonce": self.reconnect_nonce,
            "PingInterval": self.ping_interval,
        }

    def payload(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClientConfig:
        """Accepts the wire keys (``PingInterval``) or the field names (``ping_interval``); missing keys
        keep their defaults, so the result is always complete."""
        return cls().replace(**data)

    def replace(self, **changes: Any) -> ClientConfig:
        """A copy with some keys changed (wire or field names); unknown keys are a ``ConfigError``."""
        values = {name: getattr(self, name) for name in _WIRE.values()}
        for key, value in changes.items():
            name = _WIRE.get(key, key)
            if name not in values:
                raise ConfigError(f"unknown ClientConfig key {key!r}")
            values[name] = value
        return ClientConfig(**values)


_WIRE: Final = {"ReconnectCount": "reconnect_count", "ReconnectInterval": "reconnect_interval",
                "ReconnectNonce": "reconnect_nonce", "PingInterval": "ping_interval"}


_REQUIRED: Final = ("SeqID", "LogID", "service", "method")


# -- encode / decode ---------------------------------------------------------------------------------

def encode(frame: Frame) -> bytes:
    """Serialise; raises ``FrameError`` when a required field is unset (never send such a frame)."""
    try:
        return frame.SerializeToString()
    except EncodeError as exc:
        raise FrameError(f"incomplete frame: {exc}") from None


def decode(data: bytes | bytearray | memoryview) -> Frame:
    """Parse a client's frame; anything unparsable or missing a required field is a ``FrameError``."""
    frame = Frame()
    try:
        frame.ParseFromString(bytes(data))
    except (DecodeError, RuntimeError, ValueError) as exc:  # upb raises DecodeError; be broad on purpose
        raise FrameError(f"not a pbbp2 frame: {exc}") from None
    if not frame.IsInitialized():  # one C call in the common case; the names only for the error
        missing = [name for name in _REQUIRED if not frame.HasField(name)]
        if missing:  # (a header without key or value is tolerated, as before)
            raise FrameError(f"frame lacks required fields: {', '.join(missing)}")
    return frame


def header(frame: Frame, key: str) -> str | None:
    """The first value of header ``key`` (clients look headers up by name, first match)."""
    for h in frame.headers:
        if h.key == key:
            return h.value
    return None


def headers_of(frame: Frame) -> dict[str, str]:
    out: dict[str, str] = {}
    for h in frame.headers:
        out.setdefault(h.key, h.value)
    return out


def control_frame(kind: MessageType, *, service: int, payload: bytes = b"") -> Frame:
    """A ping or pong: ``method=0``, ``SeqID=LogID=0``, one ``type`` header (docs/protocol.md#ping-and-pong)."""
    frame = Frame(SeqID=0, LogID=0, service=service, method=FrameType.CONTROL)
    frame.headers.add(key=H_TYPE, value=str(kind))
    if payload:
        frame.payload = payload
    return frame


def data_frames(payload: bytes, *, service: int, message_id: str, trace_id: str, seq_id: int, log_id: int,
                kind: MessageType = MessageType.EVENT, fragment_size: int = DEFAULT_FRAGMENT_SIZE,
                extra_headers: Iterable[tuple[str, str]] = ()) -> list[Frame]:
    """The data frame(s) carrying ``payload``: one frame, or ``sum`` frames with the same headers and
    ``seq = 0..sum-1`` when the payload exceeds ``fragment_size`` (docs/protocol.md#data-frames-and-fragmentation).

    Slices are as even as possible and never empty. Each fragment gets its own ``SeqID`` (``seq_id``,
    ``seq_id+1``...) because the client echoes the SeqID of the *last-arriving* fragment in its ack.
    """
    if fragment_size < 1:
        raise ConfigError("fragment size must be >= 1 byte")
    if not payload:
        raise FrameError("empty data payload")
    total = max(1, math.ceil(len(payload) / fragment_size))
    step = math.ceil(len(payload) / total)
    frames = []
    template = _data_template(kind)
    for i in range(total):
        # A copy of a template with the five headers in place (a C-level copy) is about twice as fast as
        # adding them one by one: this runs once per event.
        frame = Frame()
        frame.CopyFrom(template)
        frame.SeqID = seq_id + i
        frame.LogID = log_id
        frame.service = service
        frame.payload = payload[i * step:(i + 1) * step]
        headers = frame.headers
        headers[1].value = message_id
        headers[2].value = str(total)
        headers[3].value = str(i)
        headers[4].value = trace_id
        for k, v in extra_headers:
            headers.add(key=k, value=v)
        frames.append(frame)
    return frames


_DATA_TEMPLATES: dict[MessageType, Frame] = {}


def _data_template(kind: MessageType) -> Frame:
    """A data frame with the headers ``type, message_id, sum, seq, trace_id`` in that order
    (docs/protocol.md#frame-headers-and-message-types)."""
    template = _DATA_TEMPLATES.get(kind)
    if template is None:
        template = Frame(SeqID=0, LogID=0, service=0, method=FrameType.DATA)
        for key in (H_TYPE, H_MESSAGE_ID, H_SUM, H_SEQ, H_TRACE_ID):
            template.headers.add(key=key, value="")
        template.headers[0].value = str(kind)
        _DATA_TEMPLATES[kind] = template
    return template


# -- acks --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ack:
    """A client's answer to one data message."""

    message_id: str
    code: int | None  # None: payload unreadable or without an integer ``code``
    data: bytes | None = None  # base64-decoded ``data`` (a card callback's result), if any
    biz_rt_ms: float | None = None  # handler duration the client reported, if any
    raw: bytes = b""
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return code_acked(self.code)


# Acks that need no JSON parse: Node/Go (compact) and Python (spaced) forms of a plain success.
_PLAIN_OK: Final = frozenset({b'{"code":200}', b'{"code": 200}'})


def parse_ack(frame: Frame) -> Ack:
    """Read an ack frame leniently. Never raises: what cannot be read is listed in ``problems``."""
    problems: list[str] = []
    message_id, biz_rt = _ack_headers(frame, problems)
    raw = bytes(frame.payload)
    if raw in _PLAIN_OK and not problems:  # the SDKs' usual answers, without a JSON parse
        return Ack(message_id=message_id, code=200, biz_rt_ms=biz_rt, raw=raw)
    code, data = _ack_payload(raw, problems)
    return Ack(message_id=message_id, code=code, data=data, biz_rt_ms=biz_rt, raw=raw, problems=tuple(problems))


def _ack_headers(frame: Frame, problems: list[str]) -> tuple[str, float | None]:
    """The ack's message id ("" if missing) and ``biz_rt`` (None if missing or unreadable)."""
    message_id: str | None = None
    raw_rt: str | None = None
    for h in frame.headers:  # one pass; the first value of each header counts (as in ``header``)
        key = h.key
        if key == H_MESSAGE_ID:
            if message_id is None:
                message_id = h.value
        elif key == H_BIZ_RT and raw_rt is None:
            raw_rt = h.value
    message_id = message_id or ""
    if not message_id:
        problems.append("no message_id header")
    biz_rt: float | None = None
    if raw_rt is not None:
        try:
            biz_rt = float(raw_rt)
        except ValueError:
            problems.append(f"biz_rt not a number: {raw_rt[:40]!r}")
    return message_id, biz_rt


def _ack_payload(raw: bytes, problems: list[str]) -> tuple[int | None, bytes | None]:
    """The payload's integer ``code`` and base64-decoded ``data``, each None if absent or unreadable."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        problems.append("payload is not JSON")
        return None, None
    if isinstance(doc, dict):
        code = _ack_code(doc.get("code"), problems)
        return code, _ack_data(doc.get("data"), problems)
    if doc is not None:  # (a JSON null is just an ack without a code)
        problems.append("payload is not a JSON object")
    return None, None


def _ack_code(value: Any, problems: list[str]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    problems.append(f"no integer code: {value!r}")
    return None


def _ack_data(encoded: Any, problems: list[str]) -> bytes | None:
    if isinstance(encoded, str) and encoded:
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            problems.append("data is not base64")
    return None


def ack_frame(frame: Frame, *, code: int = 200, biz_rt_ms: int | None = None, data: bytes | None = None,
              spaced: bool = False) -> Frame:
    """The client side of docs/protocol.md#acknowledgement-frames (for test clients and the benchmark): a copy of
    ``frame`` with the ack
    payload and, optionally, a ``biz_rt`` header appended."""
    ack = Frame()
    ack.CopyFrom(frame)
    doc: dict[str, Any] = {"code": code}
    if data is not None:
        doc["data"] = base64.b64encode(data).decode()
    sep = (", ", ": ") if spaced else (",", ":")
    ack.payload = json.dumps(doc, separators=sep).encode()
    if biz_rt_ms is not None:
        ack.headers.add(key=H_BIZ_RT, value=str(biz_rt_ms))
    return ack


# -- reassembly --------------------------------------------------------------------------------------

@dataclass
class _Partial:
    total: int
    parts: dict[int, bytes]
    updated: float


class Reassembler:
    """Client-side reassembly by ``message_id`` (used by the test and benchmark clients). Like the Node
    client it forgets a message once complete and drops partials idle for longer than ``ttl``."""

    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._partials: dict[str, _Partial] = {}

    def feed(self, frame: Frame, now: float = 0.0) -> bytes | None:
        """The complete payload when ``frame`` completes its message, else ``None``."""
        message_id = header(frame, H_MESSAGE_ID)
        try:
            total = int(header(frame, H_SUM) or "")
            seq = int(header(frame, H_SEQ) or "")
        except ValueError:
            raise FrameError("sum/seq missing or not integers") from None
        if message_id is None or not 0 <= seq < total:
            raise FrameError("bad message_id/sum/seq headers")
        if total == 1:
            return bytes(frame.payload)
        self.expire(now)
        part = self._partials.get(message_id)
        if part is None or part.total != total:
            part = self._partials[message_id] = _Partial(total, {}, now)
        part.parts[seq] = bytes(frame.payload)
        part.updated = now
        if len(part.parts) < total or any(not p for p in part.parts.values()):
            return None
        del self._partials[message_id]
        return b"".join(part.parts[i] for i in range(total))

    def expire(self, now: float) -> None:
        stale = [k for k, p in self._partials.items() if now - p.updated > self.ttl]
        for k in stale:
            del self._partials[k]

    def __len__(self) -> int:
        return len(self._partials)

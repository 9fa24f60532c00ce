"""The one exception hierarchy of the simulator, split by whose fault an error is.

::

    SimulatorError               base of everything raised on purpose; ``exit_code`` is what the CLI returns
    ├── UsageError               the caller's mistake (exit 2)
    │   ├── ConfigError          an invalid option value: an empty key, a bad rate or fault spec, a target
    │   │                        that is neither an http(s) URL nor an app, a path without a leading '/'
    │   ├── FixtureError         a scenario / transcript / stages file that cannot be read or parsed
    │   ├── OverrideError        a ``--set`` path that does not exist or a value that breaks the schema
    │   ├── UnknownEventType     no generator registered for that event type (names the closest ones)
    │   └── ValidationFailed     a generated or loaded payload that does not match its JSON Schema
    ├── TargetError              the target or the environment, not the caller's input (exit 2: found
    │                            before a run starts): a URL nobody answers, a port that cannot be bound,
    │                            a server that did not start, package data that is missing
    ├── ProtocolError            a peer broke the wire protocol (exit 1)
    │   ├── DecryptError         ciphertext that does not decrypt (wrong key, bad padding, not base64)
    │   ├── FrameError           bytes that are not a usable ``pbbp2`` frame, or a frame that must not be sent
    │   └── AnswerDecodeError    a long-connection ack whose ``data`` (a callback answer) is not base64
    ├── ReceiverError            the app under test misbehaved; raised only by ``assert_*`` helpers (exit 1)
    │   ├── NotAcked             an event did not end acked
    │   ├── BotCallMissing       the bot did not make an expected OpenAPI call (``assert_replied``...)
    │   └── BadAnswer            a callback's answer is invalid, or not the toast / card a test expects
    └── ApiRefused               the mock OpenAPI's refusal of a bot's call; answered, never raised to callers

The engine itself never raises ``ReceiverError`` while delivering: it records verdicts and lets the
caller (CLI exit code, pytest fixture teardown, ``assert_*``) decide.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SimulatorError(Exception):
    """Base class of all errors the simulator raises on purpose. The CLI prints one line and exits
    with ``exit_code``."""

    exit_code = 1


class UsageError(SimulatorError):
    """The caller asked for something invalid. The CLI exits with code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """An option has an invalid value."""


class FixtureError(UsageError):
    """A file given to the simulator (scenario, transcript, stages) is unreadable or malformed."""


class OverrideError(UsageError):
    """A ``path=value`` override that cannot be applied."""


class UnknownEventType(UsageError):
    """No generator (or schema) is registered for the event type; the message names the closest known
    types, or where to list them when none is close."""

    def __init__(self, event_type: str, known: Iterable[str] = ()) -> None:
        known = sorted(known)
        hint = did_you_mean(event_type, known, cutoff=0.8)
        if not hint and known:
            hint = f" ({len(known)} known: see feishu-sim generate --list)"
        super().__init__(f"unknown event type {event_type!r}{hint}")
        self.event_type = event_type
        self.known = known


class ValidationFailed(UsageError):
    """A payload does not match its JSON Schema."""


class TargetError(SimulatorError):
    """The delivery target or the environment failed: not the caller's input, not the receiver's answers.
    Found before a run starts, so the CLI exits with code 2 as for bad input."""

    exit_code = 2


class ProtocolError(SimulatorError):
    """A peer (a receiver's HTTP body, an SDK client's frame) broke the wire protocol."""


class DecryptError(ProtocolError):
    """Ciphertext that does not decrypt (wrong key, bad padding, not base64)."""


class FrameError(ProtocolError):
    """Bytes that are not a usable ``pbbp2.Frame``, or a frame that must not be sent (the platform counts
    a client's bad frames, never fatal)."""


class AnswerDecodeError(ProtocolError):
    """A long-connection ack whose ``data`` (the app's callback answer) is not base64."""


class ReceiverError(SimulatorError):
    """The receiver under test misbehaved (raised by assertion helpers only)."""


class NotAcked(ReceiverError):
    """One or more deliveries did not end acked."""


class BotCallMissing(ReceiverError):
    """The bot under test did not make the OpenAPI call a test expected (``assert_replied``, ``wait_for_reply``)."""


class ApiRefused(SimulatorError):
    """The mock OpenAPI refuses a bot's call with a platform error ``code`` (docs/openapi.md#error-envelope).

    Raised and caught inside the platform's HTTP layer, which turns it into the error answer; it never reaches
    the caller of the simulator. ``status`` is the HTTP status (400, or 429 for the gateway's rate limit),
    ``headers`` extra answer headers, ``detail`` a field violation or hint appended to the message,
    ``violations`` the permission scopes the call lacks (``permission_violations``)."""

    def __init__(self, code: int, msg: str, *, status: int = 400, headers: dict[str, str] | None = None,
                 field: str = "", detail: str = "", violations: tuple[str, ...] = ()) -> None:
        super().__init__(f"{code}: {msg}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}
        self.field = field
        self.detail = detail
        self.violations = violations


class BadAnswer(ReceiverError):
    """A callback's answer is invalid, or not the toast or card the test expects."""


def did_you_mean(name: str, known: Iterable[str], *, cutoff: float = 0.6) -> str:
    """``" (did you mean 'x'?)"`` naming the closest of ``known`` (and any as close, within 0.05), or ``""``."""
    scored = sorted((-difflib.SequenceMatcher(None, name, c).ratio(), c) for c in known)
    close = [c for score, c in scored if -score >= cutoff and score <= scored[0][0] + 0.05]
    if not close:
        return ""
    names = [repr(c) for c in close[:3]]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f" (did you mean {listed}?)"

"""The one exception hierarchy of the simulator.

::

    SimulatorError                 base of everything raised on purpose
    ├── UsageError                 the caller's mistake; the CLI prints one line and exits 2
    │   ├── UnknownEventType       no generator registered for that event type
    │   ├── OverrideError          a ``--set`` path that does not exist or a value that breaks the schema
    │   ├── ValidationFailed       a generated or loaded payload that does not match its JSON Schema
    │   ├── FixtureError           a fixture / scenario / transcript file that cannot be read or parsed
    │   ├── ConfigError            an invalid option value (empty key, bad rate, bad fault spec, ...)
    │   └── TargetError            a target URL that is malformed or unreachable before a run starts
    ├── ReceiverError              the receiver under test misbehaved; raised only by ``assert_*`` helpers
    │   ├── NotAcked               an event did not end acked
    │   └── BotCallMissing         the bot did not make an expected OpenAPI call (``assert_replied``...)
    └── ApiRefused                 the mock OpenAPI's refusal of a bot's call; answered, never raised to callers

The engine itself never raises ``ReceiverError`` while delivering: it records verdicts and lets the
caller (CLI exit code, pytest fixture teardown, ``assert_*``) decide.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base class of all errors the simulator raises on purpose."""


class UsageError(SimulatorError):
    """The caller asked for something invalid. The CLI exits with code 2."""

    exit_code = 2


class UnknownEventType(UsageError):
    def __init__(self, event_type: str, known: list[str] | None = None) -> None:
        hint = f" (known: {', '.join(known)})" if known else ""
        super().__init__(f"unknown event type {event_type!r}{hint}")
        self.event_type = event_type


class OverrideError(UsageError):
    """A ``path=value`` override that cannot be applied."""


class ValidationFailed(UsageError):
    """A payload does not match its JSON Schema."""


class FixtureError(UsageError):
    """A file given to the simulator (fixture, scenario, transcript, stages) is unreadable or malformed."""


class ConfigError(UsageError):
    """An option has an invalid value."""


class TargetError(UsageError):
    """A delivery target is malformed or unreachable."""


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
    ``headers`` extra answer headers, ``detail`` a field violation or hint appended to the message."""

    def __init__(self, code: int, msg: str, *, status: int = 400, headers: dict[str, str] | None = None,
                 field: str = "", detail: str = "") -> None:
        super().__init__(f"{code}: {msg}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}
        self.field = field
        self.detail = detail

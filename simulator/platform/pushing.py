"""What the control API asks of whoever makes events: a ``Pusher``.

The platform delivers one envelope to one connection and judges the ack; it does not generate events
or run a retry ladder. ``/_sim/push`` and ``/_sim/push/batch`` turn their JSON into a ``PushRequest`` and
hand it to the ``Pusher`` given to ``create_app``; the engine-backed one (``EnginePusher`` in
``simulator.engine.platform_push``) is wired in by whoever composes the two (``PlatformServer``,
``feishu-sim serve``), so nothing in this package depends on the engine (docs/semantics.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from simulator import constants as C
from simulator.errors import ConfigError
from simulator.generation.overrides import Overrides
from simulator.verdicts.model import Delivery, Summary

MAX_PUSH = 1_000_000  # events per push that answers with every delivery (``Pusher.push``): bounded memory
MAX_STREAM = 1_000_000_000  # events per streamed push (``Pusher.start``): nothing is kept per event
# A push that does not say how many events may be in flight gets this many per live connection of its app
# (at most AUTO_MAX, at least 1): a large push to 50 connections runs 800 at once instead of crawling at
# one, and a single slow SDK client (which handles events one at a time) gets 16, well within the 3 s budget.
AUTO_PER_CONNECTION = 16
AUTO_MAX = 1024


def auto_concurrency(count: int, live_connections: int) -> int:
    """The in-flight limit of a push that gave none: ``AUTO_PER_CONNECTION`` per live connection."""
    return max(1, min(count, AUTO_PER_CONNECTION * max(1, live_connections), AUTO_MAX))


@dataclass(frozen=True)
class WebhookTarget:
    """Deliver by webhook instead of the long connection: POST to ``url``, sealed with the app's
    ``encrypt_key`` (None: plaintext), ``verification_token`` in ``header.token``, judged against the webhook
    budget (``timeout_s``, ``connect_timeout_s``; ``accept_2xx``: any 2xx acks). The events come from the same
    world as the platform's other pushes, so the bot's OpenAPI calls about them are judged against it."""

    url: str
    encrypt_key: str | None = None
    verification_token: str | None = None
    timeout_s: float = C.WEBHOOK_TOTAL_BUDGET_S
    connect_timeout_s: float = C.WEBHOOK_CONNECT_BUDGET_S
    accept_2xx: bool = False

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"invalid webhook URL {self.url!r}: expected http(s)://host[:port]/path")
        if self.connect_timeout_s <= 0 or self.timeout_s <= 0:
            raise ConfigError("webhook timeouts must be > 0")
        for name in ("encrypt_key", "verification_token"):
            if getattr(self, name) == "":
                raise ConfigError(f"webhook {name} must not be empty (omit it)")


@dataclass(frozen=True)
class PushRequest:
    """``count`` events of ``event_type`` (made with ``params`` and ``overrides``; or ``count`` runs of
    ``scenario``, or ready ``envelopes``) for ``app_id`` (``None``: the first configured app), at most
    ``concurrency`` in flight (``None``: the pusher's choice, ``auto_concurrency`` over the long connection,
    one at a time by webhook); over the long connection, or by ``webhook`` to a URL."""

    event_type: str = C.DEFAULT_EVENT_TYPE
    count: int = 1
    app_id: str | None = None
    seed: int | None = None
    overrides: Overrides | None = None
    concurrency: int | None = 1
    scenario: str | None = None
    envelopes: list[dict[str, Any]] | None = None
    webhook: WebhookTarget | None = None
    params: dict[str, Any] | None = None  # the generator's inputs (``Simulator.generate``)

    def __post_init__(self) -> None:
        if self.params and (self.scenario is not None or self.envelopes is not None):
            raise ConfigError("params apply to generated events, not to a scenario or ready envelopes")
        if not 1 <= self.count <= MAX_STREAM:
            raise ConfigError(f"count must be between 1 and {MAX_STREAM:,}")
        if self.concurrency is not None and self.concurrency < 1:
            raise ConfigError("concurrency must be >= 1")


DeliveryHook = Callable[[Delivery], None]


class PushRun(Protocol):
    """A push made ready by ``Pusher.start``: ``run`` delivers it; ``pause``/``resume`` hold it (a slow reader
    of its results), ``halt`` stops it (nothing new starts, what is in flight finishes: its reader went away)."""

    @property
    def summary(self) -> Summary:
        """Running summary of the push's event deliveries that ended (fault-injected copies aside)."""

    async def run(self, *, on_start: DeliveryHook | None = None, on_end: DeliveryHook | None = None) -> None:
        """Deliver every event; ``on_start`` sees each event's delivery as it is created, in request order,
        ``on_end`` each as it ends -- and, when a stop or halt cut the push short, each one it left pending --
        so that the deliveries it saw add up to those started. Raises ``TargetError`` (saying how far it got)
        when the platform was stopped during the push."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def halt(self) -> None: ...


class Pusher(Protocol):
    """Generates events and delivers them through the platform; keeps the record of every delivery."""

    async def push(self, request: PushRequest) -> list[Delivery]:
        """Every delivery of the request, in request order (awaited on the platform's event loop); at most
        ``MAX_PUSH`` events."""

    def start(self, request: PushRequest) -> PushRun:
        """The request checked and made ready (its first event made: bad input raises here, before anything
        is sent), for a push that keeps nothing per event."""

    def clear(self) -> None:
        """Forget every delivery."""

    def snapshot(self) -> dict[str, Any]:
        """JSON for ``/_sim/state``: delivery counts and the running summary."""

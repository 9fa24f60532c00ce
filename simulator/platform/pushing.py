"""What the control API asks of whoever makes events: a ``Pusher``.

The platform delivers one envelope to one connection and judges the ack; it does not generate events
or run a retry ladder. ``/_sim/push`` and ``/_sim/push/batch`` turn their JSON into a ``PushRequest`` and
hand it to the ``Pusher`` given to ``create_app``; the engine-backed one (``EnginePusher`` in
``simulator.engine.platform_push``) is wired in by whoever composes the two (``PlatformServer``,
``feishu-sim serve``), so nothing in this package depends on the engine (docs/semantics.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from simulator import constants as C
from simulator.errors import ConfigError
from simulator.generation.overrides import Overrides
from simulator.verdicts.model import Delivery

MAX_PUSH = 1_000_000  # events per push request: bounded, so one request cannot exhaust memory


@dataclass(frozen=True)
class PushRequest:
    """``count`` events of ``event_type`` (or ``count`` runs of ``scenario``, or ready ``envelopes``) for
    ``app_id`` (``None``: the first configured app), at most ``concurrency`` in flight."""

    event_type: str = C.DEFAULT_EVENT_TYPE
    count: int = 1
    app_id: str | None = None
    seed: int | None = None
    overrides: Overrides | None = None
    concurrency: int = 1
    scenario: str | None = None
    envelopes: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_PUSH:
            raise ConfigError(f"count must be between 1 and {MAX_PUSH}")
        if self.concurrency < 1:
            raise ConfigError("concurrency must be >= 1")


class Pusher(Protocol):
    """Generates events and delivers them through the platform; keeps the record of every delivery."""

    async def push(self, request: PushRequest) -> list[Delivery]:
        """Every delivery of the request, in request order (awaited on the platform's event loop)."""

    def clear(self) -> None:
        """Forget every delivery."""

    def snapshot(self) -> dict[str, Any]:
        """JSON for ``/_sim/state``: delivery counts and the running summary."""

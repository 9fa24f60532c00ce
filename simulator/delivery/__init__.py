"""Delivery channels. A channel makes one attempt at delivering one envelope and returns its verdict;
the engine owns retries, clocks and records."""

from __future__ import annotations

from typing import Any, Protocol

from simulator.verdicts.model import Attempt, Channel


class DeliveryChannel(Protocol):
    channel: Channel

    async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        """Deliver ``envelope`` once (sealing it afresh) and judge the receiver's answer."""

    async def aclose(self) -> None:
        """Release connections."""

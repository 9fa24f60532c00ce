"""Long-connection delivery: the engine's ``DeliveryChannel`` over the mock platform's live connections.

The platform owns the sockets and judges acks (``simulator.platform.core``); this adapter lets the
engine (``Simulator.deliver`` / ``push`` and its retry ladder) use it exactly like a webhook URL. The
envelope goes out as plain JSON, never sealed: the long connection carries no encryption or signature
(protocol §2.1), and ``EventFactory.generate(..., longconn=True)`` leaves ``header.token`` empty.
Must be awaited on the platform's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.verdicts.model import Attempt, Channel

if TYPE_CHECKING:
    from simulator.platform.core import Platform


class LongConnChannel:
    channel = Channel.LONGCONN

    def __init__(self, platform: Platform, app_id: str) -> None:
        self.platform = platform
        self.app_id = app_id

    async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        return await self.platform.deliver(self.app_id, envelope, attempt_no=attempt_no, sent_at=sent_at)

    async def aclose(self) -> None:
        """Nothing to release: the connections belong to the platform."""

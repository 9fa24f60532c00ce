"""Long-connection delivery: the engine's ``DeliveryChannel`` over the mock platform's live connections.

The platform owns the sockets and judges acks (``simulator.platform.core``); this adapter lets the
engine (``Simulator.deliver`` / ``push`` and its retry ladder) use it exactly like a webhook URL. The
envelope goes out as plain JSON, never sealed: the long connection carries no encryption or signature
(docs/protocol.md#connection-sequence), and ``EventFactory.generate(..., longconn=True)`` leaves ``header.token`` empty.

It is the one long-connection channel: the engine-backed pusher runs it on the platform's own event
loop; a ``FeishuSim`` (another loop, another thread) gives it the ``portal`` onto the platform's loop,
and every attempt hops there.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from simulator.verdicts.model import Attempt, Channel

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal

    from simulator.platform.core import Platform


@runtime_checkable
class HostedPlatform(Protocol):
    """A platform served on an event loop of its own (``PlatformServer``): what a delivery to it needs."""

    platform: Platform

    def portal(self) -> BlockingPortal:
        """The portal onto the platform's event loop (``TargetError`` when it is not running)."""


class LongConnChannel:
    channel = Channel.LONGCONN

    def __init__(self, platform: Platform, app_id: str, *, portal: BlockingPortal | None = None) -> None:
        self.platform = platform
        self.app_id = app_id
        self.portal = portal  # None: the caller runs on the platform's loop

    @classmethod
    def to(cls, target: HostedPlatform, app_id: str) -> LongConnChannel:
        """A channel to a platform running elsewhere (``TargetError`` when it is not running)."""
        return cls(target.platform, app_id, portal=target.portal())

    async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        if self.portal is None:
            return await self.platform.deliver(self.app_id, envelope, attempt_no=attempt_no, sent_at=sent_at)
        deliver = functools.partial(self.platform.deliver, self.app_id, envelope, attempt_no=attempt_no,
                                    sent_at=sent_at)
        return await asyncio.wrap_future(self.portal.start_task_soon(deliver))

    async def aclose(self) -> None:
        """Nothing to release: the connections belong to the platform."""

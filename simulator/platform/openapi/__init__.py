"""A mock of the Feishu OpenAPI calls a bot makes back (docs/openapi.md), served on the long-connection platform's
own origin: tenant tokens, send and reply, card updates, reactions, bot info, resources, uploads and the delayed
card update, with the platform's rules (tokens, rate limits, availability, the chats of the run's ``ImWorld``),
faults on demand and a record of every call.

Layers: ``tokens``, ``limits``, ``dedupe``, ``content``, ``media`` and ``messages`` are sans-IO rules on an
injected clock; ``state.OpenApiState`` holds them; ``routes`` is the Starlette face; ``control`` the ``/_sim/openapi``
control API; ``view.BotApi`` the assertion helpers a test uses (``server.api``).
"""

from __future__ import annotations

from simulator.platform.openapi.calls import ApiCall, CallLog
from simulator.platform.openapi.faults import FaultRule
from simulator.platform.openapi.limits import Limits
from simulator.platform.openapi.state import OpenApiState, platform_worlds

__all__ = ["ApiCall", "CallLog", "FaultRule", "Limits", "OpenApiState", "platform_worlds"]

"""The mock long-connection platform that the official SDK clients (``lark.ws.Client``, Node ``WSClient``)
connect to unmodified: endpoint discovery, ``pbbp2`` frames over a WebSocket, ping/pong, fragmented
events, ack judgement, cluster mode, faults and a control API (docs/protocol.md#long-connection,
docs/semantics.md#long-connection-rules).

Layers: ``session`` (one connection's protocol state and lifecycle), ``deadlines`` and ``admission`` are
sans-IO; ``core.Platform`` holds the connections and judges; ``app`` and ``control`` are the thin
Starlette face. The platform delivers what it is given and never imports the engine: the engine plugs in
as a ``Pusher`` (``pushing``), composed with it by ``simulator.platform_server.PlatformServer`` (a
background thread) and ``feishu-sim serve``.
"""

from __future__ import annotations

from simulator.platform.core import Platform
from simulator.platform.pushing import Pusher, PushRequest
from simulator.platform.session import Phase, PongConfig, Session
from simulator.platform.state import TEST_CLIENT_CONFIG, PlatformOptions
from simulator.wire.frames import DEFAULT_FRAGMENT_SIZE, ClientConfig

__all__ = [
    "DEFAULT_FRAGMENT_SIZE",
    "TEST_CLIENT_CONFIG",
    "ClientConfig",
    "Phase",
    "Platform",
    "PlatformOptions",
    "PongConfig",
    "PushRequest",
    "Pusher",
    "Session",
]

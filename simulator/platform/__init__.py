"""The mock long-connection platform that the official SDK clients (``lark.ws.Client``, Node ``WSClient``)
connect to unmodified: endpoint discovery, ``pbbp2`` frames over a WebSocket, ping/pong, fragmented
events, ack judgement, cluster mode, faults and a control API (protocol §2, semantics §2).

Layers: ``frames`` and ``session`` are sans-IO; ``platform`` holds the state and judges; ``app`` is the
thin Starlette face; ``server.PlatformServer`` runs it all in a background thread.
"""

from __future__ import annotations

from simulator.platform.core import Platform
from simulator.platform.server import TEST_CLIENT_CONFIG, PlatformServer
from simulator.platform.session import PongConfig, Session
from simulator.platform.state import PlatformOptions
from simulator.wire.frames import DEFAULT_FRAGMENT_SIZE, ClientConfig

__all__ = [
    "DEFAULT_FRAGMENT_SIZE",
    "TEST_CLIENT_CONFIG",
    "ClientConfig",
    "Platform",
    "PlatformOptions",
    "PlatformServer",
    "PongConfig",
    "Session",
]

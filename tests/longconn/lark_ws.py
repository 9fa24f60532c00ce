"""The official ``lark.ws.Client`` (lark-oapi 1.7.5) in a background thread for the tests: the simulator's
``LarkWsThread``/``LarkWsClient`` (simulator/lark_client.py, the
docs/protocol.md#the-websocket-client-in-a-background-thread recipe) with the tests' defaults.

``lark_oapi`` is imported at module level, i.e. at collection time with no event loop running: imported
inside a running loop, its module-global ``loop`` would be that loop. Only ONE client runs per process at a
time (the module-global loop): a second ``start()`` waits for the first to stop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import lark_oapi as lark

from simulator import lark_client
from simulator.lark_client import LarkWsClient

if TYPE_CHECKING:
    from simulator.platform_server import PlatformServer


class LarkWsThread(lark_client.LarkWsThread):
    """A client of app ``app_id`` on ``domain`` dispatching to ``handler`` (default: a dispatcher with only
    ``on_share_ended``, if given, registered); ``start()`` does not wait for it to connect."""

    def __init__(self, domain: str, app_id: str, app_secret: str,
                 handler: lark.EventDispatcherHandler | None = None, *, auto_reconnect: bool = True,
                 on_share_ended: Callable[[Any], None] | None = None,
                 log_level: lark.LogLevel = lark.LogLevel.WARNING) -> None:
        if handler is None:
            builder = lark.EventDispatcherHandler.builder("", "")
            if on_share_ended is not None:
                builder = builder.register_p2_vc_meeting_share_ended_v1(on_share_ended)
            handler = builder.build()
        super().__init__(domain, app_id, app_secret, handler, auto_reconnect=auto_reconnect, log_level=log_level)


@contextlib.contextmanager
def connected_client(platform: PlatformServer, app_id: str, app_secret: str,
                     handler: lark.EventDispatcherHandler) -> Iterator[LarkWsClient]:
    """A client dispatching to ``handler``, connected to ``platform`` (waited for, up to 15 s); stopped on leaving."""
    with LarkWsClient(platform, handler, app_id=app_id, app_secret=app_secret, log_level=lark.LogLevel.WARNING,
                      timeout=15) as client:
        yield client

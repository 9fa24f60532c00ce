"""The official ``lark.ws.Client`` (lark-oapi 1.7.5) in a background thread
(docs/protocol.md#the-websocket-client-in-a-background-thread recipe).

``lark_oapi`` is imported here at module level, i.e. at collection time with no event loop running:
imported inside a running loop, its module-global ``loop`` would be that loop and ``start()`` from
another thread would fail. Each client gets a fresh loop, patched into ``lark_oapi.ws.client.loop``
before the client is constructed (its cache schedules a task on the current loop at construction).

Because that loop is a module global which the client reads on every call, only ONE client may be
running per process at a time: start the next one after the previous one stopped (or use a subprocess).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import lark_oapi as lark
import lark_oapi.ws.client as lark_ws_client

if TYPE_CHECKING:
    from simulator.platform_server import PlatformServer

_START_LOCK = threading.Lock()  # the module-global loop is patched per client: one start at a time


class LarkWsThread:
    """Runs ``lark.ws.Client(...).start()`` in a daemon thread; ``stop()`` follows the recipe."""

    def __init__(self, domain: str, app_id: str, app_secret: str,
                 handler: lark.EventDispatcherHandler | None = None, *, auto_reconnect: bool = True,
                 on_share_ended: Callable[[Any], None] | None = None,
                 log_level: lark.LogLevel = lark.LogLevel.WARNING) -> None:
        if handler is None:
            builder = lark.EventDispatcherHandler.builder("", "")
            if on_share_ended is not None:
                builder = builder.register_p2_vc_meeting_share_ended_v1(on_share_ended)
            handler = builder.build()
        self.domain, self.app_id, self.app_secret = domain, app_id, app_secret
        self.handler = handler
        self.auto_reconnect = auto_reconnect
        self.log_level = log_level
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: Any = None
        self.error: BaseException | None = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lark-ws-client", daemon=True)

    def _run(self) -> None:
        with _START_LOCK:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            lark_ws_client.loop = loop
            self.loop = loop
            self.client = lark.ws.Client(self.app_id, self.app_secret, event_handler=self.handler,
                                         domain=self.domain, auto_reconnect=self.auto_reconnect,
                                         log_level=self.log_level)
            self.started.set()
        try:
            self.client.start()
        except BaseException as exc:  # RuntimeError on stop(); the SDK's exception on a fatal start
            self.error = exc
            if not isinstance(exc, RuntimeError):  # start() failed on its own: clean up here
                _drain_and_close(loop)

    def start(self) -> LarkWsThread:
        self.thread.start()
        self.started.wait(10)
        return self

    def join(self, timeout: float) -> bool:
        """Wait for ``start()`` to end; True if it did."""
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def stop(self) -> None:
        loop, client = self.loop, self.client
        if loop is None or client is None or not self.thread.is_alive():
            return
        client._auto_reconnect = False
        loop.set_exception_handler(lambda _loop, _ctx: None)  # the receive task's close error on the way out
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(client._disconnect(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            _drain_and_close(loop)
        self.client = None

    def __enter__(self) -> LarkWsThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def connected_client(platform: PlatformServer, app_id: str, app_secret: str,
                     handler: lark.EventDispatcherHandler) -> Iterator[LarkWsThread]:
    """A client dispatching to ``handler``, connected to ``platform`` (waited for, up to 15 s); stopped on leaving."""
    client = LarkWsThread(platform.domain, app_id, app_secret, handler).start()
    try:
        platform.wait_for_clients(1, timeout=15)
        yield client
    finally:
        client.stop()


def _drain_and_close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and await every task (ping loop, receive loop, the SDK cache's cron task) until none is
    left, then close the loop: no "Task was destroyed" warnings, and the cache's ``__del__`` (which
    cancels its cron task) finds the task already done."""
    if loop.is_closed():
        return
    loop.set_exception_handler(lambda _loop, _ctx: None)
    for _ in range(5):
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not tasks:
            break
        for task in tasks:
            task.cancel()
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    gc.collect()
    loop.close()

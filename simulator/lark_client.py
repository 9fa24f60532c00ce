"""``LarkWsClient``: the official ``lark.ws.Client`` (lark-oapi 1.7.5) connected to a ``PlatformServer``
for a test, started, waited for and stopped without any SDK internals in the test's code (``LarkWsThread``:
the same client for a platform known only by its domain, not waited for).

What the SDK needs (docs/protocol.md, "The WebSocket client in a background thread"): ``start()`` never
returns and 1.7.5 has no ``stop()``; the client's event loop is a module global of ``lark_oapi.ws.client``
that every call reads, so each client gets a fresh loop in a thread of its own, patched in before the
client is built there, and **one client runs per process at a time** (a second ``start()`` waits for the
first to stop, then fails with a ``UsageError``; run more clients in subprocesses, e.g.
``simulator.harness.ClientProcess``). To stop, the loop is stopped from outside; the thread then
disconnects (a close frame the platform sees), cancels what is left and closes the loop by itself.

Event handlers run on the client's loop and block it while they run. ``stop()`` waits up to ``timeout``
for a handler that is still running; past that it warns (a ``RuntimeWarning``) instead of raising,
and the thread finishes the clean-up when the handler returns.

Needs ``lark-oapi`` (the test extra); import this module only when you use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import warnings
from typing import TYPE_CHECKING, Any, TypeVar

import lark_oapi as lark
import lark_oapi.ws.client as lark_ws_client
from lark_oapi.core.log import logger as lark_logger

from simulator.errors import UsageError
from simulator.harness import app_credentials, wait_for_new_connection

if TYPE_CHECKING:
    from simulator.platform_server import PlatformServer

_ONE_AT_A_TIME = threading.Lock()  # held from start() until the client's thread has cleaned up
_Client = TypeVar("_Client", bound="LarkWsThread")
_Connected = TypeVar("_Connected", bound="LarkWsClient")


class LarkWsThread:
    """``lark.ws.Client(app_id, app_secret, event_handler=..., domain=domain)`` in a thread of its own, for a
    platform known by its domain alone (e.g. ``feishu-sim serve`` in another process).

    ``start()`` returns once the client is built, without waiting for it to connect; ``running`` says its
    ``start()`` has not ended yet, ``join()`` waits for that, and ``error`` is what ended it (the SDK's
    exception when it gave up). ``stop()`` disconnects. A context manager. ``log_level``: the SDK's logger
    (``ERROR`` keeps a handler's exception in the captured log). Other keywords go to ``lark.ws.Client``."""

    def __init__(self, domain: str, app_id: str, app_secret: str, event_handler: Any, *,
                 auto_reconnect: bool = True, log_level: Any = None, timeout: float = 10.0,
                 **client_options: Any) -> None:
        self.domain, self.app_id, self.app_secret = domain, app_id, app_secret
        self.event_handler = event_handler
        self.auto_reconnect = auto_reconnect
        self.log_level = lark.LogLevel.ERROR if log_level is None else log_level
        self.timeout = timeout
        self.client_options = client_options
        self.client: Any = None  # the lark.ws.Client, once built
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._built = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self: _Client) -> _Client:
        if self._thread is not None:
            raise UsageError(f"this {type(self).__name__} was started already (make a new one to connect again)")
        if not _ONE_AT_A_TIME.acquire(timeout=self.timeout):
            raise UsageError("another lark.ws.Client is still running in this process: lark-oapi keeps its "
                             "event loop in a module global, so stop the other one first (or run more clients "
                             "as subprocesses: simulator.harness.ClientProcess)")
        self._thread = threading.Thread(target=self._run, name="lark-ws-client", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            _ONE_AT_A_TIME.release()
            raise
        try:
            self._built.wait(self.timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the client's ``start()`` to end (and its thread to clean up); True if it
        did."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def stop(self, timeout: float | None = None) -> None:
        """Disconnect and end the client's thread (waits up to ``timeout``, default the constructor's)."""
        thread, loop = self._thread, self._loop
        if thread is None or not thread.is_alive() or loop is None:
            return
        self._stopping = True
        if self.client is not None:
            self.client._auto_reconnect = False
        with contextlib.suppress(RuntimeError):  # closed already: the thread is on its way out
            loop.call_soon_threadsafe(loop.stop)
        thread.join(self.timeout if timeout is None else timeout)
        if thread.is_alive():
            warnings.warn(f"the lark.ws.Client of app {self.app_id} is still busy after "
                          f"{self.timeout if timeout is None else timeout:g} s: an event handler blocks its event "
                          "loop (handlers run on the client's loop); it disconnects when the handler returns",
                          RuntimeWarning, stacklevel=2)

    def __enter__(self: _Client) -> _Client:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the client's thread ------------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            asyncio.set_event_loop(loop)
            lark_ws_client.loop = loop  # read by every call of the client: one client per process at a time
            self._loop = loop
            try:
                self.client = lark.ws.Client(self.app_id, self.app_secret, event_handler=self.event_handler,
                                             domain=self.domain, auto_reconnect=self.auto_reconnect,
                                             log_level=self.log_level, **self.client_options)
            finally:
                self._built.set()
            self.client.start()
        except BaseException as exc:  # stop() ends start() with "Event loop stopped before Future completed."
            if not (self._stopping and isinstance(exc, RuntimeError)):
                self.error = exc
        finally:
            try:
                self._close(loop)
            finally:
                _ONE_AT_A_TIME.release()

    def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        """Disconnect (a close frame), then cancel and await every task left (ping and receive loops, the
        SDK cache's timer) and close the loop: no "Task was destroyed" warnings."""
        if loop.is_closed():
            return
        loop.set_exception_handler(lambda _loop, _ctx: None)  # the receive task ends with the socket
        level = lark_logger.level
        lark_logger.setLevel(logging.CRITICAL)  # "receive message loop exit": expected on the way out
        try:
            if self.client is not None:
                self.client._auto_reconnect = False
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(asyncio.wait_for(self.client._disconnect(), 5))
            for _ in range(5):
                tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
                if not tasks:
                    break
                for task in tasks:
                    task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        finally:
            lark_logger.setLevel(level)
            gc.collect()  # the cache's __del__ cancels its task: let it find the loop still open
            loop.close()
            asyncio.set_event_loop(None)


class LarkWsClient(LarkWsThread):
    """``lark.ws.Client(app_id, app_secret, event_handler=..., domain=platform.domain)`` in a thread.

    ``app_id``/``app_secret`` default to the platform's first app. ``start()`` returns once the connection
    is open on the platform (``connection``: its info) and raises ``TargetError`` with the SDK's error if
    the client gives up first, or when it does not connect within ``timeout`` s. A context manager.
    ``log_level``: the SDK's logger (``ERROR`` keeps a handler's exception in the captured log).
    Other keywords go to ``lark.ws.Client``."""

    def __init__(self, platform: PlatformServer, event_handler: Any, *, app_id: str | None = None,
                 app_secret: str | None = None, auto_reconnect: bool = True, log_level: Any = None,
                 timeout: float = 10.0, **client_options: Any) -> None:
        app_id, app_secret = app_credentials(platform, app_id, app_secret)
        super().__init__(platform.domain, app_id, app_secret, event_handler, auto_reconnect=auto_reconnect,
                         log_level=log_level, timeout=timeout, **client_options)
        self.platform = platform
        self.connection: dict[str, Any] | None = None

    def start(self: _Connected) -> _Connected:
        before = {c["conn_id"] for c in self.platform.connections()}
        super().start()
        try:
            self.connection = wait_for_new_connection(self.platform, self.app_id, before, timeout=self.timeout,
                                                      alive=self._gone)
        except BaseException:
            self.stop()
            raise
        return self

    def _gone(self) -> str | None:
        if self._thread is not None and self._thread.is_alive():
            return None
        why = f"{type(self.error).__name__}: {self.error}" if self.error is not None else "start() returned"
        return f"the lark.ws.Client of app {self.app_id} stopped before connecting ({why})"


__all__ = ["LarkWsClient", "LarkWsThread"]

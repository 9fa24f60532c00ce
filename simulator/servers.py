"""Running ASGI apps under uvicorn on loopback: in the current event loop (``serving``) or in a
background thread (``ThreadedServer``, on an anyio blocking portal). Port 0 picks a free port; the bound
URL is reported."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future
from typing import Any

import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal

from simulator.errors import TargetError
from simulator.loops import EventLoopChoice, loop_factory


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise TargetError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts local connections (a control API may then go without a token)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_of(sock: socket.socket, scheme: str = "http") -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _config(app: Any, **kwargs: Any) -> uvicorn.Config:
    kwargs.setdefault("log_level", "warning")
    kwargs.setdefault("access_log", False)
    kwargs.setdefault("lifespan", "off")
    return uvicorn.Config(app, **kwargs)


@contextlib.asynccontextmanager
async def serving(app: Any, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> AsyncIterator[str]:
    """Serve ``app`` in the running loop; yields its base URL."""
    sock = bind_socket(host, port)
    server = uvicorn.Server(_config(app, **kwargs))
    server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise TargetError("server stopped during start-up")
            await asyncio.sleep(0.005)
        yield url_of(sock)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
        sock.close()


class ThreadedServer:
    """``uvicorn`` on an event loop of its own (``event_loop``: see ``loop_factory``) in a daemon thread,
    reached through an anyio ``BlockingPortal``; ``start()`` returns once it accepts."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *,
                 event_loop: EventLoopChoice = "asyncio", **kwargs: Any) -> None:
        self.app = app
        self._new_loop = loop_factory(event_loop)
        self.sock = bind_socket(host, port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(_config(app, **kwargs))
        self.portal: BlockingPortal | None = None  # set while running
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stack = contextlib.ExitStack()
        self._serving: Future[None] | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        portal = self._stack.enter_context(start_blocking_portal(
            backend_options={"loop_factory": self._new_loop}, name="feishu-sim-server"))
        self.loop = portal.call(asyncio.get_running_loop)
        self.portal = portal
        serving = self._serving = portal.start_task_soon(self.server.serve, [self.sock])
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if serving.done() or time.monotonic() > deadline:
                error = serving.exception() if serving.done() else None
                self.stop(0)
                raise TargetError(f"server failed to start: {error!r}" if error or serving.done()
                                   else "server did not start in time")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Let uvicorn shut down (up to ``timeout`` s), cancel what is left, end the loop and its thread."""
        self.server.should_exit = True
        portal, self.portal, self.loop = self.portal, None, None
        if portal is not None:
            if self._serving is not None:
                with contextlib.suppress(Exception):  # stopping anyway; start() reports start-up errors
                    self._serving.result(timeout)
            portal.call(portal.stop, True)
        self._stack.close()
        self.sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

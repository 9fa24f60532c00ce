"""Running ASGI apps under uvicorn on loopback: in the current event loop (``serving``) or in a
background thread (``ThreadedServer``). Port 0 picks a free port; the bound URL is reported."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from simulator.errors import TargetError
from simulator.http_limits import DoorLimits, accept_backlog, guarded_http
from simulator.loops import EventLoopChoice, loop_factory

LISTEN_BACKLOG = 2048  # the kernel's queue of connections not yet accepted


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
    sock.listen(LISTEN_BACKLOG)
    sock.setblocking(False)
    return sock


def _restore_listen_queue(sock: socket.socket) -> None:
    """asyncio listens again with uvicorn's ``backlog``, which it also uses as the number of sockets accepted
    per wake-up; we keep that small (``accept_backlog``, so the connection cap works before descriptors run
    out) and the kernel's queue long (a short one drops SYNs under a flood: 1 s retransmits for good clients)."""
    sock.listen(LISTEN_BACKLOG)


def url_of(sock: socket.socket, scheme: str = "http") -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _config(app: Any, limits: DoorLimits | None = None, **kwargs: Any) -> uvicorn.Config:
    """uvicorn's config with our defaults: quiet, no lifespan, and the door bounds of ``http_limits``
    (header deadline and size, connection cap) on the httptools protocol."""
    kwargs.setdefault("http", guarded_http(limits))
    kwargs.setdefault("backlog", accept_backlog())
    kwargs.setdefault("log_level", "warning")
    kwargs.setdefault("access_log", False)
    kwargs.setdefault("lifespan", "off")
    return uvicorn.Config(app, **kwargs)


@contextlib.asynccontextmanager
async def serving(app: Any, host: str = "127.0.0.1", port: int = 0, *, limits: DoorLimits | None = None,
                  **kwargs: Any) -> AsyncIterator[str]:
    """Serve ``app`` in the running loop; yields its base URL."""
    sock = bind_socket(host, port)
    server = uvicorn.Server(_config(app, limits, **kwargs))
    server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise TargetError("server stopped during start-up")
            await asyncio.sleep(0.005)
        _restore_listen_queue(sock)
        yield url_of(sock)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
        sock.close()


class ThreadedServer:
    """``uvicorn`` in a daemon thread with its own loop (``event_loop``: see ``loop_factory``);
    ``start()`` returns once it accepts."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *,
                 event_loop: EventLoopChoice = "asyncio", limits: DoorLimits | None = None, **kwargs: Any) -> None:
        self.app = app
        self._new_loop = loop_factory(event_loop)
        self.sock = bind_socket(host, port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(_config(app, limits, **kwargs))
        self.thread = threading.Thread(target=self._run, name="feishu-sim-server", daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:
        loop = self._new_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported to the starting thread
            self.error = exc
        finally:
            loop.close()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self.thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive():
                raise TargetError(f"server failed to start: {self.error!r}")
            deadline.wait(0.01)
            waited += 0.01
            if waited > timeout:
                raise TargetError(f"server did not start within {timeout:g} s")
        _restore_listen_queue(self.sock)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

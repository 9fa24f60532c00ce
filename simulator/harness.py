"""The harness users would otherwise write by hand: an app on a real loopback server, and a long-connection
client (any program: the Node SDK's ``WSClient``, a Go bot...) run as a subprocess against the platform.

* ``serve_app(app)``: an ASGI app, or a WSGI app, served by uvicorn on a free loopback port in a thread
  of its own (``simulator.servers.ThreadedServer``). A WSGI app goes through uvicorn's WSGI interface
  (``a2wsgi`` when installed, else uvicorn's own adapter): each request runs on a worker thread, and a
  handler past the budget finishes its work after the platform gave up, as on a production server.
* ``ClientProcess(platform, argv)``: starts ``argv`` with the platform's address in its environment
  (``FEISHU_DOMAIN``, ``FEISHU_APP_ID``, ``FEISHU_APP_SECRET``), waits until its connection is open on
  the platform (or the process exits: its output is in the error), and terminates it on ``stop()``.
  ``simulator.lark_client.LarkWsClient`` does the same for the official Python client, in process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from simulator.delivery.inprocess import app_kind, describe
from simulator.errors import ConfigError, TargetError
from simulator.servers import ThreadedServer

if TYPE_CHECKING:
    from simulator.platform_server import PlatformServer

POLL_S = 0.02


def asgi_of(app: object) -> Any:
    """``app`` as an ASGI app: itself, or a WSGI app behind uvicorn's WSGI adapter (``ConfigError`` for
    anything else)."""
    kind = app_kind(app)
    if kind == "asgi":
        return app
    if kind == "wsgi":
        from uvicorn.middleware.wsgi import WSGIMiddleware  # type: ignore[attr-defined]  # a2wsgi's or uvicorn's

        with warnings.catch_warnings():  # uvicorn's own adapter (no a2wsgi installed) warns it is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            return WSGIMiddleware(app)  # type: ignore[arg-type]
    raise ConfigError(f"cannot serve {describe(app)}: neither an ASGI app (async callable (scope, receive, send)) "
                      "nor a WSGI app (callable (environ, start_response))")


@contextlib.contextmanager
def serve_app(app: object, host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any) -> Iterator[ThreadedServer]:
    """Serve ``app`` (ASGI or WSGI) with uvicorn on ``host:port`` (0: a free port) until the block ends;
    yields the running server (``.url`` is its base URL)."""
    asgi = asgi_of(app)
    server = ThreadedServer(asgi, host, port, **uvicorn_options)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        executor = getattr(asgi, "executor", None)  # uvicorn's adapter keeps a thread pool of its own
        if executor is not None:
            executor.shutdown(wait=False)


def wait_for_new_connection(platform: PlatformServer, app_id: str, before: set[str], *, timeout: float,
                            alive: Callable[[], str | None]) -> dict[str, Any]:
    """Poll ``platform`` until a connection of ``app_id`` that is not in ``before`` is open; ``alive()``
    returns why the client cannot connect any more (it exited), or None while it may still."""
    deadline = time.monotonic() + timeout
    while True:
        for info in platform.connections():
            if info["app_id"] == app_id and info["conn_id"] not in before and info["phase"] in ("open", "half_open"):
                return info
        gone = alive()
        if gone is not None:
            raise TargetError(gone)
        if time.monotonic() > deadline:
            raise TargetError(f"no connection of app {app_id} opened within {timeout:g} s "
                              f"(platform counters: {_problems(platform)})")
        time.sleep(POLL_S)


def _problems(platform: PlatformServer) -> str:
    counters = {k: v for k, v in platform.counters().items() if v}
    return ", ".join(f"{k}={v}" for k, v in sorted(counters.items())) or "none"


def app_credentials(platform: PlatformServer, app_id: str | None, app_secret: str | None) -> tuple[str, str]:
    """``app_id`` (default: the platform's first app) and its secret (default: the one the platform has)."""
    apps = platform.platform.options.apps
    app_id = app_id or platform.platform.options.default_app
    if app_secret is None:
        if app_id not in apps:
            raise ConfigError(f"app {app_id!r} is not an app of the platform (its apps: {', '.join(apps)}); "
                              "give app_secret= to connect with it anyway")
        app_secret = apps[app_id]
    return app_id, app_secret


class ClientProcess:
    """A long-connection client program (``argv``) run against ``platform`` for a test.

    The process gets ``FEISHU_DOMAIN`` (the platform's ``domain``), ``FEISHU_APP_ID`` and
    ``FEISHU_APP_SECRET`` in its environment (besides this process's, and ``env``); ``start()`` returns
    once its connection is open on the platform and raises ``TargetError`` with the program's output if
    it exits first or does not connect within ``timeout`` s. ``stop()`` terminates it (then kills it after
    ``timeout``). Its output (stdout and stderr) is in ``output()``. A context manager."""

    def __init__(self, platform: PlatformServer, argv: Sequence[str], *, app_id: str | None = None,
                 app_secret: str | None = None, env: Mapping[str, str] | None = None, cwd: str | None = None,
                 timeout: float = 15.0) -> None:
        if not argv:
            raise ConfigError("ClientProcess needs a command (argv) to run")
        self.platform = platform
        self.argv = list(argv)
        self.app_id, self.app_secret = app_credentials(platform, app_id, app_secret)
        self.env = {**os.environ, "FEISHU_DOMAIN": platform.domain, "FEISHU_APP_ID": self.app_id,
                    "FEISHU_APP_SECRET": self.app_secret, **(env or {})}
        self.cwd = cwd
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.connection: dict[str, Any] | None = None
        self._log: IO[bytes] | None = None
        self._output = ""  # kept when the log is closed

    def start(self) -> ClientProcess:
        before = {c["conn_id"] for c in self.platform.connections()}
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (open from start() until __exit__)
        try:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT)
        except OSError as exc:
            self._log.close()
            raise TargetError(f"cannot start {self.argv[0]!r}: {exc.strerror or exc}") from None
        try:
            self.connection = wait_for_new_connection(self.platform, self.app_id, before, timeout=self.timeout,
                                                      alive=self._exited)
        except BaseException:
            self.stop()
            raise
        return self

    def _exited(self) -> str | None:
        code = None if self.proc is None else self.proc.poll()
        if code is None:
            return None
        return f"{' '.join(self.argv)} exited with code {code} before connecting: {self.output()[-2000:]!r}"

    def output(self) -> str:
        """What the program wrote so far (stdout and stderr)."""
        if self._log is None or self._log.closed:
            return self._output
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(self.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(self.timeout)

    def __enter__(self) -> ClientProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._log is not None:
            self._output = self.output()
            self._log.close()


__all__ = ["ClientProcess", "app_credentials", "asgi_of", "serve_app", "wait_for_new_connection"]

"""``PlatformServer``: the mock long-connection platform on one loopback port, in a background thread.

Usable from synchronous code (tests, scripts); every method is thread-safe because it runs on the
server's event loop. The pytest plugin and ``feishu-sim serve`` are thin wrappers around it::

    from simulator.platform import ClientConfig, PlatformServer

    with PlatformServer(app_id="cli_a1b2c3d4e5f60718", app_secret="s3cret",
                        client_config=ClientConfig(ping_interval=5, reconnect_nonce=0,
                                                   reconnect_interval=1)) as platform:
        # give platform.domain to the SDK:
        #   lark.ws.Client(app_id, app_secret, event_handler=h, domain=platform.domain)
        platform.wait_for_clients(1, timeout=10)
        deliveries = platform.push("vc.meeting.share_ended_v1", count=3)
        assert all(d.acked for d in deliveries)

API
---
``domain``                                   ``http://127.0.0.1:PORT``: the SDK's ``domain`` option
``wait_for_clients(n, timeout)``             block until ``n`` connections are live; their infos
``push(event_type, count=1, *, overrides,    generate and deliver (cluster mode, 3 s ack budget,
seed, app_id, concurrency, timeout)``        the engine's retry ladder); ``list[Delivery]``
``apush(...)``                               the same, awaitable from async code (another loop)
``push_envelopes(envelopes, ...)``           deliver ready-made envelopes
``connections()``                            live connections (id, app, counters, ...)
``deliveries``                               every delivery since the last ``clear()`` (newest N)
``summary()``                                running ``Summary`` of all of them, retained or not
``assert_all_acked()``                       raise ``NotAcked`` unless all of them were acked
``counters()``                               platform counters (problems, verdicts, handshakes)
``close_connection(conn_id, code, reason)``  server-side close of one connection
``reconnect_all(code)``                      close every connection (clients reconnect by themselves)
``answer_pings(flag, conn_id=None)``         ``False``: pings go unanswered (half-open)
``ack_judgement(delay_s=0, drop=False)``     judge acks later, or ignore them (timeouts)
``set_client_config(**keys)``                change ClientConfig; live clients get it in their next pong
``clear()``                                  forget deliveries/counters, lift faults, restore config
``api``                                      the bot's OpenAPI calls on this origin (``calls``, ``last``,
                                             ``sent_messages``, ``assert_replied``, ``wait_for_reply``, ``fail``)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
from collections.abc import Coroutine
from typing import Any, TypeVar

from simulator import constants as C
from simulator.clock import Clock
from simulator.config import RetryPolicy
from simulator.engine.faults import FaultSpec
from simulator.errors import ConfigError, NotAcked
from simulator.generation.overrides import Overrides
from simulator.loops import EventLoopChoice
from simulator.platform.app import create_app
from simulator.platform.core import Platform
from simulator.platform.openapi.view import BotApi
from simulator.platform.session import PongConfig
from simulator.platform.state import PlatformOptions
from simulator.servers import ThreadedServer
from simulator.verdicts.model import Delivery, Summary
from simulator.verdicts.transcript import TranscriptWriter
from simulator.wire.frames import DEFAULT_FRAGMENT_SIZE, ClientConfig

T = TypeVar("T")

# Tests use short intervals: the first ping comes at once, later ones every 5 s; reconnects are immediate.
TEST_CLIENT_CONFIG = ClientConfig(reconnect_count=-1, reconnect_interval=1, reconnect_nonce=0, ping_interval=5)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts local connections (the control API may then go without a token)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class PlatformServer:
    """The platform (``Platform``) served by uvicorn on ``host:port`` (0: a free port) in a daemon thread.

    ``app_id``/``app_secret`` (or ``apps``: several id -> secret) are the credentials discovery accepts;
    ``client_config`` the ClientConfig handed out (use ``TEST_CLIENT_CONFIG`` in tests); ``seed`` makes
    events, ids and the cluster choice reproducible; ``ack_budget_s`` (3 s), ``fragment_size`` (512 KiB),
    ``max_connections`` (50 per app) and ``pong_config`` tune the protocol; ``retries`` (the engine's
    retry ladder, none by default) and ``faults`` (its seeded delivery faults) apply to pushes, on
    ``clock`` (e.g. ``VirtualClock(scale=0)`` runs the ladder instantly); ``transcript`` records every
    attempt; ``keep_deliveries`` bounds the records kept for long runs (the newest N; ``summary()``
    still counts all); ``control_token`` guards ``/_sim/`` (required when ``host`` is not loopback); ``event_loop``
    picks the server thread's loop (``"auto"``, the default: uvloop when installed, several times less
    CPU per frame than the stdlib loop; ``"asyncio"``; ``"uvloop"``); other keywords go to ``uvicorn.Config``.
    """

    def __init__(self, *, app_id: str = C.DEFAULT_APP_ID, app_secret: str = C.DEFAULT_APP_SECRET,
                 apps: dict[str, str] | None = None, client_config: ClientConfig | None = None,
                 host: str = "127.0.0.1", port: int = 0, seed: int | None = None,
                 ack_budget_s: float = C.LONGCONN_ACK_BUDGET_S, fragment_size: int = DEFAULT_FRAGMENT_SIZE,
                 max_connections: int = C.MAX_CONNECTIONS_PER_APP, pong_config: PongConfig = PongConfig.CHANGED,
                 retries: RetryPolicy | None = None, faults: FaultSpec | None = None,
                 control_token: str | None = None, keep_deliveries: int | None = None,
                 clock: Clock | None = None, transcript: TranscriptWriter | None = None,
                 event_loop: EventLoopChoice = "auto", **uvicorn_options: Any) -> None:
        if control_token is None and not is_loopback(host):
            raise ConfigError(f"host {host} is not loopback: a control token is required")
        options = PlatformOptions(
            apps=dict(apps) if apps else {app_id: app_secret},
            client_config=client_config or ClientConfig(), ack_budget_s=ack_budget_s, fragment_size=fragment_size,
            max_connections=max_connections, pong_config=pong_config, seed=seed,
            retries=retries or RetryPolicy(), faults=faults or FaultSpec(), keep_deliveries=keep_deliveries)
        self.platform = Platform(options, clock=clock, transcript=transcript)
        app = create_app(self.platform, control_token=control_token)
        uvicorn_options.setdefault("http", "h11")  # keeps the OpenAPI's header casing (openapi/routes.py)
        self.server = ThreadedServer(app, host, port, event_loop=event_loop, **uvicorn_options)
        self.domain = self.server.url
        # The bot's OpenAPI calls on the same origin: record, assertions, faults (simulator/platform/openapi/view.py).
        self.api = BotApi(app.state.openapi, run=self._run)

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> PlatformServer:
        self.server.start(timeout)
        return self

    def stop(self) -> None:
        """Close every client connection (code 1001), then stop the server and the transcript."""
        if self.server.loop is not None and self.server.thread.is_alive():
            with contextlib.suppress(Exception):  # stopping anyway
                self._call(self.platform.reconnect_all(1001, "going away"), 5.0)
        self.server.stop()
        if self.platform.transcript is not None:
            self.platform.transcript.close()

    def __enter__(self) -> PlatformServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self.server.port

    # -- plumbing -----------------------------------------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        loop = self.server.loop
        if loop is None:
            coro.close()
            raise RuntimeError("platform server is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        async def call() -> Any:
            return fn(*args, **kwargs)
        return self._call(call(), 10.0)

    # -- API ----------------------------------------------------------------------------------------
    def wait_for_clients(self, n: int = 1, timeout: float = 10.0, app_id: str | None = None) -> list[dict[str, Any]]:
        conns = self._call(self.platform.wait_for_clients(n, timeout, app_id), timeout + 5)
        return [c.info() for c in conns]

    def push(self, event_type: str = C.DEFAULT_EVENT_TYPE, count: int = 1, *, overrides: Overrides | None = None,
             seed: int | None = None, app_id: str | None = None, concurrency: int = 1,
             timeout: float | None = None) -> list[Delivery]:
        return self._call(self.platform.push(event_type, count, app_id=app_id, seed=seed, overrides=overrides,
                                             concurrency=concurrency), timeout)

    async def apush(self, event_type: str = C.DEFAULT_EVENT_TYPE, count: int = 1, *,
                    overrides: Overrides | None = None, seed: int | None = None, app_id: str | None = None,
                    concurrency: int = 1) -> list[Delivery]:
        """``push`` for async code: awaits without blocking the caller's loop (which may host the client)."""
        loop = self.server.loop
        if loop is None:
            raise RuntimeError("platform server is not running")
        coro = self.platform.push(event_type, count, app_id=app_id, seed=seed, overrides=overrides,
                                  concurrency=concurrency)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    def push_envelopes(self, envelopes: list[dict[str, Any]], *, app_id: str | None = None, concurrency: int = 1,
                       timeout: float | None = None) -> list[Delivery]:
        return self._call(self.platform.push(count=len(envelopes), app_id=app_id, envelopes=envelopes,
                                             concurrency=concurrency), timeout)

    def generate(self, event_type: str = C.DEFAULT_EVENT_TYPE, *, overrides: Overrides | None = None,
                 app_id: str | None = None) -> dict[str, Any]:
        """One envelope as the platform would send it (plain JSON, empty ``header.token``)."""
        sim = self._run(self.platform.simulator, app_id)
        env: dict[str, Any] = self._run(sim.generate, event_type, overrides=overrides, longconn=True)
        return env

    def connections(self) -> list[dict[str, Any]]:
        infos: list[dict[str, Any]] = self._run(lambda: [c.info() for c in self.platform.connections.values()])
        return infos

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery since the last ``clear()`` (with ``keep_deliveries=N``: the newest N)."""
        return list(self._run(self.platform.deliveries.newest))

    def summary(self) -> Summary:
        """Running summary of every closed delivery since the last ``clear()``, retained or not."""
        summary: Summary = self._run(copy.deepcopy, self.platform.summary)
        return summary

    def assert_all_acked(self) -> None:
        """Raise ``NotAcked`` unless every delivery since the last ``clear()`` ended acked."""
        deliveries = self.deliveries
        bad = [d for d in deliveries if not d.acked]
        if bad:
            raise NotAcked(f"{len(bad)} of {len(deliveries)} deliveries not acked: " + bad[0].summary_line())

    def counters(self) -> dict[str, int]:
        return dict(self._run(lambda: dict(self.platform.counters)))

    def snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = self._run(self.platform.snapshot)
        return snap

    def close_connection(self, conn_id: str, code: int = 1000, reason: str = "") -> None:
        self._call(self.platform.close_connection(conn_id, code, reason), 10.0)

    def reconnect_all(self, code: int = 1012, reason: str = "service restart") -> int:
        return self._call(self.platform.reconnect_all(code, reason), 10.0)

    def answer_pings(self, answer: bool, conn_id: str | None = None) -> None:
        self._run(self.platform.set_answer_pings, answer, conn_id)

    def ack_judgement(self, *, delay_s: float = 0.0, drop: bool = False) -> None:
        self._run(self.platform.set_ack_judgement, delay_s=delay_s, drop=drop)

    def set_client_config(self, **keys: int) -> ClientConfig:
        """Change some ClientConfig keys (``ping_interval=1`` or ``PingInterval=1``); returns the new one."""
        def apply() -> ClientConfig:
            cfg = self.platform.config.replace(**keys)
            self.platform.set_client_config(cfg)
            return cfg
        result: ClientConfig = self._run(apply)
        return result

    def clear(self) -> None:
        self._run(self.platform.clear)
        self.api.clear()

"""``PlatformServer``: the mock long-connection platform on one loopback port, in a background thread.

Usable from synchronous code (tests, scripts); every method is thread-safe because it runs on the
server's event loop (through an anyio blocking portal). The pytest plugin and ``feishu-sim serve`` are
thin wrappers around the same composition: the platform (``simulator.platform``: connections, acks,
faults, control API) with the engine plugged in as its pusher (``simulator.engine.platform_push``)::

    from simulator.platform_server import ClientConfig, PlatformServer

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
params, seed, app_id, concurrency,           the engine's retry ladder); ``list[Delivery]``; ``webhook=URL``:
timeout, webhook)``                          to a webhook bot instead, from the same world
``apush(...)``                               the same, awaitable from async code (another loop)
``push_envelopes(envelopes, ...)``           deliver ready-made envelopes
``generate(event_type, *, overrides)``       one envelope as a push would send it
``connections()``                            live connections (id, app, phase, counters, ...)
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
                                             ``sent_messages``, ``assert_replied``, ``wait_for_reply``,
                                             ``answers_to(delivery)``, ``fail``: docs/bots.md)
``generate_many``, ``generate_scenario``     envelopes from the platform's world (``FeishuSim.share_world``)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

from anyio.from_thread import BlockingPortal
from starlette.applications import Starlette

from simulator import constants as C
from simulator.clock import Clock
from simulator.config import RetryPolicy
from simulator.engine.faults import FaultSpec
from simulator.engine.platform_push import EnginePusher, PushSettings
from simulator.errors import ConfigError, NotAcked, TargetError
from simulator.generation.overrides import Overrides
from simulator.loops import EventLoopChoice
from simulator.platform.app import create_app
from simulator.platform.control import Control
from simulator.platform.core import Platform
from simulator.platform.openapi.mount import openapi_for
from simulator.platform.openapi.scopes import ScopesOption, granted_scopes
from simulator.platform.openapi.view import BotApi
from simulator.platform.pushing import PushRequest, WebhookTarget
from simulator.platform.session import PongConfig
from simulator.platform.state import TEST_CLIENT_CONFIG, PlatformOptions
from simulator.servers import ThreadedServer, is_loopback
from simulator.verdicts.model import Delivery, Summary
from simulator.verdicts.transcript import TranscriptWriter
from simulator.wire.frames import DEFAULT_FRAGMENT_SIZE, ClientConfig

T = TypeVar("T")
NOT_RUNNING = "the long-connection platform is not running (start() it, or use the feishu_platform fixture)"


def compose(options: PlatformOptions, settings: PushSettings | None = None, *, clock: Clock | None = None,
            transcript: TranscriptWriter | None = None, control_token: str | None = None,
            ) -> tuple[Platform, EnginePusher, Starlette]:
    """The platform, the engine as its pusher, and the ASGI app serving both (what ``PlatformServer``
    and ``feishu-sim serve`` run)."""
    platform = Platform(options, clock=clock)
    pusher = EnginePusher(platform, settings, transcript=transcript)
    openapi = openapi_for(platform, pusher, tenant_key=pusher.settings.tenant_key)
    if transcript is not None:  # the bot's calls next to the deliveries they answer
        writer = transcript
        openapi.calls.listeners.append(lambda call: writer.api_call(call.transcript_json()))
    return platform, pusher, create_app(platform, pusher=pusher, control_token=control_token, openapi=openapi)


class PlatformServer:
    """The platform (``Platform``) served by uvicorn on ``host:port`` (0: a free port) in a daemon thread.

    ``app_id``/``app_secret`` (or ``apps``: several id -> secret) are the credentials discovery accepts;
    ``client_config`` the ClientConfig handed out (use ``TEST_CLIENT_CONFIG`` in tests); ``seed`` makes
    events, ids and the cluster choice reproducible; ``ack_budget_s`` (3 s), ``fragment_size`` (512 KiB),
    ``max_connections`` (50 per app) and ``pong_config`` tune the protocol; ``retries`` (the engine's
    retry ladder, none by default) and ``faults`` (its seeded delivery faults) apply to pushes, on
    ``clock`` (e.g. ``VirtualClock(scale=0)`` runs the ladder instantly); ``transcript`` records every
    attempt; ``keep_deliveries`` bounds the records kept for long runs (the newest N; ``summary()``
    still counts all); ``scopes`` the permission scopes the apps were granted (a list for every app, or a dict app
    id -> list; default: every scope), which the mock OpenAPI checks (99991672, docs/openapi.md#permission-scopes);
    ``control_token`` guards ``/_sim/`` (required when ``host`` is not loopback); ``event_loop``
    picks the server thread's loop (``"auto"``, the default: uvloop when installed, several times less
    CPU per frame than the stdlib loop; ``"asyncio"``; ``"uvloop"``); other keywords go to ``uvicorn.Config``.
    """

    def __init__(self, *, app_id: str = C.DEFAULT_APP_ID, app_secret: str = C.DEFAULT_APP_SECRET,
                 apps: dict[str, str] | None = None, client_config: ClientConfig | None = None,
                 host: str = "127.0.0.1", port: int = 0, seed: int | None = None,
                 ack_budget_s: float = C.LONGCONN_ACK_BUDGET_S, fragment_size: int = DEFAULT_FRAGMENT_SIZE,
                 max_connections: int = C.MAX_CONNECTIONS_PER_APP, pong_config: PongConfig = PongConfig.ALWAYS,
                 retries: RetryPolicy | None = None, faults: FaultSpec | None = None,
                 control_token: str | None = None, keep_deliveries: int | None = None, card_frame: str = "event",
                 clock: Clock | None = None, transcript: TranscriptWriter | None = None,
                 event_loop: EventLoopChoice = "auto", scopes: ScopesOption = None, **uvicorn_options: Any) -> None:
        if control_token is None and not is_loopback(host):
            raise ConfigError(f"host {host} is not loopback: a control token is required")
        apps = dict(apps) if apps else {app_id: app_secret}
        options = PlatformOptions(
            apps=apps, scopes=granted_scopes(scopes, apps),
            client_config=client_config or ClientConfig(), ack_budget_s=ack_budget_s, fragment_size=fragment_size,
            max_connections=max_connections, pong_config=pong_config, seed=seed, card_frame=card_frame)
        settings = PushSettings(retries=retries or RetryPolicy(), faults=faults or FaultSpec(),
                                keep_deliveries=keep_deliveries)
        self.platform, self.pusher, app = compose(options, settings, clock=clock, transcript=transcript,
                                                  control_token=control_token)
        self.control = Control(self.platform, self.pusher)  # what /_sim/state and /_sim/clear act on
        uvicorn_options.setdefault("http", "h11")  # keeps the OpenAPI's header casing (openapi/routes.py)
        self.server = ThreadedServer(app, host, port, event_loop=event_loop, **uvicorn_options)
        self.domain = self.server.url
        # The bot's OpenAPI calls on the same origin: record, assertions, faults (simulator/platform/openapi/view.py).
        self.api = BotApi(app.state.openapi, run=self._call)

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> PlatformServer:
        self.server.start(timeout)
        return self

    def stop(self) -> None:
        """Close every client connection (code 1001), then stop the server and the transcript."""
        if self.server.portal is not None:
            with contextlib.suppress(Exception):  # stopping anyway
                self._call(self.platform.reconnect_all, 1001, "going away", timeout=5.0)
        self.server.stop()
        if self.pusher.transcript is not None:
            self.pusher.transcript.close()

    def __enter__(self) -> PlatformServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self.server.port

    def portal(self) -> BlockingPortal:
        """The portal onto the platform's event loop; ``TargetError`` when the server is not running."""
        portal = self.server.portal
        if portal is None:
            raise TargetError(NOT_RUNNING)
        return portal

    # -- plumbing -----------------------------------------------------------------------------------
    @overload
    def _call(self, fn: Callable[..., Awaitable[T]], *args: Any, timeout: float | None = ...) -> T: ...

    @overload
    def _call(self, fn: Callable[..., T], *args: Any, timeout: float | None = ...) -> T: ...

    def _call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = 10.0) -> Any:
        """``fn(*args)`` on the platform's loop (awaited when it is a coroutine function); cancelled when it
        takes longer than ``timeout`` seconds."""
        future = self.portal().start_task_soon(fn, *args)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    # -- API ----------------------------------------------------------------------------------------
    def wait_for_clients(self, n: int = 1, timeout: float = 10.0, app_id: str | None = None) -> list[dict[str, Any]]:
        conns = self._call(self.platform.wait_for_clients, n, timeout, app_id, timeout=timeout + 5)
        return [c.info() for c in conns]

    def push(self, event_type: str = C.DEFAULT_EVENT_TYPE, count: int = 1, *, overrides: Overrides | None = None,
             seed: int | None = None, app_id: str | None = None, concurrency: int = 1,
             timeout: float | None = None, params: Mapping[str, Any] | None = None,
             webhook: str | WebhookTarget | None = None) -> list[Delivery]:
        """Generate ``count`` events (``params``: the generator's inputs, e.g. ``{"chat_type": "group",
        "mention_bot": True, "text": "hi"}``; ``overrides``: fields of the result) and deliver them over the long
        connection, or by ``webhook`` (a URL, or a ``WebhookTarget`` with the app's keys) to a bot's URL."""
        request = PushRequest(event_type, count, app_id=app_id, seed=seed, overrides=overrides,
                              concurrency=concurrency, params=_params(params), webhook=_target(webhook))
        return self._call(self.pusher.push, request, timeout=timeout)

    async def apush(self, event_type: str = C.DEFAULT_EVENT_TYPE, count: int = 1, *,
                    overrides: Overrides | None = None, seed: int | None = None, app_id: str | None = None,
                    concurrency: int = 1, params: Mapping[str, Any] | None = None,
                    webhook: str | WebhookTarget | None = None) -> list[Delivery]:
        """``push`` for async code: awaits without blocking the caller's loop (which may host the client)."""
        request = PushRequest(event_type, count, app_id=app_id, seed=seed, overrides=overrides,
                              concurrency=concurrency, params=_params(params), webhook=_target(webhook))
        return await asyncio.wrap_future(self.portal().start_task_soon(self.pusher.push, request))

    def push_envelopes(self, envelopes: list[dict[str, Any]], *, app_id: str | None = None, concurrency: int = 1,
                       timeout: float | None = None) -> list[Delivery]:
        request = PushRequest(count=len(envelopes), app_id=app_id, envelopes=envelopes, concurrency=concurrency)
        return self._call(self.pusher.push, request, timeout=timeout)

    def generate(self, event_type: str = C.DEFAULT_EVENT_TYPE, *, overrides: Overrides | None = None,
                 app_id: str | None = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One envelope as the platform would send it (plain JSON, empty ``header.token``), from its world."""
        def make() -> dict[str, Any]:
            return self.pusher.generate(event_type, overrides=overrides, app_id=app_id, params=params)
        return self._call(make)

    def generate_many(self, event_type: str, count: int, *, overrides: Overrides | None = None,
                      app_id: str | None = None, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """``count`` envelopes from the platform's world (what ``FeishuSim`` delivers when it shares it)."""
        def make() -> list[dict[str, Any]]:
            return self.pusher.generate_many(event_type, count, overrides=overrides, app_id=app_id, params=params)
        return self._call(make)

    def generate_scenario(self, scenario: str | Path, *, runs: int = 1,
                          app_id: str | None = None) -> list[dict[str, Any]]:
        """The envelopes of ``runs`` runs of a scenario, from the platform's world."""
        return self._call(lambda: self.pusher.generate_scenario(scenario, runs=runs, app_id=app_id))

    def app_ids(self) -> list[str]:
        """The apps the platform accepts (the first is the default)."""
        return list(self.platform.options.apps)

    def connections(self) -> list[dict[str, Any]]:
        return self._call(lambda: [c.info() for c in self.platform.connections.values()])

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery since the last ``clear()`` (with ``keep_deliveries=N``: the newest N)."""
        return self._call(self.pusher.deliveries.newest)

    def summary(self) -> Summary:
        """Running summary of every closed delivery since the last ``clear()``, retained or not."""
        return self._call(lambda: copy.deepcopy(self.pusher.summary()))

    def assert_all_acked(self) -> None:
        """Raise ``NotAcked`` unless the app acked every delivery since the last ``clear()`` (one lost by the
        ``drop`` fault counts: the app acked it)."""
        deliveries = self.deliveries
        bad = [d for d in deliveries if not (d.acked or d.lost)]  # lost: acked, the drop fault lost the answer
        if bad:
            raise NotAcked(f"{len(bad)} of {len(deliveries)} deliveries not acked: " + bad[0].summary_line)

    def counters(self) -> dict[str, int]:
        return self._call(lambda: dict(self.platform.counters))

    def snapshot(self) -> dict[str, Any]:
        return self._call(self.control.snapshot)

    def close_connection(self, conn_id: str, code: int = 1000, reason: str = "") -> None:
        self._call(self.platform.close_connection, conn_id, code, reason)

    def reconnect_all(self, code: int = 1012, reason: str = "service restart") -> int:
        return self._call(self.platform.reconnect_all, code, reason)

    def answer_pings(self, answer: bool, conn_id: str | None = None) -> None:
        self._call(self.platform.answer_pings, answer, conn_id)

    def ack_judgement(self, *, delay_s: float = 0.0, drop: bool = False) -> None:
        self._call(lambda: self.platform.ack_judgement(delay_s=delay_s, drop=drop))

    def set_client_config(self, **keys: int) -> ClientConfig:
        """Change some ClientConfig keys (``ping_interval=1`` or ``PingInterval=1``); returns the new one."""
        return self._call(lambda: self.platform.set_client_config(**keys))

    def clear(self) -> None:
        """Forget deliveries and counters, lift every fault, restore the configured ClientConfig."""
        self._call(self.control.clear)
        self.api.clear()


def _params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(params) if params else None


def _target(webhook: str | WebhookTarget | None) -> WebhookTarget | None:
    return WebhookTarget(webhook) if isinstance(webhook, str) else webhook


__all__ = ["TEST_CLIENT_CONFIG", "ClientConfig", "PlatformServer", "WebhookTarget", "compose"]

"""``FeishuSim``: the simulator as a test helper (what the ``feishu_sim`` pytest fixture returns).

A thin face over the one engine (``simulator.engine.core.Simulator``): it resolves a target (URL, ASGI app,
WSGI app), pushes through the engine's retry ladder, keeps every delivery, and answers assertions. It
does not need pytest; the plugin only builds it from the marker and checks it after the test.

The engine is async. ``apush`` runs in the caller's event loop; ``push`` is the blocking face: the engine
runs on one event loop in a daemon thread, reached through an anyio blocking portal (as Starlette's
``TestClient`` does), kept for the helper's lifetime so an in-process app sees the same loop every time.

The long-connection platform (``PlatformServer``, the ``feishu_platform`` fixture) is a target too: it
runs on a loop of its own, and the one ``LongConnChannel`` hops there for every attempt. After
``share_world(platform)`` a helper makes its events in the platform's world (``simulator.testing_world``), so
a bot answering them through the platform's OpenAPI replies to messages the platform knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

from anyio.from_thread import BlockingPortal, start_blocking_portal

from simulator import constants as C
from simulator._version import __version__
from simulator.config import SimConfig
from simulator.delivery import DeliveryChannel
from simulator.delivery.inprocess import channel_for, check_path, resolve
from simulator.delivery.legacy_card import LegacyCardChannel
from simulator.delivery.longconn import HostedPlatform, LongConnChannel
from simulator.engine.core import Simulator
from simulator.errors import ConfigError, NotAcked, UsageError
from simulator.fixture_options import OPTIONS, Settings, check_names, opt_str, settings_from
from simulator.generation.overrides import Overrides
from simulator.testing_callbacks import UNSET, CallbackHelpers
from simulator.testing_report import check_message, find
from simulator.testing_support import (
    _is_platform,
    _not_acked,
    _overrides,
    challenge,
    keep_types,
    platform_settings,
    subscribed,
)
from simulator.testing_world import WorldSource, knows, shared_events, shared_scenario
from simulator.verdicts.model import Attempt, Delivery, Summary
from simulator.verdicts.transcript import TranscriptWriter
from simulator.verify import UrlVerification
from simulator.wire.seal import Sealer

__all__ = ["OPTIONS", "UNSET", "FeishuSim", "Settings", "check_names", "settings_from"]


class FeishuSim(CallbackHelpers):
    """Pushes Feishu events into apps under test and keeps every delivery for assertions; clicks cards and
    asks for link previews (callbacks, ``simulator.testing_callbacks``)."""

    def __init__(self, settings: Settings | None = None, *, name: str = "") -> None:
        self.settings = settings or Settings()
        self.name = name
        secrets = () if self.settings.transcript_secrets else (self.settings.config.app.verification_token,)
        self.transcript = (TranscriptWriter(self.settings.transcript, secrets=secrets)
                           if self.settings.transcript else None)
        self.sim = Simulator(self.settings.config, transcript=self.transcript)
        if self.transcript is not None:
            cfg = self.settings.config
            self.transcript.run({"tool": f"feishu-sim {__version__}", "command": "pytest", "test": name,
                                 "seed": self.sim.rand.seed, "retries": list(cfg.retries.delays),
                                 "faults": str(cfg.faults), "time_scale": cfg.time_scale,
                                 "start": self.sim.clock.now(), "app_id": cfg.app.app_id,
                                 "encrypted": cfg.app.encrypt_key is not None})
        self._portal: BlockingPortal | None = None
        self._stack = contextlib.ExitStack()
        self._sealers = 0
        self._world: WorldSource | None = None

    @classmethod
    def from_options(cls, name: str = "", **options: Any) -> FeishuSim:
        """``FeishuSim.from_options(encrypt_key=..., seed=...)``: the marker's vocabulary, without pytest."""
        return cls(settings_from(options), name=name)

    # -- what happened -----------------------------------------------------------------------------
    @property
    def config(self) -> SimConfig:
        return self.settings.config

    @property
    def seed(self) -> int:
        return self.sim.rand.seed

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery so far, in push order (each with all its attempts)."""
        return self.sim.deliveries

    @property
    def attempts(self) -> list[Attempt]:
        """Every attempt so far (retries included), delivery by delivery."""
        return [a for d in self.sim.deliveries for a in d.attempts]

    def summary(self) -> Summary:
        return self.sim.summary()

    def generate(self, event_type: str = C.DEFAULT_EVENT_TYPE, *, overrides: Overrides | None = None,
                 set: Overrides | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One envelope, not delivered (edit it and pass it to ``push`` for hand-made cases)."""
        overrides = _overrides(overrides, set)
        if (world := self._shared()) is not None:
            return shared_events(world, self.config.app, event_type, 1, overrides=overrides, params=params,
                                 longconn=False)[0]
        return self.sim.generate(event_type, overrides=overrides, params=params)

    def share_world(self, source: WorldSource | None) -> None:
        """Make events in ``source``'s world from now on (a running ``PlatformServer``; None: this helper's own),
        so the bot's OpenAPI calls about them are judged against the chats and messages they name. The pytest
        plugin shares ``feishu_platform``'s world with ``feishu_sim`` when a test uses both. Without an app id of
        its own, the helper takes the platform's app."""
        self._world = source
        if isinstance(source, HostedPlatform):
            self._adopt_platform_app(source)

    def _shared(self) -> WorldSource | None:
        """The shared world, if there is one and it has this helper's app."""
        return self._world if self._world is not None and knows(self._world, self.config.app) else None

    # -- pushing -----------------------------------------------------------------------------------
    @overload
    async def apush(self, target: object, event: str | dict[str, Any] = ..., *, overrides: Overrides | None = ...,
                    count: None = ..., path: str | None = ..., expect_rejected: bool = ...,
                    encrypt_key: str | None = ..., concurrency: int = ..., set: Overrides | None = ...,
             params: dict[str, Any] | None = ...) -> Delivery: ...

    @overload
    async def apush(self, target: object, event: str | dict[str, Any] = ..., *, overrides: Overrides | None = ...,
                    count: int, path: str | None = ..., expect_rejected: bool = ...,
                    encrypt_key: str | None = ..., concurrency: int = ...,
                    set: Overrides | None = ..., params: dict[str, Any] | None = ...) -> list[Delivery]: ...

    async def apush(self, target: object, event: str | dict[str, Any] = C.DEFAULT_EVENT_TYPE, *,
                    overrides: Overrides | None = None, count: int | None = None, path: str | None = None,
                    expect_rejected: bool = False, encrypt_key: str | None = UNSET,
                    concurrency: int = 1, set: Overrides | None = None,
                    params: dict[str, Any] | None = None) -> Delivery | list[Delivery]:
        """Generate and deliver ``event`` (an event type, or a ready envelope) to ``target``.

        ``target``: an ``http(s)://`` URL, an ASGI app or a WSGI app (called in process at ``path``), or
        the long-connection platform (``feishu_platform``): then the event goes, as plain JSON with an empty
        token, to one live connection of the app, and the verdict is the client's ack.
        ``overrides``: values by dotted path (``set=`` is its deprecated old name); ``params``: the generator's
        inputs (``{"chat_type": "group", "mention_bot": True, "text": "hi"}``). ``count=N`` delivers N events
        and returns a list.
        ``expect_rejected``: a negative test; the delivery must *not* be acked.
        ``encrypt_key``: seal this push with another key (``None``: plaintext), e.g. a wrong one.
        """
        __tracebackhide__ = True  # a usage error points at the test's line, not at this module
        overrides = _overrides(overrides, set)
        self._resolve(target, path)
        envelopes = self._envelopes(event, overrides, count, longconn=_is_platform(target), params=params)
        out = await self._deliver(target, envelopes, path, encrypt_key, concurrency, expect_rejected)
        return out if count is not None else out[0]

    @overload
    def push(self, target: object, event: str | dict[str, Any] = ..., *, overrides: Overrides | None = ...,
             count: None = ..., path: str | None = ..., expect_rejected: bool = ...,
             encrypt_key: str | None = ..., concurrency: int = ..., set: Overrides | None = ...,
             params: dict[str, Any] | None = ...) -> Delivery: ...

    @overload
    def push(self, target: object, event: str | dict[str, Any] = ..., *, overrides: Overrides | None = ...,
             count: int, path: str | None = ..., expect_rejected: bool = ...,
             encrypt_key: str | None = ..., concurrency: int = ..., set: Overrides | None = ...,
             params: dict[str, Any] | None = ...) -> list[Delivery]: ...

    def push(self, target: object, event: str | dict[str, Any] = C.DEFAULT_EVENT_TYPE, *,
             overrides: Overrides | None = None, count: int | None = None, path: str | None = None,
             expect_rejected: bool = False, encrypt_key: str | None = UNSET,
             concurrency: int = 1, set: Overrides | None = None,
             params: dict[str, Any] | None = None) -> Delivery | list[Delivery]:
        """Blocking ``apush`` for sync tests. In ``async def`` tests use ``await feishu_sim.apush(...)``."""
        __tracebackhide__ = True
        self._not_in_loop("push", "apush")
        overrides = _overrides(overrides, set)
        # Target checks and generation run here, so bad input raises in the test's own thread.
        self._resolve(target, path)
        envelopes = self._envelopes(event, overrides, count, longconn=_is_platform(target), params=params)
        out: list[Delivery] = self._blocking().call(self._deliver, target, envelopes, path, encrypt_key,
                                                    concurrency, expect_rejected)
        return out if count is not None else out[0]

    async def apush_scenario(self, target: object, scenario: str | Path, *, runs: int = 1, concurrency: int = 1,
                             path: str | None = None, expect_rejected: bool = False,
                             encrypt_key: str | None = UNSET, only: Sequence[str] | None = None) -> list[Delivery]:
        """Deliver a whole scenario (a shipped name such as ``"plain-meeting"`` or a ``.toml`` file) to
        ``target``, in scenario order (``concurrency`` > 1 lets later events overtake). ``only``: the event
        types the app subscribes to; the scenario's other events are not pushed (an app on lark-oapi
        answers 500 "processor not found" to a type it did not register)."""
        __tracebackhide__ = True
        self._resolve(target, path)
        envelopes = self._scenario(target, scenario, runs, only)
        return await self._deliver(target, envelopes, path, encrypt_key, concurrency, expect_rejected)

    def push_scenario(self, target: object, scenario: str | Path, *, runs: int = 1, concurrency: int = 1,
                      path: str | None = None, expect_rejected: bool = False,
                      encrypt_key: str | None = UNSET, only: Sequence[str] | None = None) -> list[Delivery]:
        """Blocking ``apush_scenario`` for sync tests."""
        __tracebackhide__ = True
        self._not_in_loop("push_scenario", "apush_scenario")
        self._resolve(target, path)
        envelopes = self._scenario(target, scenario, runs, only)
        return self._blocking().call(self._deliver, target, envelopes, path, encrypt_key, concurrency,
                                     expect_rejected)

    # -- assertions --------------------------------------------------------------------------------
    def assert_all_acked(self) -> None:
        """Raise ``NotAcked`` unless the app acked every delivery so far, expected rejections included
        (``report()`` is the after-test check, which allows those). A delivery lost by the ``drop`` fault
        counts as acked: the app acked it, the platform lost the answer."""
        __tracebackhide__ = True
        bad = [d for d in self.deliveries if not (d.acked or d.lost)]
        if bad:
            raise NotAcked(_not_acked(f"{len(bad)} of {len(self.deliveries)} deliveries not acked", bad[0]))

    def assert_acked(self, event_id: str) -> Delivery:
        """The delivery of ``event_id`` (its first), which the app acked; ``NotAcked`` otherwise, and a
        ``UsageError`` when nothing with that event_id was pushed."""
        __tracebackhide__ = True
        d = find(self.deliveries, event_id, what=f"{self._where()}assert_acked")
        if not (d.acked or d.lost):
            raise NotAcked(_not_acked("not acked", d))
        return d

    def assert_rejected(self, event_id: str) -> Delivery:
        """The delivery of ``event_id`` (its first), which the app never acked; ``NotAcked`` if it did, and
        a ``UsageError`` when nothing with that event_id was pushed."""
        __tracebackhide__ = True
        d = find(self.deliveries, event_id, what=f"{self._where()}assert_rejected")
        if d.app_acked_at is not None:
            raise NotAcked(_not_acked(f"expected a rejection, but the app acked it at attempt {d.app_acked_at}", d))
        return d

    def unexpected(self) -> list[Delivery]:
        """Deliveries that did not end as expected, judged on what the app did: not acked (a delivery lost by
        the ``drop`` fault was acked by the app), or acked although a rejection was expected."""
        return self.sim.unexpected()

    def report(self, deliveries: Sequence[Delivery] | None = None) -> str | None:
        """The after-test check's failure message for the unexpected deliveries (among ``deliveries``), or
        None. It names redeliveries and duplicates, and never blames the app for what a fault did."""
        pool = self.sim.deliveries if deliveries is None else list(deliveries)
        return check_message(pool, seed=self.seed)

    async def averify_url(self, target: object, *, path: str | None = None) -> UrlVerification:
        """Send the URL-verification challenge to ``target`` (a URL, an ASGI or a WSGI app at ``path``), sealed
        with this app's keys, and judge the answer like the console: HTTP 200, the challenge echoed, within 1 s."""
        __tracebackhide__ = True
        self._resolve(target, path)
        rand = self.sim.rand.fork(f"challenge-{len(self.deliveries)}")
        return await challenge(target, check_path(path or self.settings.path), self.config.app, rand)

    def verify_url(self, target: object, *, path: str | None = None) -> UrlVerification:
        """Blocking ``averify_url``: ``assert feishu_sim.verify_url(app).ok`` (its repr names each check)."""
        __tracebackhide__ = True
        self._not_in_loop("verify_url", "averify_url")
        self._resolve(target, path)
        result: UrlVerification = self._blocking().call(functools.partial(self.averify_url, target, path=path))
        return result

    # -- harness -----------------------------------------------------------------------------------
    def serve(self, app: object, *, path: str | None = None) -> str:
        """Run ``app`` (ASGI or WSGI) on a real loopback server (uvicorn, a free port) until this helper
        closes (the fixture's teardown); returns the URL of ``path`` on it (default: the configured path),
        to ``push`` to like any live receiver."""
        __tracebackhide__ = True
        from simulator.harness import serve_app

        try:
            url = check_path(path or self.settings.path)
            server = self._stack.enter_context(serve_app(app))
        except UsageError as exc:
            raise type(exc)(f"{self._where()}{exc}") from None
        return server.url + url

    # -- plumbing ----------------------------------------------------------------------------------
    def _where(self) -> str:
        return f"{self.name}: " if self.name else ""

    def _not_in_loop(self, sync: str, async_: str) -> None:
        __tracebackhide__ = True
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise UsageError(f"{self._where()}feishu_sim.{sync}() blocks; inside a running event loop "
                         f"(an async test) use 'await feishu_sim.{async_}(...)'")

    def _envelopes(self, event: str | dict[str, Any], overrides: Overrides | None,
                   count: int | None, *, longconn: bool = False,
                   params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ConfigError(f"{self._where()}count must be an int >= 1, got {count!r}")
        n = 1 if count is None else count
        if isinstance(event, dict):
            if overrides or params:
                what = "overrides=" if overrides else "params="
                raise ConfigError(f"{self._where()}{what} applies to generated events, not to a ready envelope")
            return [event] * n
        if (world := self._shared()) is not None:
            return shared_events(world, self.config.app, event, n, overrides=overrides, params=params,
                                 longconn=longconn)
        return self.sim.generate_many(event, n, overrides=overrides, longconn=longconn, params=params)

    def _scenario(self, target: object, scenario: str | Path, runs: int,
                  only: Sequence[str] | None = None) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
            raise ConfigError(f"{self._where()}runs must be an int >= 1, got {runs!r}")
        try:
            wanted = subscribed(only)
        except ConfigError as exc:
            raise ConfigError(f"{self._where()}{exc}") from None
        world = self._shared()
        envelopes = (shared_scenario(world, self.config.app, scenario, runs, longconn=_is_platform(target))
                     if world is not None else
                     self.sim.generate_scenario(scenario, runs=runs, longconn=_is_platform(target)))
        try:
            return keep_types(envelopes, wanted, scenario)
        except ConfigError as exc:
            raise ConfigError(f"{self._where()}{exc}") from None

    def _adopt_platform_app(self, target: HostedPlatform) -> None:
        settings = platform_settings(self.settings, target)
        if settings is not None:  # no app_id of its own: the platform's app
            self.settings = settings
            self.sim.config = settings.config
            self.sim.factory.app = settings.config.app

    def _resolve(self, target: object, path: str | None) -> None:
        __tracebackhide__ = True
        try:
            if isinstance(target, HostedPlatform):
                target.portal()  # TargetError unless it is running
                self._adopt_platform_app(target)
                return
            resolve(target)
            check_path(path or self.settings.path)
        except UsageError as exc:
            raise type(exc)(f"{self._where()}{exc}") from None

    def _longconn(self, target: object) -> bool:
        return _is_platform(target)

    def _run_blocking(self, target: object, envelopes: list[dict[str, Any]], path: str | None,
                      encrypt_key: str | None, expect_rejected: bool, legacy: bool) -> list[Delivery]:
        deliver = functools.partial(self._deliver, target, envelopes, path, encrypt_key, 1, expect_rejected,
                                    legacy=legacy)
        out: list[Delivery] = self._blocking().call(deliver)
        return out

    async def _deliver(self, target: object, envelopes: list[dict[str, Any]], path: str | None,
                       encrypt_key: str | None, concurrency: int, expect_rejected: bool, *,
                       legacy: bool = False) -> list[Delivery]:
        if isinstance(target, HostedPlatform):
            return await self.sim.push(LongConnChannel.to(target, self.config.app.app_id), envelopes,
                                       concurrency=concurrency, expect_rejected=expect_rejected)
        sealer = self.sim.sealer
        if encrypt_key is not UNSET:
            self._sealers += 1
            sealer = Sealer(opt_str("encrypt_key", encrypt_key), self.sim.rand.fork(f"seal-{self._sealers}"))
        hook = channel_for(target, sealer=sealer, path=path or self.settings.path, budget=self.config.budget,
                           accept_2xx=self.config.accept_2xx)
        # legacy: clicks as legacy card requests, through the same webhook channel
        channel: DeliveryChannel = LegacyCardChannel(hook, self.config.app.verification_token) if legacy else hook
        try:
            return await self.sim.push(channel, envelopes, concurrency=concurrency, expect_rejected=expect_rejected)
        finally:
            await channel.aclose()

    def _blocking(self) -> BlockingPortal:
        if self._portal is None:
            self._portal = self._stack.enter_context(start_blocking_portal(name="feishu-sim-loop"))
        return self._portal

    def close(self) -> None:
        """Stop the background loop of ``push`` (if it was started); close the transcript."""
        self._portal = None
        self._stack.close()
        if self.transcript is not None:
            self.transcript.close()

    def __enter__(self) -> FeishuSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

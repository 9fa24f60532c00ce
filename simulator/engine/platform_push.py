"""``EnginePusher``: the engine behind the long-connection platform's pushes.

The platform (``simulator.platform``) delivers one envelope and judges the ack; it never generates events
or retries. This module is the ``Pusher`` it is given by whoever composes the two (``PlatformServer``,
``feishu-sim serve``): one seeded ``Simulator`` per app (and per explicit seed) generates the events
(plain JSON, empty ``header.token``) and runs them through its retry ladder and faults over the one
``LongConnChannel`` -- or, for a push with a ``WebhookTarget``, by webhook to a bot's URL, sealed with the
keys the push names, from the same world (so a webhook bot's OpenAPI calls about those events are judged
against it); every delivery of every app lands in one record and one running summary. Awaited on the
platform's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator import constants as C
from simulator.clock import Clock
from simulator.config import AppProfile, Budget, RetryPolicy, SimConfig
from simulator.delivery.longconn import LongConnChannel
from simulator.delivery.webhook import WebhookChannel
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.engine.schedule import Flow
from simulator.errors import ConfigError, TargetError
from simulator.generation.overrides import Overrides
from simulator.platform.callbacks import callback_kind, tell_listeners
from simulator.platform.core import Platform
from simulator.platform.pushing import MAX_PUSH, DeliveryHook, PushRequest, WebhookTarget, auto_concurrency
from simulator.verdicts.answers import AnswerKind
from simulator.verdicts.model import Delivery, DeliveryLog, Summary
from simulator.verdicts.transcript import TranscriptWriter
from simulator.wire.envelope import event_type_of
from simulator.wire.seal import Sealer


@dataclass(frozen=True)
class PushSettings:
    """How pushed events are made and delivered: the engine's ``retries`` (none by default) and seeded
    ``faults``, the events' ``locale`` and ``tenant_key``; ``keep_deliveries`` keeps full records of the
    newest N deliveries only (``None``: all of them)."""

    retries: RetryPolicy = field(default_factory=RetryPolicy)
    faults: FaultSpec = field(default_factory=FaultSpec)
    locale: str = "zh_CN"
    tenant_key: str = C.DEFAULT_TENANT_KEY
    keep_deliveries: int | None = None

    def __post_init__(self) -> None:
        if self.keep_deliveries is not None and self.keep_deliveries < 1:
            raise ConfigError("keep deliveries must be >= 1")


class EnginePusher:
    """``clock``: platform time for the ladder and event times (default: the platform's clock);
    ``transcript``: every attempt of every push, as NDJSON (the same model as the webhook's)."""

    def __init__(self, platform: Platform, settings: PushSettings | None = None, *, clock: Clock | None = None,
                 transcript: TranscriptWriter | None = None) -> None:
        self.platform = platform
        self.settings = settings or PushSettings()
        self.clock: Clock = clock or platform.clock
        self.transcript = transcript
        self.deliveries = DeliveryLog(self.settings.keep_deliveries)
        self._summary = Summary()  # every closed delivery, retained or not
        self._sims: dict[str, Simulator] = {}
        self._active: set[EngineRun] = set()  # pushes under way
        self._idle: asyncio.Event | None = None
        self.stopping = False
        self._webhooks = 0

    def simulator(self, app_id: str | None = None, seed: int | None = None) -> Simulator:
        """The engine generating events for ``app_id`` (one per app; ``seed=None`` continues the
        platform's own stream, so successive pushes give fresh events; a seed gives a fresh engine)."""
        apps = self.platform.options.apps
        app_id = app_id or self.platform.options.default_app
        if app_id not in apps:
            raise ConfigError(f"unknown app {app_id!r} (configured: {', '.join(apps)})")
        sim = self._sims.get(app_id) if seed is None else None
        if sim is None:
            base = self.platform.rand.fork(f"events:{app_id}").seed if seed is None else seed
            s = self.settings
            app = AppProfile(app_id=app_id, app_secret=apps[app_id], tenant_key=s.tenant_key)
            config = SimConfig(app=app, seed=base, retries=s.retries, faults=s.faults, locale=s.locale)
            sim = Simulator(config, clock=self.clock, transcript=self.transcript)
            sim.deliveries = self.deliveries  # one record for the whole platform
            sim.on_delivery.append(self._closed)
            if seed is None:
                self._sims[app_id] = sim
        return sim

    def start(self, request: PushRequest) -> EngineRun:
        """The request made ready: its engine, and its events made as the push reaches them (the first one now:
        bad input raises here, before anything is sent); without overrides, events beyond the 512th come from
        a refreshed pool of bodies (``engine/pool.py``). A scenario's runs are played first (on the real clock
        the last one ends now), which ``MAX_SCENARIO_RUNS`` bounds. After ``stop()`` a push is refused."""
        if self.stopping:
            raise TargetError("the platform is shutting down: no new pushes")
        sim = self.simulator(request.app_id, request.seed)
        events: Iterator[dict[str, Any]]
        size = request.count
        if request.envelopes is not None:
            events, size = iter(request.envelopes), len(request.envelopes)
        elif request.scenario is not None:
            played = sim.generate_scenario(request.scenario, runs=request.count, longconn=True)
            events, size = iter(played), len(played)
        elif request.overrides or request.params:  # made while the push runs: they leave its clock alone
            events = sim.iter_many(request.event_type, request.count, overrides=request.overrides, longconn=True,
                                   params=request.params, spread=False)
        else:  # the first 512 as iter_many makes them, then from a refreshed pool
            events = sim.iter_pooled(request.event_type, request.count, longconn=True, spread=False)
        first = next(events, None)
        return EngineRun(self, sim, request, iter(()) if first is None else itertools.chain((first,), events), size)

    async def push(self, request: PushRequest) -> list[Delivery]:
        """Every delivery of the request (``start``, then ``EngineRun.run``), in request order. One under way
        when ``stop()`` is called ends early with ``TargetError`` saying how far it got."""
        if request.envelopes is None and request.count > MAX_PUSH:
            raise ConfigError(f"count must be between 1 and {MAX_PUSH:,} for a push that answers with every "
                              "delivery (stream it: /_sim/push with \"stream\": true)")
        run = self.start(request)
        deliveries: list[Delivery] = []
        await run.run(on_start=deliveries.append)
        return deliveries

    def stop(self) -> None:
        """The server is going down: refuse new pushes, start no new attempt in those under way (the
        attempts in flight finish: their acks arrive while the connections are still open)."""
        self.stopping = True
        for run in self._active:
            run.sim.stop()

    async def drained(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until no push is under way."""
        if not self._active:
            return
        self._idle = asyncio.Event()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    def _webhook(self, sim: Simulator, target: WebhookTarget) -> WebhookChannel:
        self._webhooks += 1
        sealer = Sealer(target.encrypt_key, sim.rand.fork(f"webhook-seal-{self._webhooks}"))
        return WebhookChannel(target.url, sealer, budget=Budget(target.connect_timeout_s, target.timeout_s),
                              accept_2xx=target.accept_2xx)

    def generate(self, event_type: str = C.DEFAULT_EVENT_TYPE, *, overrides: Overrides | None = None,
                 app_id: str | None = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One envelope as a push would send it (plain JSON, empty ``header.token``); a card click's token is
        valid for the delayed card update from now on, wherever the click is delivered."""
        sim = self.simulator(app_id)
        return self._clicks(sim.config.app.app_id, [sim.generate(event_type, overrides=overrides, longconn=True,
                                                                 params=params)])[0]

    def generate_many(self, event_type: str, count: int, *, overrides: Overrides | None = None,
                      app_id: str | None = None, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """``count`` envelopes as a push of them would send them (click tokens valid, as for ``generate``)."""
        sim = self.simulator(app_id)
        return self._clicks(sim.config.app.app_id, sim.generate_many(event_type, count, overrides=overrides,
                                                                     longconn=True, params=params))

    def generate_scenario(self, scenario: str | Path, *, runs: int = 1,
                          app_id: str | None = None) -> list[dict[str, Any]]:
        """The envelopes of ``runs`` runs of a scenario, as a push of them would send them."""
        sim = self.simulator(app_id)
        return self._clicks(sim.config.app.app_id, sim.generate_scenario(scenario, runs=runs, longconn=True))

    def _clicks(self, app_id: str, envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Tell the platform's click listeners (the mock OpenAPI: the token becomes valid) of the card clicks
        among ``envelopes``, which are delivered outside the platform's own deliver (by webhook, or by a
        ``FeishuSim`` that shares the world)."""
        for env in envelopes:
            if callback_kind(event_type_of(env)) is AnswerKind.CARD_ACTION:
                tell_listeners(self.platform.on_click, app_id, env)
        return envelopes

    def _clicking(self, app_id: str, envelopes: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """``_clicks``, one envelope at a time, as the push reaches it."""
        for env in envelopes:
            yield self._clicks(app_id, [env])[0]

    def _closed(self, d: Delivery) -> None:
        self._summary.add(d)

    def summary(self) -> Summary:
        """Running summary of every closed delivery since the last ``clear()``, retained or not."""
        return self._summary

    def clear(self) -> None:
        self.deliveries.clear()
        self._summary = Summary()

    def snapshot(self) -> dict[str, Any]:
        return {"deliveries": self.deliveries.total, "deliveries_retained": len(self.deliveries),
                "summary": self._summary.to_json()}


class EngineRun:
    """One push of an ``EnginePusher`` (``PushRun``): its engine, its events (made as they are sent), its
    ``Flow`` and its running counts; nothing is kept per event but what the record keeps."""

    def __init__(self, pusher: EnginePusher, sim: Simulator, request: PushRequest, events: Iterator[dict[str, Any]],
                 size: int) -> None:
        self.pusher, self.sim, self.request = pusher, sim, request
        self.events = events
        self.size = size  # events to send, for the automatic in-flight limit
        self.flow = Flow()
        self.started = 0
        self._summary = Summary()

    @property
    def summary(self) -> Summary:
        return self._summary

    def pause(self) -> None:
        self.flow.pause()

    def resume(self) -> None:
        self.flow.resume()

    def halt(self) -> None:
        self.flow.halt()

    async def run(self, *, on_start: DeliveryHook | None = None, on_end: DeliveryHook | None = None) -> None:
        """Deliver the events through the engine (``PushRun.run``); ``on_start`` sees each event's delivery as
        it is created, in request order."""
        pusher, sim = self.pusher, self.sim
        if pusher.stopping:
            raise TargetError("the platform is shutting down: no new pushes")

        def started(d: Delivery) -> None:
            self.started += 1
            if on_start is not None:
                on_start(d)

        def ended(d: Delivery) -> None:
            self._summary.add(d)
            if on_end is not None:
                on_end(d)

        pusher._active.add(self)
        try:
            await self._deliver(started, ended)
        finally:
            if self.flow.halted or sim.stopped:  # what the halt or stop left waiting ends here, pending
                for d in sim.retire(self.flow):
                    if d.origin == "event":
                        ended(d)
            pusher._active.discard(self)
            if not pusher._active and pusher._idle is not None:
                pusher._idle.set()
        if pusher.stopping:
            acked = self._summary.acked
            raise TargetError(f"the platform was stopped during the push: {acked} of {self.request.count} events "
                              f"acked, {self.started - acked} not acked or cut short, the rest not sent")

    async def _deliver(self, started: DeliveryHook, ended: DeliveryHook) -> None:
        pusher, sim, request = self.pusher, self.sim, self.request
        app_id = sim.config.app.app_id
        if request.webhook is None:
            concurrency = request.concurrency or auto_concurrency(self.size, len(pusher.platform.live(app_id)))
            channel = LongConnChannel(pusher.platform, app_id)
            await sim.stream(channel, self.events, concurrency=concurrency, on_start=started, on_end=ended,
                             flow=self.flow)
            return
        async with pusher._webhook(sim, request.webhook) as hook:
            token = request.webhook.verification_token or ""  # generated for the long connection: no token
            sealed = ({**env, "header": {**env.get("header", {}), "token": token}}
                      for env in pusher._clicking(app_id, self.events))  # its own deliver does it for the other
            # One at a time unless asked: a webhook receiver has no connection count to scale by.
            await sim.stream(hook, sealed, concurrency=request.concurrency or 1, on_start=started, on_end=ended,
                             flow=self.flow)

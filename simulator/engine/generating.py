"""The engine's generating half (``Simulator`` inherits it): single events, many of one type (from the
general path or a refreshed body pool), and scenario runs, each as a list or one envelope at a time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from simulator.clock import Clock, VirtualClock
from simulator.config import SimConfig
from simulator.engine.pool import BodyPool
from simulator.engine.sources import event_time
from simulator.generation import scenarios, schemas
from simulator.generation.factory import EventFactory
from simulator.generation.overrides import Overrides
from simulator.generation.scenarios import Scenario
from simulator.rand import SimRandom

SCENARIO_GAP = 60.0  # platform seconds between back-to-back runs of a scenario


class Generating:
    """Needs the run's ``config``, seeded ``rand``, ``clock`` and ``factory`` (set by ``Simulator``)."""

    config: SimConfig
    rand: SimRandom
    clock: Clock
    factory: EventFactory
    _scenario_runs = 0

    # -- generation --------------------------------------------------------------------------------
    def generate(self, event_type: str, *, overrides: Overrides | None = None, validate: bool | None = None,
                 longconn: bool = False, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One envelope. ``params``: the generator's inputs (``GenContext.params``, e.g. ``chat_type``,
        ``mention_bot`` and ``text`` for ``im.message.receive_v1``), where ``overrides`` only edit the result."""
        ctx = self.factory.context(params=dict(params)) if params else None
        return self.factory.generate(event_type, overrides=overrides,
                                     validate=self.config.validate if validate is None else validate,
                                     longconn=longconn, ctx=ctx)

    def generate_many(self, event_type: str, count: int, *, overrides: Overrides | None = None,
                      validate: bool | None = None, longconn: bool = False,
                      params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """``count`` envelopes, event times spread a few seconds apart on a virtual clock."""
        return list(self.iter_many(event_type, count, overrides=overrides, validate=validate, longconn=longconn,
                                   params=params))

    def iter_many(self, event_type: str, count: int, *, overrides: Overrides | None = None,
                  validate: bool | None = None, longconn: bool = False, spread: bool = True,
                  params: Mapping[str, Any] | None = None
                  ) -> Iterator[dict[str, Any]]:
        """``generate_many``, one envelope at a time (made when asked for: memory stays flat). ``spread=False``
        leaves the clock alone (events made while they are delivered must not move the delivery clock)."""
        for _ in range(count):
            yield self.generate(event_type, overrides=overrides, validate=validate, longconn=longconn, params=params)
            if spread and isinstance(self.clock, VirtualClock) and self.clock.scale == 0:
                self.clock.advance(self.rand.uniform(0.5, 20.0))

    def generate_pooled(self, event_type: str, count: int, *, longconn: bool = False) -> list[dict[str, Any]]:
        """``count`` envelopes like ``generate_many`` (no overrides) at a fraction of the cost, from a refreshed
        pool of bodies (``engine/pool.py``): the first 512 are ``generate_many``'s, byte for byte."""
        return list(self.iter_pooled(event_type, count, longconn=longconn))

    def iter_pooled(self, event_type: str, count: int, *, longconn: bool = False, spread: bool = True
                    ) -> Iterator[dict[str, Any]]:
        """``generate_pooled``, one envelope at a time (memory stays flat); ``spread=False`` leaves the clock
        alone, as ``iter_many`` does."""
        pool = BodyPool(self.factory, event_type)
        for _ in range(count):
            yield pool.envelope(longconn=longconn)
            if spread and isinstance(self.clock, VirtualClock) and self.clock.scale == 0:
                self.clock.advance(self.rand.uniform(0.5, 20.0))

    def generate_scenario(self, scenario: str | Path | Scenario, *, runs: int = 1,
                          longconn: bool = False) -> list[dict[str, Any]]:
        """The envelopes of ``runs`` back-to-back meetings of a scenario (a shipped name, a file or a loaded
        ``Scenario``), in time order. On a virtual clock the first meeting starts at the clock's now and
        the clock moves past the last event; on the real clock the last meeting ends now (the platform
        never sends events from the future)."""
        return list(self.iter_scenario(scenario, runs=runs, longconn=longconn))

    def iter_scenario(self, scenario: str | Path | Scenario, *, runs: int = 1,
                      longconn: bool = False) -> Iterator[dict[str, Any]]:
        """``generate_scenario``, one meeting at a time on a virtual clock (memory stays flat whatever
        ``runs``); on the real clock every meeting is played first, as the last one must end now."""
        sc = scenario if isinstance(scenario, Scenario) else scenarios.load(scenario)
        gap = SCENARIO_GAP
        cursor = self.clock.now()
        if isinstance(self.clock, VirtualClock):
            for envs in self.scenario_runs(sc, runs=runs, longconn=longconn):
                cursor = event_time(envs[-1]) + gap
                yield from envs
            if runs > 0:
                self.clock.advance(cursor - gap - self.clock.now())
            return
        batches: list[list[dict[str, Any]]] = []
        for _ in range(runs):
            envs = scenarios.play(sc, self.factory, self._scenario_rand(sc), end=cursor, longconn=longconn)
            cursor = event_time(envs[0]) - gap
            batches.insert(0, envs)
        for batch in batches:
            yield from self._checked(batch)

    def scenario_runs(self, scenario: str | Path | Scenario, *, runs: int = 1,
                      longconn: bool = False) -> Iterator[list[dict[str, Any]]]:
        """The ``runs`` meetings of ``iter_scenario`` on a virtual clock, one list each, made when asked for:
        back to back (``SCENARIO_GAP`` apart) from the clock's now, which they leave alone (a push that
        delivers them as they are made releases each when it has ended: ``Released``)."""
        sc = scenario if isinstance(scenario, Scenario) else scenarios.load(scenario)
        cursor = self.clock.now()
        for _ in range(runs):
            envs = scenarios.play(sc, self.factory, self._scenario_rand(sc), start=cursor, longconn=longconn)
            cursor = event_time(envs[-1]) + SCENARIO_GAP
            yield self._checked(envs)

    def _scenario_rand(self, sc: Scenario) -> SimRandom:
        self._scenario_runs += 1
        return self.rand.fork(f"scenario:{sc.name}:{self._scenario_runs}")

    def _checked(self, envs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.factory.validate_all:
            for env in envs:
                schemas.validate(env)
        return envs

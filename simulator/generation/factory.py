"""``EventFactory``: seeded, schema-valid v2 envelopes for any catalogued event type."""

from __future__ import annotations

from typing import Any

from simulator import constants as C
from simulator.clock import Clock, SystemClock
from simulator.config import AppProfile
from simulator.errors import OverrideError, ValidationFailed
from simulator.generation import catalog, schemas
from simulator.generation.catalog import GenContext
from simulator.generation.overrides import Overrides, apply
from simulator.generation.population import Population
from simulator.rand import SimRandom
from simulator.wire import envelope

# Anchor of seeded runs without an explicit start time, so the same seed gives byte-identical output:
# 2026-03-02 09:30:00 +08:00.
SEEDED_EPOCH = 1772415000.0


class EventFactory:
    """Generates envelopes. One ``SimRandom`` drives everything; ``clock`` gives event times.

    ``token`` policy: the app's verification token in ``header.token`` (webhook); ``longconn=True`` sends
    an empty token as real long-connection captures do (docs/semantics.md#long-connection-wire-summary).
    """

    def __init__(self, *, app: AppProfile | None = None, rand: SimRandom | None = None, clock: Clock | None = None,
                 locale: str = C.DEFAULT_LOCALE, population_size: int = 256, validate_all: bool = False) -> None:
        self.app = app or AppProfile()
        self.rand = rand or SimRandom()
        self.clock: Clock = clock or SystemClock()
        self.locale = locale
        self._population_size = population_size
        self.validate_all = validate_all
        self._population: Population | None = None
        # Family state that lasts for the run (chats, messages seen...): see ``GenContext.world``.
        self.world: dict[str, Any] = {}
        self._ids = self.rand.fork("event-ids")
        self._data = self.rand.fork("event-data")

    @property
    def population(self) -> Population:
        if self._population is None:
            self._population = Population(self.rand, locale=self.locale, size=self._population_size)
        return self._population

    def new_event_id(self) -> str:
        return self._ids.hex(32)

    def context(self, *, now: float | None = None, **kwargs: Any) -> GenContext:
        kwargs.setdefault("world", self.world)
        kwargs.setdefault("tenant_key", self.app.tenant_key)
        return GenContext(rand=self._data, population=self.population, app_id=self.app.app_id,
                          now=self.clock.now() if now is None else now, **kwargs)

    def body(self, event_type: str, ctx: GenContext | None = None) -> dict[str, Any]:
        spec = catalog.get(event_type)
        return spec.generate(ctx or self.context())

    def wrap(self, event_type: str, body: dict[str, Any], *, now: float, longconn: bool = False,
             event_id: str | None = None) -> dict[str, Any]:
        token = "" if longconn else (self.app.verification_token or "")
        return envelope.wrap(event_type, body, event_id=event_id or self.new_event_id(),
                             create_time_ms=int(now * 1000), token=token, app_id=self.app.app_id,
                             tenant_key=self.app.tenant_key)

    def generate(self, event_type: str, *, overrides: Overrides | None = None, validate: bool = True,
                 ctx: GenContext | None = None, longconn: bool = False) -> dict[str, Any]:
        """One envelope. With ``validate``, an envelope changed by overrides must match the schema.

        Unmodified generator output is schema-valid by construction (the test suite validates thousands of
        seeded events per type), so it is only re-validated when ``validate_all`` is set: full JSON Schema
        validation costs ~30x the generation itself.
        """
        spec = catalog.get(event_type)
        ctx = ctx or self.context()
        env = self.wrap(spec.event_type, spec.generate(ctx), now=ctx.now, longconn=longconn)
        env = apply(env, overrides, create=not validate)
        if validate and (overrides or self.validate_all):
            try:
                schemas.validate(env, event_type)
            except ValidationFailed as exc:
                if overrides:
                    raise OverrideError(f"overrides break the schema: {str(exc).split(': ', 1)[-1]}") from None
                raise
        return env

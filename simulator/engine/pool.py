"""Many envelopes of one type at a fraction of Faker's cost: a refreshed pool of bodies, as ``load`` does.

Generating an event body costs ~15-40 us (Faker, the family's rules); pushing 100,000 events through the
platform used to spend more CPU on that than on delivering them. ``BodyPool`` gives envelopes whose
bodies come from a pool:

* the first ``size`` envelopes are exactly the general path's (``EventFactory.generate``), byte for byte:
  body data and event ids come from the same seeded streams in the same order (a test compares them);
* after that each envelope takes a body from the pool, picked at random, and one slot is regenerated
  every ``refresh_every`` envelopes, so the events keep changing during a long push (new meetings,
  people, times); every envelope still has its own ``event_id`` and the current ``create_time``, and is
  the same bytes as ``EventFactory.wrap`` of its body (tested);
* a type whose family names a business dedupe key (``EventSpec.dedupe_key``: IM's ``message_id``) gets a
  fresh body every time, as in ``load``: a repeated message_id is a redelivery a correct bot skips; so does
  a callback (``EventSpec.callback``): a click carries a card token the platform accepts only twice.

Envelopes share their pooled body dict: records are never changed in place (a fault's duplicate with a
new event_id is a deep copy).
"""

from __future__ import annotations

from typing import Any

from simulator.generation import catalog
from simulator.generation.factory import EventFactory

POOL_SIZE = 512
REFRESH_EVERY = 16


class BodyPool:
    def __init__(self, factory: EventFactory, event_type: str, *, size: int = POOL_SIZE,
                 refresh_every: int = REFRESH_EVERY) -> None:
        self.factory = factory
        self.spec = catalog.get(event_type)
        self.size = max(1, size)
        self.refresh_every = refresh_every
        self.fresh = self.spec.dedupe_key is not None or self.spec.callback is not None
        self._bodies: list[dict[str, Any]] = []
        self._pick = factory.rand.fork(f"body-pool:{self.spec.event_type}").random
        self._slot = 0
        self._count = 0

    def envelope(self, *, longconn: bool = False) -> dict[str, Any]:
        """The next envelope (no overrides, no validation: the pool is for generator output as it is)."""
        factory = self.factory
        count = self._count
        self._count = count + 1
        bodies = self._bodies
        if self.fresh or count < self.size:  # what EventFactory.generate does, in the same order
            ctx = factory.context()
            now = ctx.now
            body = self.spec.generate(ctx)
            if not self.fresh:
                bodies.append(body)
        else:
            if self.refresh_every and (count - self.size) % self.refresh_every == self.refresh_every - 1:
                bodies[self._slot] = self.spec.generate(factory.context())
                self._slot = (self._slot + 1) % self.size
            body = bodies[int(self._pick.random() * self.size)]
            now = factory.clock.now()
        return factory.wrap(self.spec.event_type, body, now=now, longconn=longconn)

    def stats(self) -> dict[str, Any]:
        return {"pool_size": self.size, "refresh_every": self.refresh_every, "generated": self._count,
                "fresh_bodies": self.fresh}

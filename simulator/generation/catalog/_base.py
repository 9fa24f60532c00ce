"""What an event type is: a name, a JSON Schema file and a generator of the ``event`` body.

Generators return only the ``event`` body; ``simulator.wire.envelope`` adds the v2 envelope in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.generation.population import Person, Population
from simulator.rand import SimRandom
from simulator.verdicts.answers import AnswerKind


@dataclass
class GenContext:
    """Everything a generator may use. ``now`` is the platform time of the event (epoch seconds).

    - ``scene``: the family objects this event shares with the events around it, by name (a scenario
      passes its ``"meeting"``, its ``"chat"``, the ``"message"`` a reaction targets...). A lone event
      starts with an empty scene and its generator invents what it needs (and may leave it there).
    - ``world``: state that lasts for the whole run of one ``EventFactory``, shared by every event and
      every family (the chats of the tenant, the messages the bot has seen...). A family keeps its own
      objects under keys it owns (by convention prefixed with the family name).
    - ``operator``: who acts, when the caller decides; ``params``: event-specific inputs
      (``leave_reason``, ``url``, ``message_type``...), documented by each family.
    - ``tenant_key``: the receiving app's tenant, for bodies that name it (IM senders, chat operators, card
      clickers); empty when the caller did not say (a family then falls back to the default tenant).
    """

    rand: SimRandom
    population: Population
    app_id: str
    now: float
    tenant_key: str = ""
    operator: Person | None = None
    params: dict[str, Any] = field(default_factory=dict)
    scene: dict[str, Any] = field(default_factory=dict)
    world: dict[str, Any] = field(default_factory=dict)


Generator = Callable[[GenContext], dict[str, Any]]
# The business key a receiver should dedupe an event on, from its ``event`` body (see ``EventSpec``).
DedupeKey = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    generate: Generator
    summary: str
    # The family the type belongs to (its folder under ``simulator/generation/families/``), for listings.
    family: str = ""
    # lark-oapi 1.7.5 builder method with a typed handler, or None when the SDK needs
    # ``register_p2_customized_event`` (docs/protocol.md#vc-event-models-across-sdks).
    sdk_register: str | None = None
    # The business key of the event when the platform advises deduping on it rather than on
    # ``header.event_id`` (a redelivery can carry a new event_id: docs/semantics.md#dedupe-and-event_id-reuse),
    # e.g. ``event.message.message_id`` for ``im.message.receive_v1``; None when event_id is the key.
    dedupe_key: DedupeKey | None = None
    # A synchronous callback (card.action.trigger, url.preview.get): the kind its answer body is judged as.
    # None for an event.
    callback: AnswerKind | None = None

    @property
    def retried(self) -> bool:
        """Whether a failed delivery goes on the retry ladder: events yes; callbacks never (they are
        synchronous, docs/semantics.md#callbacks-are-not-retried)."""
        return self.callback is None

"""What an event type is: a name, a JSON Schema file and a generator of the ``event`` body.

Generators return only the ``event`` body; ``simulator.wire.envelope`` adds the v2 envelope in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.generation.population import Person, Population
from simulator.rand import SimRandom


@dataclass
class GenContext:
    """Everything a generator may use. ``now`` is the platform time of the event (epoch seconds).

    Scenarios pass a fixed ``meeting`` (and usually ``operator``); lone events get a fresh meeting.
    ``params`` carries event-specific inputs (``leave_reason``, ``leave_user``, ``url``, ...).
    """

    rand: SimRandom
    population: Population
    app_id: str
    now: float
    meeting: Any = None
    operator: Person | None = None
    params: dict[str, Any] = field(default_factory=dict)


Generator = Callable[[GenContext], dict[str, Any]]


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    generate: Generator
    summary: str
    # lark-oapi 1.7.5 builder method with a typed handler, or None when the SDK needs
    # ``register_p2_customized_event`` (protocol §3.2).
    sdk_register: str | None = None

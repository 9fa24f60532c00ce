"""TEMPLATE (not collected): copy to ``tests/catalog/test_<name>.py`` when adding an event type.

The generic tests (``test_event_types.py``) validate many seeded events of each ``vc.meeting`` type they
list against its schema (add a new ``vc.meeting`` type there); here go the type's own rules (which fields
relate to which, what the doc promises) and at least one mutation the schema must reject, so the schema is
shown to be strict.
"""

from __future__ import annotations

import copy

from simulator.generation import schemas
from tests.catalog.helpers import create_s, factory

EVENT_TYPE = "vc.meeting.example_v1"  # <- your event type


def test_seeded_events_are_valid_and_coherent() -> None:
    for seed in range(10):
        f = factory(seed)
        for _ in range(10):
            env = f.generate(EVENT_TYPE)
            assert schemas.errors(env) == []
            m = env["event"]["meeting"]
            assert int(m["start_time"]) <= int(m["end_time"]) <= create_s(env)  # <- your type's rules


def test_the_schema_rejects_a_wrong_field() -> None:
    env = factory(1).generate(EVENT_TYPE)
    bad = copy.deepcopy(env)
    bad["event"]["meeting"]["id"] = 7123456789012345678  # ids are JSON strings
    assert schemas.errors(bad, EVENT_TYPE) != []

"""TEMPLATE (not loaded): an annotated generator, to copy when adding an event type (docs/catalogue.md).

1. Write the schema first: copy ``schemas/_template.schema.json`` to
   ``schemas/<family>/<event_type>.schema.json`` (in a family folder its references become
   ``../envelope_v2.schema.json`` and ``common.schema.json#/$defs/...``) and describe the body strictly
   (string ids and timestamps, enums, ``additionalProperties: false``), citing the doc page; note any doc
   quirk in the descriptions.
2. Put the generator in the family's package under ``simulator/generation/families/<family>/`` (the
   catalogue imports every family package on first use, and the import registers its types): set
   ``EVENT_TYPE``, write ``generate`` and register the ``SPEC``.
3. Copy ``tests/catalog/_template_tests.py`` to ``tests/catalog/test_<name>.py``. For a ``vc.meeting``
   type, also add it to the list in ``tests/catalog/test_event_types.py``, whose generic tests validate
   many seeded events of each listed type against its schema.
4. If the docs give an example payload, save it verbatim as ``fixtures/events/<event_type>/doc_example.json``.
5. ``feishu-sim generate --list`` now shows the type; ``feishu-sim generate <event_type> --seed 1`` prints one.

Generators return the ``event`` body only; ``simulator.wire.envelope`` adds the envelope in one place.
"""

from __future__ import annotations

from typing import Any

from simulator.generation.catalog._base import EventSpec, GenContext
from simulator.generation.families.vc_meeting.events import meeting_of, operator_of
from simulator.generation.families.vc_meeting.meeting import NO_CALENDAR, meeting_json, user_json

# from simulator.generation.catalog import register

EVENT_TYPE = "vc.meeting.example_v1"


def generate(ctx: GenContext) -> dict[str, Any]:
    """The ``event`` body. Use what a scenario passes (``ctx.scene["meeting"]``, ``ctx.operator``, ``ctx.params``)
    and invent the rest from ``ctx.rand`` (never ``random`` or the wall clock) so the seed decides."""
    m = meeting_of(ctx)  # a scenario's meeting, or a fresh coherent one for a lone event
    op = operator_of(ctx, m)  # a scenario's operator, or a plausible one (host or participant)
    note = ctx.params.get("note") or str(ctx.rand.faker(ctx.population.locale).sentence())
    return {
        "meeting": meeting_json(m, ctx.app_id, NO_CALENDAR),
        "operator": user_json(op, ctx.app_id, m.role_of(op)),  # the role they have in this meeting
        "note": note,
    }


# sdk_register: the lark-oapi builder method with a typed handler, or None when the SDK needs
# ``register_p2_customized_event`` (docs/protocol.md#vc-event-models-across-sdks).
SPEC = EventSpec(EVENT_TYPE, generate, "one line for `feishu-sim generate --list`", sdk_register=None)
# register(SPEC)

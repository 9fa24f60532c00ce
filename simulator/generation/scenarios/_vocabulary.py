"""Step vocabularies: which events a ``[[step]]`` may name, by family.

A family contributes its steps in two places that must agree (``tests/catalog/test_scenario_schema.py``
keeps them in step):

- ``schemas/scenario.schema.json``: a ``$defs`` entry keyed by the family (``vc_meeting``) holding its
  table, its step ``event`` pattern, the ``step`` dispatch from an event to its schema and one schema per
  action, wired into ``#/$defs/step`` and ``#/$defs/step_event`` (and the root for its table);
- here: a ``Vocabulary`` (the same key, its event-type prefix, its actions and the events that cannot be
  steps because the engine derives them, with why), listed in ``FAMILIES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Vocabulary:
    family: str  # its key under ``$defs`` in schemas/scenario.schema.json
    prefix: str  # event types are ``<prefix><action>_v1``; steps may give the short ``<action>``
    actions: tuple[str, ...]
    derived: Mapping[str, str]  # events the engine emits by itself -> how to get them

    def short(self, event: str) -> str:
        return event.removeprefix(self.prefix).removesuffix("_v1")

    def event_type(self, action: str) -> str:
        return f"{self.prefix}{action}_v1"


VC_MEETING = Vocabulary(
    family="vc_meeting",
    prefix="vc.meeting.",
    actions=("meeting_started", "meeting_ended", "join_meeting", "leave_meeting", "share_started", "share_ended",
             "recording_started", "recording_ended", "send_meeting_im"),
    derived={
        "all_meeting_started": "it is emitted with meeting_started when [scenario] mirror_all_meeting = true",
        "all_meeting_ended": "it is emitted with meeting_ended when [scenario] mirror_all_meeting = true",
        "participant_meeting_started": "it is emitted when [scenario] participant_subscribers is set",
        "participant_meeting_joined": "it is emitted when [scenario] participant_subscribers is set",
        "participant_meeting_ended": "it is emitted when [scenario] participant_subscribers is set",
        "recording_ready": "it is emitted after recording_ended (set ready_delay on that step)",
    },
)

FAMILIES: tuple[Vocabulary, ...] = (VC_MEETING,)
ACTIONS = tuple(action for vocab in FAMILIES for action in vocab.actions)  # every step action


def resolve(event: str) -> tuple[Vocabulary, str] | None:
    """The family and short action a step's ``event`` names, if it names a step."""
    for vocab in FAMILIES:
        action = vocab.short(event)
        if action in vocab.actions:
            return vocab, action
    return None


def event_problem(event: str) -> str:
    """Why ``event`` cannot be a step: derived by the engine, or unknown."""
    for vocab in FAMILIES:
        action = vocab.short(event)
        if action in vocab.derived:
            return f"{vocab.event_type(action)} cannot be a step: {vocab.derived[action]}"
    return f"unknown event type {event!r} (steps: {', '.join(ACTIONS)})"

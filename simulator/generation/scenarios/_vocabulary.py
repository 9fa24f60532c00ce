"""Step vocabularies: which events a ``[[step]]`` may name, by family.

A family contributes its steps in two places that must agree (``tests/catalog/test_scenario_schema.py``
keeps them in step):

- ``schemas/scenario.schema.json``: a ``$defs`` entry keyed by the family (``vc_meeting``, ``im_chat``)
  holding its table, its step ``event`` names, the ``step`` dispatch from an event to its schema, one schema
  per action and a ``document`` rule (a file with the family's table takes only its steps), wired into
  ``#/$defs/step``, ``#/$defs/step_event`` and the root (its table, its ``document``);
- here: a ``Vocabulary`` (the same key, its table, its actions with the event type each sends, and the events
  that cannot be steps because the engine derives them, with why), listed in ``FAMILIES``.

A scenario is one family: its table (``[meeting]`` or ``[chat]``) says which, and its steps are that family's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Vocabulary:
    family: str  # its key under ``$defs`` in schemas/scenario.schema.json
    table: str  # the scenario file's table of this family: ``[meeting]``, ``[chat]``
    noun: str  # what one scenario of the family is about, for messages
    # action -> the event type it sends (None: a step the platform sends no event for, such as the bot's
    # own message); a step's ``event`` is the action or the full event type.
    events: Mapping[str, str | None]
    derived: Mapping[str, str]  # events the engine emits by itself -> how to get them
    # vc.meeting also accepts ``<prefix><action>``, ``<action>_v1`` (every type there is ``<prefix><action>_v1``).
    prefix: str = ""

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(self.events)

    def event_type(self, action: str) -> str | None:
        return self.events[action]

    def spellings(self, action: str) -> tuple[str, ...]:
        """Every way a step's ``event`` may name ``action``."""
        full = self.events[action]
        out = [action] if full is None else [action, full]
        if self.prefix:
            out += [f"{self.prefix}{action}", f"{action}_v1"]
        return tuple(out)

    def short(self, event: str) -> str | None:
        """The action ``event`` names in this family (or a derived event's short name), if any."""
        for action in (*self.events, *self.derived):
            full = self.events.get(action) or f"{self.prefix}{action}_v1"
            if event in (action, full) or (self.prefix and event in (f"{self.prefix}{action}", f"{action}_v1")):
                return action
        return None


VC_MEETING = Vocabulary(
    family="vc_meeting",
    table="meeting",
    noun="meeting",
    prefix="vc.meeting.",
    events={a: f"vc.meeting.{a}_v1" for a in (
        "meeting_started", "meeting_ended", "join_meeting", "leave_meeting", "share_started", "share_ended",
        "recording_started", "recording_ended", "send_meeting_im")},
    derived={
        "all_meeting_started": "it is emitted with meeting_started when [scenario] mirror_all_meeting = true",
        "all_meeting_ended": "it is emitted with meeting_ended when [scenario] mirror_all_meeting = true",
        "participant_meeting_started": "it is emitted when [scenario] participant_subscribers is set",
        "participant_meeting_joined": "it is emitted when [scenario] participant_subscribers is set",
        "participant_meeting_ended": "it is emitted when [scenario] participant_subscribers is set",
        "recording_ready": "it is emitted after recording_ended (set ready_delay on that step)",
    },
)

IM_CHAT = Vocabulary(
    family="im_chat",
    table="chat",
    noun="chat",
    events={
        "p2p_chat_entered": "im.chat.access_event.bot_p2p_chat_entered_v1",
        "message": "im.message.receive_v1",
        "bot_message": None,  # sent by the bot through the API: the platform does not echo it to the bot
        "reaction_created": "im.message.reaction.created_v1",
        "reaction_deleted": "im.message.reaction.deleted_v1",
        "message_read": "im.message.message_read_v1",
        "recalled": "im.message.recalled_v1",
        "click": "card.action.trigger",  # a callback: judged by its answer, never retried
        "bot_added": "im.chat.member.bot.added_v1",
        "bot_deleted": "im.chat.member.bot.deleted_v1",
        "user_added": "im.chat.member.user.added_v1",
        "user_deleted": "im.chat.member.user.deleted_v1",
        "user_withdrawn": "im.chat.member.user.withdrawn_v1",
        "chat_updated": "im.chat.updated_v1",
        "chat_disbanded": "im.chat.disbanded_v1",
    },
    derived={},
)

FAMILIES: tuple[Vocabulary, ...] = (VC_MEETING, IM_CHAT)
ACTIONS = tuple(action for vocab in FAMILIES for action in vocab.actions)  # every step action


def resolve(event: str, family: Vocabulary | None = None) -> tuple[Vocabulary, str] | None:
    """The family and action a step's ``event`` names, if it names a step (of ``family`` when given)."""
    for vocab in FAMILIES if family is None else (family,):
        action = vocab.short(event)
        if action is not None and action in vocab.events:
            return vocab, action
    return None


def family_of(doc: Mapping[str, Any]) -> Vocabulary | None:
    """The family of a parsed scenario file: the first family table it has, else its first step that names
    a family's action (so that a file missing its table can be told which one)."""
    for vocab in FAMILIES:
        if vocab.table in doc:
            return vocab
    steps = doc.get("step")
    for raw in steps if isinstance(steps, list) else []:
        event = raw.get("event") if isinstance(raw, dict) else None
        found = resolve(event) if isinstance(event, str) else None
        if found is not None:
            return found[0]
    return None


def event_problem(event: str, family: Vocabulary | None = None) -> str:
    """Why ``event`` cannot be a step (of a ``family`` scenario): another family's, derived, or unknown."""
    other = resolve(event)
    if family is not None and other is not None and other[0] is not family:
        return (f"{other[1]} is a {other[0].noun} step; a [{family.table}] scenario takes {family.noun} steps "
                f"({', '.join(family.actions)})")
    for vocab in FAMILIES if family is None else (family,):
        action = vocab.short(event)
        if action is not None and action in vocab.derived:
            return f"{vocab.prefix}{action}_v1 cannot be a step: {vocab.derived[action]}"
    steps = ACTIONS if family is None else family.actions
    return f"unknown event type {event!r} (steps: {', '.join(steps)})"

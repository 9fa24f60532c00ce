"""Callbacks over the long connection: which frame type carries them, and the answer read back from the ack.

* The data frame of a ``card.action.trigger`` carries the ``type`` header the platform option
  ``card_frame`` names: ``event`` (default) or ``card``. Public threads disagree on what the real platform
  sends (docs/events.md#event-or-card-frames); the unmodified SDK clients dispatch only ``event`` frames
  (lark-oapi 1.7.5 ``ws/client.py`` returns on ``MessageType.CARD`` without an ack; node-sdk 1.74.0 drops
  any type but ``event``), so ``card`` shows what happens if the platform sends the other: no ack, a
  timeout. ``url.preview.get`` and the events always go in ``event`` frames.
* The app's answer is the ack's ``data`` (base64 JSON, ``simulator.verdicts.answers.decode_ack_data``),
  judged like a webhook callback's body (``simulator.verdicts.callbacks.judge_callback``). An ack with code
  200 and no ``data`` (a Python handler that returned nothing) is an empty answer.
* Each click's ``token`` is handed to the listeners (``Platform.on_click``) before the frame goes out: the
  mock OpenAPI makes it valid for ``/open-apis/interactive/v1/card/update``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from simulator.errors import ConfigError
from simulator.generation import catalog
from simulator.verdicts.answers import AnswerKind
from simulator.verdicts.callbacks import judge_callback
from simulator.verdicts.model import Attempt, Outcome
from simulator.wire.frames import Ack, MessageType

CARD_FRAMES: Final = ("event", "card")
DEFAULT_CARD_FRAME: Final = "event"

#: ``(app_id, envelope)`` of a click about to be pushed.
ClickListener = Callable[[str, dict[str, Any]], None]


def check_card_frame(value: str) -> str:
    if value not in CARD_FRAMES:
        raise ConfigError(f"invalid card frame type {value!r}: event or card")
    return value


def callback_kind(event_type: str) -> AnswerKind | None:
    """The answer kind of a callback type (None for an event)."""
    spec = catalog.find(event_type)
    return None if spec is None else spec.callback


def frame_type(kind: AnswerKind | None, card_frame: str) -> MessageType:
    """The ``type`` header of the data frame for a delivery of this kind."""
    if kind is AnswerKind.CARD_ACTION and card_frame == "card":
        return MessageType.CARD
    return MessageType.EVENT


def judge_ack(att: Attempt, kind: AnswerKind, ack: Ack) -> None:
    """Judge the answer an acked callback attempt carries in its ack's ``data``."""
    if att.outcome is not Outcome.ACKED:
        return
    if "data is not base64" in ack.problems:
        att.outcome = Outcome.BAD_ANSWER
        att.detail = "ack data is not base64 (the answer must be the base64 of its JSON)"
        return
    judge_callback(att, kind, ack.data or b"")


def tell_listeners(listeners: list[ClickListener], app_id: str, envelope: dict[str, Any]) -> None:
    for listener in listeners:
        listener(app_id, envelope)

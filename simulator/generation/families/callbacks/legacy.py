"""The legacy card request (``card.action.trigger_v1``, the "消息卡片请求网址"): the same click as a
``card.action.trigger`` callback, in the older flat body (``schemas/callbacks/card.action.trigger_v1.schema.json``).

The legacy body has no envelope and no event id: ``open_id``, ``user_id``, ``open_message_id``,
``open_chat_id``, ``tenant_key``, ``token`` and ``action`` at the top level, in that order (a real capture's
order, which lark-oapi's ``lark_oapi.card.model.Card`` reads by name). The engine keeps delivering the
``card.action.trigger`` envelope (its event id names the delivery in records); the legacy channel
(``simulator/delivery/legacy_card.py``) sends this rendering of it, signed with SHA-1 by
``simulator/wire/legacy_card.py``. It is webhook only: the long connection does not carry it
(docs/events.md#legacy-card-request-url).
"""

from __future__ import annotations

from typing import Any, Final

from simulator.errors import UsageError

CLICK: Final = "card.action.trigger"
LEGACY_TYPE: Final = "card.action.trigger_v1"


def legacy_request(envelope: dict[str, Any]) -> dict[str, Any]:
    """The flat legacy body of a ``card.action.trigger`` envelope (``UsageError`` for any other type)."""
    header = envelope.get("header") if isinstance(envelope, dict) else None
    event_type = header.get("event_type") if isinstance(header, dict) else None
    event = envelope.get("event") if isinstance(envelope, dict) else None
    if event_type != CLICK or not isinstance(event, dict):
        raise UsageError(f"the legacy card request carries {CLICK} clicks only, not {event_type or 'this payload'!r}")
    operator = event.get("operator") or {}
    context = event.get("context") or {}
    out: dict[str, Any] = {"open_id": operator.get("open_id")}
    if "user_id" in operator:
        out["user_id"] = operator["user_id"]
    out["open_message_id"] = context.get("open_message_id")
    if context.get("open_chat_id"):
        out["open_chat_id"] = context["open_chat_id"]
    out["tenant_key"] = operator.get("tenant_key")
    out["token"] = event.get("token")
    out["action"] = event.get("action")
    return out

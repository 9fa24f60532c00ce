"""The v2.0 envelope and the URL-verification challenge, built in one place (docs/semantics.md#event-envelopes,
docs/semantics.md#url-verification)."""

from __future__ import annotations

from typing import Any

from simulator import constants as C


def wrap(event_type: str, body: dict[str, Any], *, event_id: str, create_time_ms: int, token: str, app_id: str,
         tenant_key: str) -> dict[str, Any]:
    """A v2.0 envelope with the header keys in the documented order."""
    return {
        "schema": C.SCHEMA_V2,
        "header": {
            "event_id": event_id,
            "event_type": event_type,
            "create_time": str(create_time_ms),
            "token": token,
            "app_id": app_id,
            "tenant_key": tenant_key,
        },
        "event": body,
    }


def challenge(value: str, token: str | None) -> dict[str, Any]:
    """``{"challenge", "token", "type": "url_verification"}``; no token key when ``token`` is None."""
    out: dict[str, Any] = {"challenge": value}
    if token is not None:
        out["token"] = token
    out["type"] = "url_verification"
    return out


def event_id_of(envelope: dict[str, Any]) -> str:
    return str(envelope.get("header", {}).get("event_id", ""))


def event_type_of(envelope: dict[str, Any]) -> str:
    return str(envelope.get("header", {}).get("event_type", ""))

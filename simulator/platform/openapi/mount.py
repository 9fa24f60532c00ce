"""Mounting the mock OpenAPI on the long-connection platform's app: one state per platform, its routes next to
the platform's (same origin, so an official client needs only its domain pointed there)."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from simulator.platform.openapi.control import Authorised, control_routes
from simulator.platform.openapi.routes import openapi_routes
from simulator.platform.openapi.state import OpenApiState, platform_worlds


def openapi_for(platform: Any, pusher: Any, *, tenant_key: str) -> OpenApiState:
    """The OpenAPI state of a ``Platform``: its apps, its clock, the tenant and the worlds of the generators
    its ``pusher`` pushes with (anything with ``simulator(app_id)``, e.g. the engine's pusher). Every card
    click the platform sends makes its ``c-`` token valid for the delayed card update."""
    state = OpenApiState(platform.options.apps, platform_worlds(pusher), clock=platform.clock, tenant_key=tenant_key,
                         scopes=platform.options.scopes)

    def accept(app_id: str, envelope: dict[str, Any]) -> None:
        event = envelope.get("event") or {}
        token, context = event.get("token"), event.get("context") or {}
        if isinstance(token, str) and token.startswith("c-"):
            state.accept_card_token(token, str(context.get("open_message_id", "")), app_id=app_id,
                                    open_id=str((event.get("operator") or {}).get("open_id", "")))

    platform.on_click.append(accept)
    return state


def mounted_routes(state: OpenApiState, authorised: Authorised) -> list[BaseRoute]:
    """The control routes (``/_sim/openapi/...``, guarded like the rest of the control API) and the API routes."""
    return [*control_routes(state, authorised), *openapi_routes(state)]

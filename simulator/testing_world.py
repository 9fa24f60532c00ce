"""One world for the events a test pushes and the OpenAPI its bot calls (docs/bots.md).

A bot answers an ``im.message.receive_v1`` by replying to its message; the platform's OpenAPI accepts the reply
only if it knows the message, i.e. if the event came from the platform's world (its chats, people and messages).
A ``FeishuSim`` that *shares* a platform's world (``feishu_sim.share_world(feishu_platform)``, done by the pytest
plugin when a test uses both fixtures) makes its events there -- on the platform's loop, so the bot's calls and
the generation never touch the world at once -- and still seals and delivers them itself: to an ASGI or WSGI
app in process, to a URL, or over the long connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from simulator.config import AppProfile
from simulator.generation.overrides import Overrides


class WorldSource(Protocol):
    """What a shared world comes from (a running ``PlatformServer``)."""

    def app_ids(self) -> list[str]: ...

    def generate_many(self, event_type: str, count: int, *, overrides: Overrides | None = None,
                      app_id: str | None = None, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def generate_scenario(self, scenario: str | Path, *, runs: int = 1,
                          app_id: str | None = None) -> list[dict[str, Any]]: ...


def knows(source: WorldSource, app: AppProfile) -> bool:
    """Whether the source has ``app``: the events of an app it does not know (a negative test pushing to an
    app no client serves) come from the helper's own world."""
    return app.app_id in source.app_ids()


def _tokened(envelopes: list[dict[str, Any]], app: AppProfile, longconn: bool) -> list[dict[str, Any]]:
    """Made for the long connection (empty ``header.token``); a webhook delivery carries the app's token."""
    if longconn or not app.verification_token:
        return envelopes
    return [{**env, "header": {**env.get("header", {}), "token": app.verification_token}} for env in envelopes]


def shared_events(source: WorldSource, app: AppProfile, event_type: str, count: int, *,
                  overrides: Overrides | None, params: Mapping[str, Any] | None,
                  longconn: bool) -> list[dict[str, Any]]:
    """``count`` envelopes of ``event_type`` for ``app`` (one ``knows``) from the source's world."""
    made = source.generate_many(event_type, count, overrides=overrides, app_id=app.app_id, params=params)
    return _tokened(made, app, longconn)


def shared_scenario(source: WorldSource, app: AppProfile, scenario: str | Path, runs: int, *,
                    longconn: bool) -> list[dict[str, Any]]:
    """The envelopes of ``runs`` runs of ``scenario`` for ``app`` from the source's world."""
    return _tokened(source.generate_scenario(scenario, runs=runs, app_id=app.app_id), app, longconn)

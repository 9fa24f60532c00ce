"""What ``FeishuSim`` does besides pushing: the URL-verification challenge into any target, a scenario
limited to the types an app subscribes to, and the app of the long-connection platform it pushes to."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import httpx

from simulator.config import AppProfile
from simulator.delivery.inprocess import BASE_URL, app_transport, resolve
from simulator.delivery.longconn import HostedPlatform
from simulator.errors import ConfigError, UsageError
from simulator.fixture_options import Settings
from simulator.generation import schemas
from simulator.generation.overrides import Overrides
from simulator.rand import SimRandom
from simulator.testing_report import notes
from simulator.verdicts.model import Delivery
from simulator.verify import UrlVerification, verify_url


async def challenge(target: object, path: str, app: AppProfile, rand: SimRandom) -> UrlVerification:
    """The challenge, sealed with ``app``'s keys, sent to ``target`` (a URL, or an ASGI / WSGI app at
    ``path``) and judged like the console does."""
    kind, obj = resolve(target)
    keys: dict[str, Any] = {"token": app.verification_token, "encrypt_key": app.encrypt_key, "rand": rand}
    if kind == "url":
        return UrlVerification(await verify_url(str(obj), **keys))
    transport = app_transport(obj, "asgi" if kind == "asgi" else "wsgi")
    async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
        return UrlVerification(await verify_url(BASE_URL + path, client=client, **keys))


def subscribed(only: Sequence[str] | None) -> set[str] | None:
    """``only=``'s event types, each checked (``UnknownEventType`` names the closest known ones)."""
    if only is None:
        return None
    if isinstance(only, str) or not all(isinstance(t, str) for t in only):
        raise ConfigError(f"only= takes a list of event types, got {only!r}")
    for event_type in only:
        schemas.schema_path(event_type)  # UnknownEventType, naming the closest known types
    return set(only)


def keep_types(envelopes: list[dict[str, Any]], wanted: set[str] | None, scenario: object) -> list[dict[str, Any]]:
    """The envelopes of the ``wanted`` types (all of them: None), in order; a ``ConfigError`` when none is."""
    if wanted is None:
        return envelopes
    kept = [env for env in envelopes if env["header"]["event_type"] in wanted]
    if not kept:
        types = sorted({env["header"]["event_type"] for env in envelopes})
        raise ConfigError(f"scenario {str(scenario)!r} has no event of the types in only= (its types: "
                          f"{', '.join(types)})")
    return kept


def platform_settings(settings: Settings, target: HostedPlatform) -> Settings | None:
    """Settings addressed to the platform's first app, when no ``app_id`` was configured and the configured
    one is not the platform's: the app id is configured once, where the platform is
    (``feishu_platform_options``, ``PlatformServer(app_id=...)``). None: keep ``settings``."""
    options = target.platform.options
    if settings.app_id_given or settings.config.app.app_id in options.apps:
        return None
    app_id = options.default_app
    return replace(settings, config=settings.config.with_app(app_id=app_id, app_secret=options.apps[app_id]))


__all__ = ["challenge", "keep_types", "platform_settings", "subscribed"]


def _is_platform(target: object) -> bool:
    """The long-connection platform (``PlatformServer``) rather than a webhook target?"""
    return isinstance(target, HostedPlatform)


def _overrides(overrides: Overrides | None, set_: Overrides | None) -> Overrides | None:
    """``overrides=``, or its deprecated spelling ``set=`` (kept for one release)."""
    __tracebackhide__ = True
    if set_ is None:
        return overrides
    warnings.warn("feishu_sim: set= is deprecated, use overrides=", DeprecationWarning, stacklevel=3)
    if overrides is not None:
        raise UsageError("give overrides= or the deprecated set=, not both")
    return set_


def _not_acked(what: str, d: Delivery) -> str:
    return "\n    ".join([f"{what}: {d.summary_line}", *notes(d)])

"""Permission scopes (权限): the scopes each mocked API needs, and the scopes an app was granted
(docs/openapi.md#permission-scopes).

An API lists the scopes that allow it, and any one of them is enough ("开启任一权限即可" in the server-API docs).
An app's granted scopes are configured with the platform (``PlatformServer(scopes=...)``, ``feishu-sim serve
--scopes``); an app without a configured list has every scope, as before. A call to an API none of whose scopes
the app was granted is refused with HTTP 400 and code 99991672, naming the scopes that would allow it, in the
wording the platform uses. The token endpoint, bot info and the delayed card update need no scope here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from simulator.errors import ApiRefused, ConfigError
from simulator.platform.openapi.codes import MISSING_SCOPE

IM = "/open-apis/im/v1"
_SEND = ("im:message", "im:message:send_as_bot", "im:message:send")
_REACT = ("im:message", "im:message.reactions:write_only")
_UPLOAD = ("im:resource", "im:resource:upload")
# "METHOD path" (the routes' ``api`` names) -> the scopes that allow it, any one of them
# (docs/openapi.md#permission-scopes).
API_SCOPES: dict[str, tuple[str, ...]] = {
    f"POST {IM}/messages": _SEND,
    f"POST {IM}/messages/:message_id/reply": _SEND,
    f"PATCH {IM}/messages/:message_id": ("im:message", "im:message:send_as_bot", "im:message:update"),
    f"GET {IM}/messages/:message_id": ("im:message", "im:message:readonly"),
    f"POST {IM}/messages/:message_id/reactions": _REACT,
    f"DELETE {IM}/messages/:message_id/reactions/:reaction_id": _REACT,
    f"GET {IM}/messages/:message_id/resources/:file_key": ("im:message", "im:message:readonly",
                                                           "im:message.history:readonly"),
    f"POST {IM}/images": _UPLOAD,
    f"POST {IM}/files": _UPLOAD,
}
SCOPE_RE = re.compile(r"[a-z][a-z0-9_]*(?::[a-z0-9_.]+)+")
Granted = Mapping[str, frozenset[str]]  # app id -> its scopes; an app not named has every scope
# What ``PlatformServer(scopes=...)`` takes: the scopes of every app, or app id -> its scopes; None: every scope.
ScopesOption = Iterable[str] | str | Mapping[str, Iterable[str] | str] | None


def scope_set(names: Iterable[str] | str, *, what: str = "scopes") -> frozenset[str]:
    """Scope names checked for their form (``im:message``, ``im:message:send_as_bot``); a string is a
    comma-separated list (``""``: no scope at all)."""
    items = [n.strip() for n in names.split(",") if n.strip()] if isinstance(names, str) else list(names)
    for name in items:
        if not isinstance(name, str) or not SCOPE_RE.fullmatch(name):
            raise ConfigError(f"{what}: invalid scope {name!r}: scopes look like im:message or "
                              "im:message:send_as_bot")
    return frozenset(items)


def granted_scopes(scopes: ScopesOption, apps: Iterable[str], *,
                   what: str = "scopes") -> dict[str, frozenset[str]] | None:
    """``PlatformServer(scopes=...)``: None (every app has every scope), the scopes of every app (a list, or a
    comma-separated string), or a dict app id -> its scopes (apps not named have every scope)."""
    if scopes is None:
        return None
    known = list(apps)
    if isinstance(scopes, Mapping):
        unknown = [a for a in scopes if a not in known]
        if unknown:
            raise ConfigError(f"scopes for unknown app {unknown[0]!r} (the platform's apps: {', '.join(known)})")
        return {app: scope_set(names, what=f"scopes of {app}") for app, names in scopes.items()}
    granted = scope_set(scopes, what=what)
    return {app: granted for app in known}


def check(granted: Granted | None, app_id: str, api: str) -> None:
    """Refuse (99991672) a call to ``api`` by an app granted none of the scopes that allow it."""
    needed = API_SCOPES.get(api)
    if granted is None or needed is None or app_id not in granted:
        return
    if granted[app_id].isdisjoint(needed):
        raise missing(app_id, needed)


def missing(app_id: str, needed: tuple[str, ...]) -> ApiRefused:
    """The platform's 99991672 refusal: the scopes that would allow the call, and where to apply for them."""
    listed = ", ".join(needed)
    link = f"https://open.feishu.cn/app/{app_id}/auth?q={','.join(needed)}&op_from=openapi&token_type=tenant"
    msg = (f"Access denied. One of the following scopes is required: [{listed}]."
           f"应用尚未开通所需的应用身份权限：[{listed}]，点击链接申请并开通任一权限即可：{link}")
    return ApiRefused(MISSING_SCOPE, msg, violations=needed)

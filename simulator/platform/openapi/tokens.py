"""Credentials of the mock OpenAPI, sans-IO on an injected time: tenant access tokens and card-update tokens.

Tenant tokens (docs/openapi.md#token-lifetime): a token lives 2 hours; asking again while more than 30 minutes
remain gives the same token (with its remaining life as ``expire``), with less left a new token is issued and
both stay valid until they expire. Card-update tokens (docs/openapi.md#delayed-card-update-with-a-callback-token):
``c-`` tokens handed to a bot in a ``card.action.trigger`` callback, valid 30 minutes for at most 2 updates.

Token values are credentials: they come from ``secrets``, never from the run's seeded random source.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass

from simulator.platform.openapi import codes

TOKEN_LIFE_S = 2 * 3600
RENEW_BELOW_S = 30 * 60
CARD_TOKEN_LIFE_S = 30 * 60
CARD_TOKEN_USES = 2
MAX_CARD_TOKENS = 10_000


@dataclass
class Issued:
    app_id: str
    expires_at: float


class TenantTokens:
    """``apps`` maps app id -> secret. ``issue`` answers the token endpoint; ``check`` an ``Authorization``."""

    def __init__(self, apps: dict[str, str], *, life_s: float = TOKEN_LIFE_S) -> None:
        self.apps = apps
        self.life_s = life_s
        self._tokens: dict[str, Issued] = {}
        self._current: dict[str, str] = {}  # app id -> its newest token

    def issue(self, app_id: object, app_secret: object, now: float) -> tuple[str, int]:
        """The token and its remaining life in whole seconds; 10003/10014/10015 refusals."""
        if not isinstance(app_id, str) or not isinstance(app_secret, str) or not app_id or not app_secret:
            raise codes.refuse(codes.TOKEN_INVALID_PARAM, "app_id and app_secret are required strings")
        known = self.apps.get(app_id)
        if known is None:
            raise codes.refuse(codes.TOKEN_UNKNOWN_APP, f"app {app_id} does not exist")
        if not secrets.compare_digest(known.encode(), app_secret.encode()):
            raise codes.refuse(codes.TOKEN_BAD_SECRET)
        self._prune(now)
        current = self._current.get(app_id)
        issued = self._tokens.get(current) if current else None
        if current is not None and issued is not None and issued.expires_at - now > min(RENEW_BELOW_S, self.life_s / 2):
            return current, int(issued.expires_at - now)
        token = "t-" + secrets.token_hex(20)
        self._tokens[token] = Issued(app_id, now + self.life_s)
        self._current[app_id] = token
        return token, int(self.life_s)

    def check(self, authorization: str | None, now: float) -> str:
        """The app id of a valid ``Bearer t-...`` header; 99991661 when missing, 99991663 when invalid or expired."""
        value = (authorization or "").strip()
        if not value:
            raise codes.refuse(codes.MISSING_TOKEN, status=400)
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise codes.refuse(codes.MISSING_TOKEN, "expected 'Authorization: Bearer <tenant_access_token>'")
        issued = self._tokens.get(token)
        if issued is None:
            raise codes.refuse(codes.INVALID_TOKEN, "unknown token")
        if issued.expires_at <= now:
            raise codes.refuse(codes.INVALID_TOKEN, "token expired")
        return issued.app_id

    def revoke(self, app_id: str | None = None) -> int:
        """Invalidate every token (of ``app_id``); how many were dropped."""
        gone = [t for t, i in self._tokens.items() if app_id is None or i.app_id == app_id]
        for t in gone:
            del self._tokens[t]
        for app in [a for a, t in self._current.items() if t in gone]:
            del self._current[app]
        return len(gone)

    def live(self, now: float) -> int:
        return sum(1 for i in self._tokens.values() if i.expires_at > now)

    def _prune(self, now: float) -> None:
        for t in [t for t, i in self._tokens.items() if i.expires_at <= now]:
            del self._tokens[t]
        for app in [a for a, t in self._current.items() if t not in self._tokens]:
            del self._current[app]


@dataclass
class CardGrant:
    app_id: str
    message_id: str
    open_id: str
    expires_at: float
    uses_left: int = CARD_TOKEN_USES


class CardTokens:
    """``c-`` tokens bound to one card message; bounded (the oldest are forgotten past ``MAX_CARD_TOKENS``)."""

    def __init__(self, *, life_s: float = CARD_TOKEN_LIFE_S, uses: int = CARD_TOKEN_USES,
                 max_tokens: int = MAX_CARD_TOKENS) -> None:
        self.life_s = life_s
        self.uses = uses
        self.max_tokens = max_tokens
        self._grants: OrderedDict[str, CardGrant] = OrderedDict()

    def mint(self, app_id: str, message_id: str, now: float, *, open_id: str = "") -> str:
        return self.accept("c-" + secrets.token_hex(20), app_id, message_id, now, open_id=open_id)

    def accept(self, token: str, app_id: str, message_id: str, now: float, *, open_id: str = "") -> str:
        """Grant a token made elsewhere (e.g. carried by a generated ``card.action.trigger``) from ``now`` on."""
        if not token.startswith("c-"):
            raise codes.invalid("token", "card tokens start with c-")
        for t in [t for t, g in self._grants.items() if g.expires_at <= now]:
            del self._grants[t]
        self._grants[token] = CardGrant(app_id, message_id, open_id, now + self.life_s, self.uses)
        self._grants.move_to_end(token)
        while len(self._grants) > self.max_tokens:
            self._grants.popitem(last=False)
        return token

    def use(self, token: object, app_id: str, now: float) -> CardGrant:
        """Spend one use of ``token`` for ``app_id``; 230001 when unknown, expired, used up or another app's."""
        if not isinstance(token, str) or not token:
            raise codes.invalid("token", "token is required")
        grant = self._grants.get(token)
        if grant is None or grant.app_id != app_id:
            raise codes.invalid("token", "unknown card token")
        if grant.expires_at <= now:
            raise codes.invalid("token", "card token expired (valid 30 minutes)")
        if grant.uses_left <= 0:
            raise codes.invalid("token", f"card token already used {self.uses} times")
        grant.uses_left -= 1
        return grant

    def __len__(self) -> int:
        return len(self._grants)

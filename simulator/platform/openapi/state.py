"""``OpenApiState``: everything the mock OpenAPI knows, on an injected clock, without sockets.

The chats, people and messages are the run's ``ImWorld`` (one per app, shared with the IM event generators:
``world`` is a provider, e.g. ``platform_worlds(platform)``), so a message the bot sends becomes part of its
chat and a later event can reply to it or react to it. Ids the OpenAPI makes (message ids, reaction ids, keys)
come from a fork of the world's seeded stream, so bot traffic does not shift the events' stream; credentials
(tokens, log ids) come from ``secrets``.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from simulator import constants as C
from simulator.clock import Clock, SystemClock
from simulator.errors import ConfigError
from simulator.generation.families.im.world import ImWorld, Message, world_of
from simulator.generation.population import Person
from simulator.platform.openapi.calls import KEEP_CALLS, CallLog
from simulator.platform.openapi.dedupe import UuidCache
from simulator.platform.openapi.faults import ApiFaults
from simulator.platform.openapi.limits import Limits, RateLimiter
from simulator.platform.openapi.media import MediaStore
from simulator.platform.openapi.scopes import Granted
from simulator.platform.openapi.tokens import CardTokens, TenantTokens
from simulator.rand import SimRandom

MAX_REACTIONS = 10_000
WorldProvider = Callable[[str], ImWorld]


@dataclass
class Reaction:
    reaction_id: str
    message_id: str
    emoji_type: str
    app_id: str
    action_time_ms: int


class OpenApiState:
    """``apps``: app id -> secret (the same apps the platform accepts). ``world``: the ``ImWorld`` of an app.
    ``limits``: the rate limits (``Limits.off()`` for load tests). ``templates``: card template ids visible to
    the apps (None: any). ``keep_calls``: how many call records to retain (counts stay exact). ``scopes``: the
    permission scopes granted to each app (``scopes.py``; None, or an app not named: every scope)."""

    def __init__(self, apps: dict[str, str], world: WorldProvider, *, clock: Clock | None = None,
                 tenant_key: str = C.DEFAULT_TENANT_KEY, limits: Limits | None = None,
                 templates: Collection[str] | None = None, keep_calls: int = KEEP_CALLS,
                 scopes: Granted | None = None) -> None:
        if not apps:
            raise ConfigError("at least one app is required")
        self.apps = apps
        self.clock: Clock = clock or SystemClock()
        self.tenant_key = tenant_key
        self.templates = None if templates is None else frozenset(templates)
        self.scopes = scopes
        self._world = world
        self.tokens = TenantTokens(apps)
        self.cards = CardTokens()
        self.limiter = RateLimiter(limits)
        self.uuids = UuidCache()
        self.calls = CallLog(keep_calls)
        self.faults = ApiFaults()
        self.media = MediaStore()
        self.reactions: OrderedDict[str, Reaction] = OrderedDict()
        self._availability: dict[str, frozenset[str]] = {}  # app id -> open ids in range (absent: everyone)
        self._ids: dict[str, SimRandom] = {}

    # -- the world ------------------------------------------------------------------------------------------
    def world(self, app_id: str | None = None) -> ImWorld:
        return self._world(app_id or self.default_app)

    @property
    def default_app(self) -> str:
        return next(iter(self.apps))

    def ids(self, app_id: str) -> SimRandom:
        """The seeded stream for ids the OpenAPI makes for ``app_id`` (a fork of its world's stream)."""
        r = self._ids.get(app_id)
        if r is None:
            r = self._ids[app_id] = self.world(app_id).rand.fork("openapi")
        return r

    def now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    def new_log_id(self) -> str:
        """An ``X-Tt-Logid``: UTC date-time then 20 random hex digits (from ``secrets``)."""
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(self.clock.now()))
        return stamp + secrets.token_hex(10).upper()

    # -- availability (可用范围) ------------------------------------------------------------------------------
    def set_availability(self, open_ids: Iterable[str] | None, app_id: str | None = None) -> None:
        """Restrict the people ``app_id``'s bot may message to ``open_ids``; None: everyone (the default)."""
        app = app_id or self.default_app
        if open_ids is None:
            self._availability.pop(app, None)
        else:
            self._availability[app] = frozenset(open_ids)

    def available(self, app_id: str, person: Person) -> bool:
        allowed = self._availability.get(app_id)
        return allowed is None or person.open_id(app_id) in allowed

    # -- reactions -------------------------------------------------------------------------------------------
    def add_reaction(self, reaction: Reaction) -> None:
        self.reactions[reaction.reaction_id] = reaction
        while len(self.reactions) > MAX_REACTIONS:
            self.reactions.popitem(last=False)

    # -- card callbacks --------------------------------------------------------------------------------------
    def card_token(self, message_id: str, *, app_id: str | None = None, open_id: str = "") -> str:
        """A ``c-`` token for a ``card.action.trigger`` callback on ``message_id`` (valid 30 minutes, 2 uses of
        ``POST /open-apis/interactive/v1/card/update``)."""
        return self.cards.mint(app_id or self.default_app, message_id, self.clock.now(), open_id=open_id)

    def accept_card_token(self, token: str, message_id: str, *, app_id: str | None = None, open_id: str = "") -> None:
        """Make a ``c-`` token minted elsewhere (a generated click event's ``token``) valid from now on."""
        self.cards.accept(token, app_id or self.default_app, message_id, self.clock.now(), open_id=open_id)

    # -- bot messages --------------------------------------------------------------------------------------
    def bot_messages(self, app_id: str | None = None) -> list[Message]:
        """The messages the bot sent that its world still remembers, oldest first."""
        return [m for m in self.world(app_id).messages.values() if m.from_bot]

    def clear(self) -> None:
        """Forget calls, faults, rate windows, uuids, reactions, uploads and availability; tokens stay valid
        (SDK clients cache them) and so do the world's chats and messages."""
        self.calls.clear()
        self.faults.clear()
        self.limiter = RateLimiter(self.limiter.limits)
        self.uuids.clear()
        self.reactions.clear()
        self.media.clear()
        self._availability.clear()

    def snapshot(self) -> dict[str, Any]:
        now = self.clock.now()
        return {"calls": self.calls.counts(), "faults": self.faults.to_json(), "live_tokens": self.tokens.live(now),
                "card_tokens": len(self.cards), "uuids": len(self.uuids), "reactions": len(self.reactions),
                "uploads": len(self.media), "limits": self.limiter.limits.__dict__,
                "availability": {a: sorted(ids) for a, ids in self._availability.items()},
                "scopes": {a: sorted(granted) for a, granted in (self.scopes or {}).items()}}


def platform_worlds(pusher: Any) -> WorldProvider:
    """The ``ImWorld`` of each app: the one the pusher's event generators use (``pusher.simulator(app_id)``,
    the engine the platform pushes with when no seed is given)."""
    def world(app_id: str) -> ImWorld:
        factory = pusher.simulator(app_id).factory
        ctx = factory.context()
        return world_of(ctx.world, ctx.rand, ctx.population, app_id)
    return world

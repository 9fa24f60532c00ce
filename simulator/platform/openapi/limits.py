"""Rate limits of the mock OpenAPI, sans-IO on an injected time (docs/openapi.md#rate-limits).

Fixed windows, counted exactly: each API allows 50 calls per second and 1000 per minute per app (beyond that
the gateway answers HTTP 429, code 99991400, with ``x-ogw-ratelimit-limit`` / ``x-ogw-ratelimit-reset``);
messages to one recipient (a user, or a group shared by the bots in it) 5 per second (230020); updates of one
message 5 per second (230020). Memory stays bounded: windows that ended are dropped as keys come and go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.errors import ConfigError
from simulator.platform.openapi import codes

MAX_KEYS = 100_000  # live windows kept before ended ones are swept


@dataclass(frozen=True)
class Limits:
    """Allowed calls per window; 0 turns a limit off (e.g. to load-test a bot's own throughput)."""

    api_per_second: int = 50
    api_per_minute: int = 1000
    recipient_per_second: int = 5
    message_update_per_second: int = 5

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"rate limit {name} must be an integer >= 0")

    @classmethod
    def off(cls) -> Limits:
        return cls(0, 0, 0, 0)


@dataclass
class _Window:
    start: float
    count: int


class WindowCounter:
    """Counts events per key in fixed windows of ``width`` seconds aligned to multiples of ``width``."""

    def __init__(self, width: float, *, max_keys: int = MAX_KEYS) -> None:
        self.width = width
        self.max_keys = max_keys
        self._windows: dict[str, _Window] = {}

    def hit(self, key: str, now: float, limit: int) -> float | None:
        """Count one event if the key's window has room: None; otherwise the seconds until the window resets."""
        start = math.floor(now / self.width) * self.width
        w = self._windows.get(key)
        if w is None or w.start != start:
            if w is None and len(self._windows) >= self.max_keys:
                self._sweep(start)
            w = self._windows[key] = _Window(start, 0)
        if w.count >= limit:
            return start + self.width - now
        w.count += 1
        return None

    def _sweep(self, start: float) -> None:
        for key in [k for k, w in self._windows.items() if w.start < start]:
            del self._windows[key]
        while len(self._windows) >= self.max_keys:  # all current: forget the oldest keys (they restart at 0)
            del self._windows[next(iter(self._windows))]

    def __len__(self) -> int:
        return len(self._windows)


class RateLimiter:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._second = WindowCounter(1.0)
        self._minute = WindowCounter(60.0)
        self._recipient = WindowCounter(1.0)
        self._updates = WindowCounter(1.0)

    def api(self, app_id: str, api: str, now: float) -> None:
        """One call of ``api`` by ``app_id``; raises the gateway's 429 refusal when over either window."""
        key = f"{app_id} {api}"
        for counter, limit in ((self._second, self.limits.api_per_second), (self._minute, self.limits.api_per_minute)):
            if limit <= 0:
                continue
            wait = counter.hit(key, now, limit)
            if wait is not None:
                headers = {"x-ogw-ratelimit-limit": str(limit), "x-ogw-ratelimit-reset": str(max(1, math.ceil(wait)))}
                raise codes.refuse(codes.GATEWAY_RATE_LIMIT, f"{api}: {limit} calls per {counter.width:g} s",
                                   status=429, headers=headers)

    def recipient(self, recipient: str, now: float) -> None:
        """One message to ``recipient`` (a chat id, or a user); 230020 over 5 per second."""
        self._check(self._recipient, recipient, self.limits.recipient_per_second, now, "messages to this recipient")

    def message_update(self, message_id: str, now: float) -> None:
        self._check(self._updates, message_id, self.limits.message_update_per_second, now, "updates of this message")

    @staticmethod
    def _check(counter: WindowCounter, key: str, limit: int, now: float, what: str) -> None:
        if limit > 0 and counter.hit(key, now, limit) is not None:
            raise codes.refuse(codes.RECIPIENT_RATE_LIMIT, f"{what}: at most {limit} per second")

    def keys(self) -> int:
        return len(self._second) + len(self._minute) + len(self._recipient) + len(self._updates)

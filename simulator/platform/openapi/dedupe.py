"""The ``uuid`` idempotency key of send and reply, sans-IO (docs/openapi.md#send-a-message).

A second call with the same ``uuid`` (per app) within one hour sends nothing and answers the message the first
call sent. Entries expire after an hour; at most ``max_entries`` are kept (the oldest are forgotten first).
"""

from __future__ import annotations

from collections import OrderedDict

from simulator.platform.openapi import codes

DEDUPE_WINDOW_S = 3600.0
MAX_ENTRIES = 100_000
MAX_UUID_LEN = 50


class UuidCache:
    def __init__(self, *, window_s: float = DEDUPE_WINDOW_S, max_entries: int = MAX_ENTRIES) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()  # -> (message id, expiry)

    @staticmethod
    def key_of(uuid: object) -> str:
        """The uuid of a request body ("" when absent); 230001 for a non-string or one over 50 characters."""
        if uuid is None or uuid == "":
            return ""
        if not isinstance(uuid, str) or len(uuid) > MAX_UUID_LEN:
            raise codes.invalid("uuid", f"uuid must be a string of at most {MAX_UUID_LEN} characters")
        return uuid

    def seen(self, app_id: str, uuid: str, now: float) -> str | None:
        """The message id an earlier call with this uuid sent, while the hour lasts."""
        if not uuid:
            return None
        self._expire(now)
        hit = self._seen.get((app_id, uuid))
        return hit[0] if hit is not None else None

    def remember(self, app_id: str, uuid: str, message_id: str, now: float) -> None:
        if not uuid:
            return
        self._seen[(app_id, uuid)] = (message_id, now + self.window_s)
        self._seen.move_to_end((app_id, uuid))
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._seen:
            key, (_, expiry) = next(iter(self._seen.items()))
            if expiry > now:
                break
            del self._seen[key]

    def clear(self) -> None:
        self._seen.clear()

    def __len__(self) -> int:
        return len(self._seen)

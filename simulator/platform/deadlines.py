"""The earliest ack deadline over all connections, sans-IO: a heap with one live entry per key.

The platform keeps one timer for the whole queue, armed at ``next()``: when it fires, ``pop_due(now)``
names the connections whose session may have something to ``expire``, and each is scheduled again at
its session's ``next_deadline()``. A key that is already due earlier keeps its entry (the session's
next deadline can only be later), so sending a message costs one dictionary lookup. Entries that an
earlier ``schedule`` or a ``discard`` replaced stay in the heap until they surface and are skipped.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class DeadlineQueue(Generic[K]):
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, K]] = []
        self._at: dict[K, float] = {}
        self._order = itertools.count()

    def schedule(self, key: K, when: float) -> bool:
        """Wake ``key`` at ``when``, unless it is due at or before that already. True when an entry was
        added (the caller's timer may have to fire earlier)."""
        at = self._at.get(key)
        if at is not None and at <= when:
            return False
        self._at[key] = when
        heapq.heappush(self._heap, (when, next(self._order), key))
        return True

    def discard(self, key: K) -> None:
        self._at.pop(key, None)

    def next(self) -> float | None:
        """The earliest wake-up time, or ``None`` when nothing is scheduled."""
        heap, at = self._heap, self._at
        while heap:
            when, _, key = heap[0]
            if at.get(key) == when:
                return when
            heapq.heappop(heap)  # replaced or discarded
        return None

    def pop_due(self, now: float) -> list[K]:
        """The keys due at ``now``, earliest first; they are no longer scheduled."""
        heap, at = self._heap, self._at
        due: list[K] = []
        while heap and heap[0][0] <= now:
            when, _, key = heapq.heappop(heap)
            if at.get(key) == when:
                del at[key]
                due.append(key)
        return due

    def __len__(self) -> int:
        return len(self._at)

    def __contains__(self, key: object) -> bool:
        return key in self._at

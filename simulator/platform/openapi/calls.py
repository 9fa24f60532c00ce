"""The record of every OpenAPI call the bot made: bounded, with exact running counts, safe across threads.

The platform's event loop appends; tests read from their own thread and may block in ``wait`` until a call
matching a predicate arrives (a condition variable, always with a timeout).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

KEEP_CALLS = 10_000
KEEP_BYTES = 64 * 1024 * 1024  # request and answer bytes of the retained calls (a text message can be 150 KB)


@dataclass(frozen=True)
class ApiCall:
    """One call: what the bot asked (``method``, ``path``, ``query``, JSON ``body``) and what it was answered
    (HTTP ``status``, ``code``, the JSON ``answer``; for binary answers a summary). ``api`` names the endpoint
    (``"POST /open-apis/im/v1/messages/:message_id/reply"``), ``app_id`` the caller ("" before authentication),
    ``time`` is platform time."""

    seq: int
    time: float
    method: str
    path: str
    api: str
    query: dict[str, str]
    body: Any
    status: int
    code: int
    answer: Any
    app_id: str = ""
    log_id: str = ""
    latency_ms: float = 0.0
    size: int = 0  # bytes of request and answer bodies, for the log's memory bound

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.code == 0

    @property
    def data(self) -> dict[str, Any]:
        """The answer's ``data`` object ({} when absent)."""
        data = self.answer.get("data") if isinstance(self.answer, dict) else None
        return data if isinstance(data, dict) else {}

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "method": self.method, "path": self.path, "api": self.api,
                "query": self.query, "body": self.body, "status": self.status, "code": self.code,
                "answer": self.answer, "app_id": self.app_id, "log_id": self.log_id,
                "latency_ms": round(self.latency_ms, 3)}

    def transcript_json(self) -> dict[str, Any]:
        """``to_json`` without the credential a token call answers (``tenant_access_token`` masked): what the
        transcript's ``api_call`` lines hold."""
        data = self.to_json()
        if isinstance(self.answer, dict) and "tenant_access_token" in self.answer:
            data["answer"] = {**self.answer, "tenant_access_token": "***"}
        return data

    def line(self) -> str:
        return f"#{self.seq} {self.method} {self.path} -> {self.status} code {self.code}"


class CallLog:
    """The newest ``keep`` calls (and at most ``keep_bytes`` of their bodies), plus exact counts of all of them
    (total, per API, per answer code)."""

    def __init__(self, keep: int = KEEP_CALLS, keep_bytes: int = KEEP_BYTES) -> None:
        self.keep = keep
        self.keep_bytes = keep_bytes
        self._bytes = 0
        self._calls: deque[ApiCall] = deque()
        self._cond = threading.Condition()
        self.total = 0
        self._seq = 0
        self.per_api: Counter[str] = Counter()
        self.per_code: Counter[int] = Counter()
        # Called with every recorded call, outside the lock (e.g. the transcript's ``api_call`` lines).
        self.listeners: list[Callable[[ApiCall], None]] = []

    @property
    def last_seq(self) -> int:
        """Sequence number of the newest call (they keep counting across ``clear``)."""
        with self._cond:
            return self._seq

    def add(self, call: ApiCall) -> ApiCall:
        """Record ``call`` under the next sequence number; the recorded call."""
        with self._cond:
            self._seq += 1
            call = replace(call, seq=self._seq)
            self._calls.append(call)
            self._bytes += call.size
            while len(self._calls) > 1 and (len(self._calls) > self.keep or self._bytes > self.keep_bytes):
                self._bytes -= self._calls.popleft().size
            self.total += 1
            self.per_api[call.api] += 1
            self.per_code[call.code] += 1
            self._cond.notify_all()
        for listener in self.listeners:
            listener(call)
        return call

    def calls(self) -> list[ApiCall]:
        with self._cond:
            return list(self._calls)

    def since(self, seq: int) -> list[ApiCall]:
        """The retained calls after sequence number ``seq``, oldest first (read from the newest end)."""
        with self._cond:
            newer: list[ApiCall] = []
            for call in reversed(self._calls):
                if call.seq <= seq:
                    break
                newer.append(call)
            newer.reverse()
            return newer

    def counts(self) -> dict[str, Any]:
        with self._cond:
            return {"total": self.total, "retained": len(self._calls), "per_api": dict(self.per_api),
                    "per_code": {str(k): v for k, v in self.per_code.items()}}

    def wait(self, predicate: Callable[[ApiCall], bool], timeout: float, *, since: int = 0) -> ApiCall | None:
        """The first retained call after sequence number ``since`` matching ``predicate``, waiting up to
        ``timeout`` seconds (real time) for it; None on timeout."""
        def find() -> ApiCall | None:
            return next((c for c in self._calls if c.seq > since and predicate(c)), None)

        with self._cond:
            found: list[ApiCall | None] = [None]

            def ready() -> bool:
                found[0] = find()
                return found[0] is not None

            self._cond.wait_for(ready, timeout)
            return found[0]

    def clear(self) -> None:
        with self._cond:
            self._calls.clear()
            self._bytes = 0
            self.total = 0
            self.per_api.clear()
            self.per_code.clear()

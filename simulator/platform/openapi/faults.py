"""Faults on demand for the mock OpenAPI: fail or slow down the next N calls of a path and method.

A rule matches a call by HTTP ``method`` (``"*"``: any) and ``path`` (a glob such as
``/open-apis/im/v1/messages/*/reply``; ``"*"``: any). Each matching call spends one of the rule's ``count``
uses (``count=0``: until cleared); the first matching rule wins. A rule with ``code`` answers that platform code
with ``status`` (400 by default; 429 for 99991400); ``latency_ms`` delays the answer. Rules are set through the
control API (``/_sim/openapi/faults``) or ``server.api.fail(...)``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass
from typing import Any

from simulator.errors import ConfigError

MAX_RULES = 100
MAX_LATENCY_MS = 60_000


@dataclass
class FaultRule:
    path: str = "*"
    method: str = "*"
    count: int = 1
    code: int | None = None
    status: int = 400
    msg: str = ""
    latency_ms: float = 0.0
    used: int = 0

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if not self.path or not (self.path == "*" or self.path.startswith("/")):
            raise ConfigError("fault path must be '*' or start with '/'")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 0:
            raise ConfigError("fault count must be an integer >= 0 (0: until cleared)")
        if self.code is not None and (isinstance(self.code, bool) or not isinstance(self.code, int)):
            raise ConfigError("fault code must be an integer")
        if isinstance(self.status, bool) or not isinstance(self.status, int) or not 200 <= self.status <= 599:
            raise ConfigError("fault status must be an HTTP status (200-599)")
        if isinstance(self.latency_ms, bool) or not isinstance(self.latency_ms, (int, float)) \
                or not 0 <= self.latency_ms <= MAX_LATENCY_MS:
            raise ConfigError(f"fault latency_ms must be between 0 and {MAX_LATENCY_MS}")
        if self.code is None and self.latency_ms == 0:
            raise ConfigError("a fault needs a code, a latency_ms, or both")

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> FaultRule:
        known = {"path", "method", "count", "code", "status", "msg", "latency_ms"}
        unknown = set(doc) - known
        if unknown:
            raise ConfigError(f"unknown fault keys: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        rule = cls(**doc)
        if rule.code is not None and "status" not in doc and rule.code == 99991400:
            rule.status = 429
        return rule

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and (self.path == "*" or fnmatch.fnmatchcase(path, self.path))

    @property
    def exhausted(self) -> bool:
        return self.count > 0 and self.used >= self.count

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ApiFaults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        if len(self.rules) >= MAX_RULES:
            raise ConfigError(f"at most {MAX_RULES} fault rules")
        self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that applies to this call (one use spent), or None."""
        for rule in self.rules:
            if rule.matches(method, path) and not rule.exhausted:
                rule.used += 1
                if rule.exhausted:
                    self.rules.remove(rule)
                return rule
        return None

    def clear(self) -> None:
        self.rules.clear()

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.rules]

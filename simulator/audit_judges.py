"""The audit's records and judges (``simulator/audit.py`` builds and sends the cases): what came back for
one request (``Answer``), a case (``Case``: the request and its ``Judge``), its grade and the report.

A judge turns an answer into ``(Grade, reason)``: PASS when the receiver did what a secure receiver does,
FAIL when it accepted a forged or malformed request, hung on it, refused a valid one or answered a callback
wrongly, ADVISORY for a hardening the official SDKs lack too. Rejection means "not 2xx"; a closed or reset
connection also counts as a refusal, a refused TCP connect means the receiver is gone (FAIL).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator import constants as C
from simulator.verdicts import answers
from simulator.verdicts.ack import http_acked
from simulator.verdicts.model import Outcome


class Grade(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    ADVISORY = "ADVISORY"

    def __str__(self) -> str:
        return self.value


@dataclass
class Answer:
    """What came back: an HTTP status and body, or no answer (``outcome`` timeout / connection_error)."""

    outcome: Outcome
    status: int | None = None
    body: str = ""
    detail: str = ""
    latency_ms: float = 0.0
    handled: int | None = None  # what the ``handled`` probe said after this answer (None: no probe)
    judged: answers.Answer | None = None  # a callback case's answer, judged (``simulator/audit_callbacks.py``)

    @property
    def accepted(self) -> bool:
        """Any 2xx: the receiver took the request (a FAIL for a forged one)."""
        return self.status is not None and http_acked(self.status, accept_2xx=True)

    @property
    def acked(self) -> bool:
        """What the platform counts as delivered (HTTP 200)."""
        return self.status is not None and http_acked(self.status)

    @property
    def unreachable(self) -> bool:
        return self.outcome is Outcome.CONNECTION_ERROR and self.detail.startswith("ConnectError")

    def describe(self) -> str:
        if self.status is not None:
            body = self.body.strip().replace("\n", " ")
            body = body if len(body) <= 120 else body[:117] + "..."
            return f"HTTP {self.status}" + (f" {body}" if body else "")
        return self.detail or str(self.outcome)


Judge = Callable[[Answer], tuple[Grade, str]]


@dataclass
class Case:
    name: str
    title: str
    body: bytes
    headers: dict[str, str]
    judge: Judge
    key: str | None = None  # the business key the ``handled`` probe is asked about after the answer
    answer: answers.AnswerKind | None = None  # a callback: judge the 200 answer's body as this kind


@dataclass
class CaseResult:
    name: str
    title: str
    grade: Grade
    reason: str
    status: int | None
    latency_ms: float

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "grade": str(self.grade), "reason": self.reason,
                "status": self.status, "latency_ms": round(self.latency_ms, 3)}

    def line(self) -> str:
        return f"{self.grade!s:<9} {self.name:<22} {self.reason}"


@dataclass
class Report:
    target: str
    results: list[CaseResult] = field(default_factory=list)

    def count(self, grade: Grade) -> int:
        return sum(1 for r in self.results if r.grade is grade)

    @property
    def ok(self) -> bool:
        return self.count(Grade.FAIL) == 0

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "ok": self.ok,
                "summary": {g.value.lower(): self.count(g) for g in Grade},
                "cases": [r.to_json() for r in self.results]}

    def summary_line(self) -> str:
        return (f"{self.count(Grade.PASS)} PASS, {self.count(Grade.FAIL)} FAIL, {self.count(Grade.ADVISORY)} ADVISORY"
                f" -> {self.target}")


# -- judges ----------------------------------------------------------------------------------------
def _unless_silent(a: Answer, budget_s: float, answered: tuple[Grade, str]) -> tuple[Grade, str]:
    """``answered`` if the receiver answered at all; a FAIL if it was unreachable or hung."""
    if a.unreachable:
        return Grade.FAIL, f"receiver not reachable ({a.detail}): did an earlier request crash it?"
    if a.outcome is Outcome.TIMEOUT:
        return Grade.FAIL, f"no answer within {budget_s:g} s: a bad request must be refused promptly, not hang"
    return answered


def must_accept(budget_s: float) -> Judge:
    def judge(a: Answer) -> tuple[Grade, str]:
        if a.acked:
            return Grade.PASS, f"accepted: HTTP 200 in {a.latency_ms:.1f} ms"
        if a.accepted:
            return Grade.FAIL, f"answered HTTP {a.status}: the platform counts only 200 as delivered and retries"
        if a.outcome is Outcome.TIMEOUT:
            return Grade.FAIL, f"no answer within {budget_s:g} s: the platform counts it failed and retries"
        return Grade.FAIL, f"a valid, correctly sealed event was refused: {a.describe()}"
    return judge


def must_refuse(why_bad: str, budget_s: float) -> Judge:
    """For forged or malformed requests: any 2xx is a FAIL that says what was accepted."""
    def judge(a: Answer) -> tuple[Grade, str]:
        if a.accepted:
            return Grade.FAIL, f"accepted ({a.describe()}) {why_bad}"
        return _unless_silent(a, budget_s, (Grade.PASS, f"refused: {a.describe()}"))
    return judge


def advisory_if_accepted(advice: str, budget_s: float) -> Judge:
    """For hardenings the official SDKs lack: refusing is a PASS, accepting an ADVISORY."""
    def judge(a: Answer) -> tuple[Grade, str]:
        if a.accepted:
            return Grade.ADVISORY, f"accepted ({a.describe()}); {advice}"
        return _unless_silent(a, budget_s, (Grade.PASS, f"refused: {a.describe()}"))
    return judge


def duplicate_judge(budget_s: float) -> Judge:
    def judge(a: Answer) -> tuple[Grade, str]:
        if a.acked:
            return Grade.ADVISORY, ("answered 200, as it must (anything else makes the platform retry); whether it "
                                    "processed the event twice is not visible from outside: dedupe on "
                                    "header.event_id (semantics §1.3)")
        return _unless_silent(a, budget_s, (
            Grade.ADVISORY, f"refused a duplicate ({a.describe()}): the platform would retry it up to 4 times; "
                            "answer 200 and skip the work instead"))
    return judge


def challenge_refused(value: str, budget_s: float) -> Judge:
    """The console binds the URL when it gets HTTP 200 echoing the value; anything else is harmless."""
    def judge(a: Answer) -> tuple[Grade, str]:
        if a.accepted and value in a.body:
            return Grade.FAIL, ("echoed the challenge although its token is wrong: anyone can bind this URL to "
                                "another app (the SDK checks the token before answering)")
        return _unless_silent(a, budget_s, (Grade.PASS, f"not echoed: {a.describe()}"))
    return judge


def challenge_answered(value: str, budget_s: float) -> Judge:
    def judge(a: Answer) -> tuple[Grade, str]:
        if a.status != 200:
            return Grade.FAIL, f"the URL-verification challenge was not answered: {a.describe()}"
        try:
            doc = json.loads(a.body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or doc.get("challenge") != value:
            return Grade.FAIL, f"answered 200 but did not echo {{\"challenge\": ...}}: {a.describe()}"
        if a.latency_ms > C.CHALLENGE_BUDGET_S * 1000:
            return Grade.FAIL, f"echoed, but in {a.latency_ms:.0f} ms; the console allows 1 s (semantics §1.5)"
        return Grade.PASS, f"echoed in {a.latency_ms:.1f} ms"
    return judge

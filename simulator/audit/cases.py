"""``audit``: a security report card for a webhook receiver.

Every case is one HTTP request an attacker (or a broken network) could send, built here without IO
(``CaseBuilder.build``), sent in order by ``run_audit``, and graded from the answer:

* **PASS** -- the receiver did what a secure receiver does (refused a forged request, accepted the real
  one);
* **FAIL** -- it accepted a forged or malformed request (any 2xx), hung on it, refused a valid event, or
  echoed a challenge whose token is wrong;
* **ADVISORY** -- a hardening the official SDKs do not implement either (docs/protocol.md#webhook-request-shape: no
timestamp
  window, no replay protection) or a property not observable from outside (duplicate processing).

A type with a business dedupe key (``im.message.receive_v1``) also gets ``redelivered_message``
(``audit_redelivery.py``): the same message under a new event_id, graded with the caller's ``handled`` probe.

Grounds (docs/protocol.md#signature, docs/protocol.md#verification-token, docs/protocol.md#url-verification-challenge,
docs/protocol.md#handler-responses, docs/semantics.md#url-verification, docs/semantics.md#encryption,
docs/semantics.md#signature): with an encrypt key the official Python SDK checks the
signature on every request except the challenge (500 on failure, also when the headers are missing),
decrypts with strict PKCS#7, checks ``header.token`` whenever one is present, answers the challenge only
after the token check, and answers 500 to a body that is not JSON. It sets no limit on the body size: that
is the web server's job in front of it (``oversized_body`` sends a validly sealed 2 MiB event, which a
receiver without a limit accepts and FAILs). A receiver built on the SDK behind a server that limits bodies
passes every case; so does the reference receiver (``receiver.py``). A receiver that answers 200 to
everything fails.

Rejection means "not 2xx": the platform counts only HTTP 200 as delivered, and for a forged request the
exact error status does not matter (the SDK answers 500, the reference receiver 400/401/413). A closed or
reset connection also counts as a refusal; a refused TCP connect means the receiver is gone (FAIL).
"""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator import constants as C
from simulator.clock import Clock
from simulator.config import AppProfile
from simulator.errors import ConfigError
from simulator.generation.factory import EventFactory
from simulator.rand import SimRandom
from simulator.verdicts import answers
from simulator.verdicts.ack import http_acked
from simulator.verdicts.model import Outcome
from simulator.wire.envelope import challenge
from simulator.wire.seal import SealedRequest, Sealer, canonical_json, sign

STALE_AGE_S = 24 * 3600.0  # a day old: far outside any sane replay window
# Real events are a few KiB; the SDK frame limit is 1 MiB (docs/protocol.md#data-frames-and-fragmentation).
OVERSIZED_BYTES = 2 * 1024 * 1024 + 1


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
    judged: answers.Answer | None = None  # a callback case's answer, judged (``simulator/audit/callbacks.py``)

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


def _refusal_passes(if_accepted: Grade, note: str, budget_s: float) -> Judge:
    """Refusing promptly is a PASS; accepting (any 2xx) is ``if_accepted``, its reason followed by ``note``."""
    def judge(a: Answer) -> tuple[Grade, str]:
        if a.accepted:
            return if_accepted, f"accepted ({a.describe()}){note}"
        return _unless_silent(a, budget_s, (Grade.PASS, f"refused: {a.describe()}"))
    return judge


def must_refuse(why_bad: str, budget_s: float) -> Judge:
    """For forged or malformed requests: any 2xx is a FAIL that says what was accepted."""
    return _refusal_passes(Grade.FAIL, f" {why_bad}", budget_s)


def advisory_if_accepted(advice: str, budget_s: float) -> Judge:
    """For hardenings the official SDKs lack: refusing is a PASS, accepting an ADVISORY."""
    return _refusal_passes(Grade.ADVISORY, f"; {advice}", budget_s)


def duplicate_judge(budget_s: float) -> Judge:
    def judge(a: Answer) -> tuple[Grade, str]:
        if a.acked:
            return Grade.ADVISORY, ("answered 200, as it must (anything else makes the platform retry); whether it "
                                    "processed the event twice is not visible from outside: dedupe on "
                                    "header.event_id (docs/semantics.md#dedupe-and-event_id-reuse)")
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
            # the console allows 1 s (docs/semantics.md#url-verification)
            return Grade.FAIL, f"echoed, but in {a.latency_ms:.0f} ms; the console allows 1 s"
        return Grade.PASS, f"echoed in {a.latency_ms:.1f} ms"
    return judge


# -- building the requests (no IO) -------------------------------------------------------------------
class CaseBuilder:
    """Seals the audit's requests for one app, deterministically from ``rand`` and ``clock``."""

    def __init__(self, app: AppProfile, *, rand: SimRandom, clock: Clock, event_type: str, budget_s: float,
                 extra: Callable[[CaseBuilder, dict[str, Any]], list[Case]] | None = None) -> None:
        if not app.encrypt_key:
            raise ConfigError("audit needs --encrypt-key (the key the receiver is configured with)")
        if not app.verification_token:
            raise ConfigError("audit needs --verification-token (the token the receiver is configured with)")
        self.app = app
        self.key: str = app.encrypt_key
        self.token: str = app.verification_token
        self.rand = rand
        self.clock = clock
        self.event_type = event_type
        self.budget_s = budget_s
        self.factory = EventFactory(app=app, rand=rand.fork("audit-events"), clock=clock)
        self.sealer = Sealer(self.key, rand.fork("audit-seal"))
        # Cases of other modules (``simulator.audit.redelivery``), built from a valid plaintext event.
        self._extra = extra

    def extra_cases(self, event: dict[str, Any]) -> list[Case]:
        return self._extra(self, event) if self._extra is not None else []

    def event(self, **header: Any) -> dict[str, Any]:
        env = self.factory.generate(self.event_type)
        env["header"].update(header)
        return env

    def seal(self, payload: dict[str, Any] | bytes, *, age_s: float = 0.0, key: str | None = None) -> SealedRequest:
        sealer = self.sealer if key is None else Sealer(key, self.rand.fork("audit-other-key"))
        return sealer.seal(payload, timestamp=int(self.clock.now() - age_s))

    def signed(self, body: bytes) -> dict[str, str]:
        """Valid signature headers for arbitrary bytes (isolates the check a case is about)."""
        ts = str(int(self.clock.now()))
        nonce = str(self.rand.randint(C.NONCE_MIN, C.NONCE_MAX))
        return {"Content-Type": C.CONTENT_TYPE_JSON, C.HEADER_REQUEST_ID: self.rand.uuid(),
                C.HEADER_TIMESTAMP: ts, C.HEADER_NONCE: nonce, C.HEADER_SIGNATURE: sign(ts, nonce, self.key, body)}

    def oversized_event(self, size: int) -> SealedRequest:
        """A valid event, correctly sealed, whose body is at least ``size`` bytes: only a size limit refuses it
        (random ciphertext would be refused by the decryption check as well)."""
        env = self.event()
        env["event"]["filler"] = ""
        base = len(self.seal(env).body)
        # The body is '{"encrypt":"' + base64(IV + ciphertext) + '"}': 4/3 of the plaintext, plus a block.
        env["event"]["filler"] = self.rand.alnum(1, lower=True) * max(0, (size - base) * 3 // 4 + 16)
        sealed = self.seal(env)
        assert len(sealed.body) >= size
        return sealed

    def build(self) -> list[Case]:
        b = self.budget_s
        cases: list[Case] = []

        valid = self.seal(self.event())
        cases.append(Case("valid_event", "a valid, sealed event is accepted", valid.body, valid.headers,
                          must_accept(b)))

        # One bit of the IV flipped: CBC decrypts the first block with "2.0" turned into "2.1" and the rest
        # intact, so only a signature check over the raw body notices.
        t = self.seal(self.event())
        tampered = _flip_schema_bit(t.body)
        cases.append(Case("tampered_body", "a body altered in transit is refused", tampered, t.headers,
                          must_refuse("-- one ciphertext bit was flipped under the original signature "
                                      "(schema 2.0 decrypts as 2.1): the signature over the raw body is not checked",
                                      b)))

        s = self.seal(self.event())
        bad = dict(s.headers)
        bad[C.HEADER_SIGNATURE] = sign(s.timestamp, s.nonce, self.key + "x", s.body)
        cases.append(Case("bad_signature", "a wrong X-Lark-Signature is refused", s.body, bad,
                          must_refuse("-- X-Lark-Signature does not match the body: signatures are not verified", b)))

        m = self.seal(self.event())
        missing = {k: v for k, v in m.headers.items()
                   if k not in (C.HEADER_TIMESTAMP, C.HEADER_NONCE, C.HEADER_SIGNATURE)}
        cases.append(Case("missing_signature", "a request without X-Lark-* signature headers is refused", m.body,
                          missing, must_refuse("-- no signature headers at all: unsigned requests get through", b)))

        w = self.seal(self.event(), key=self.key + "-not-yours")
        cases.append(Case("wrong_encrypt_key", "an event sealed with another app's encrypt key is refused", w.body,
                          w.headers, must_refuse("-- encrypted and signed with a different key", b)))

        garbage = canonical_json({"encrypt": base64.b64encode(self.rand.token_bytes(80)).decode("ascii")})
        cases.append(Case("garbage_ciphertext", "ciphertext that does not decrypt is refused", garbage,
                          self.signed(garbage), must_refuse("-- the ciphertext is random bytes", b)))

        plain = canonical_json(self.event(token="wrong-" + self.rand.alnum(26)))
        cases.append(Case("wrong_token_plaintext", "a plaintext event with a wrong verification token is refused",
                          plain, self.signed(plain),
                          must_refuse("-- header.token is not the app's verification token", b)))

        value = self.rand.alnum(20, lower=True)
        ch = self.seal(challenge(value, "wrong-" + self.rand.alnum(26)))
        cases.append(Case("challenge_wrong_token", "a challenge with a wrong token is not echoed", ch.body,
                          ch.headers, challenge_refused(value, b)))

        good_value = self.rand.alnum(20, lower=True)
        gc = self.seal(challenge(good_value, self.token))
        cases.append(Case("challenge_answered", "the URL-verification challenge is echoed within 1 s", gc.body,
                          gc.headers, challenge_answered(good_value, b)))

        junk = b"this is not JSON"
        cases.append(Case("non_json_body", "a body that is not JSON is refused", junk, self.signed(junk),
                          must_refuse("-- the body is not JSON", b)))

        big = self.oversized_event(OVERSIZED_BYTES)
        cases.append(Case("oversized_body", f"a {len(big.body) // 1024} KiB event is refused", big.body, big.headers,
                          must_refuse(f"-- a validly sealed event of {len(big.body) // 1024} KiB (real events are a "
                                      "few KiB): nothing limits the body size, so any client can make the receiver "
                                      "buffer and decrypt arbitrarily large bodies", b)))

        stale = self.seal(self.event(), age_s=STALE_AGE_S)
        cases.append(Case("stale_timestamp", "a request signed a day ago is refused (ADVISORY)", stale.body,
                          stale.headers,
                          advisory_if_accepted("X-Lark-Request-Timestamp is a day old; the official SDKs do not check "
                                               "it either (docs/protocol.md#webhook-request-shape), but refusing "
                                               "timestamps older than a few minutes limits replays", b)))

        cases.append(Case("replayed_signature", "a byte-identical replay of an accepted request is refused (ADVISORY)",
                          valid.body, dict(valid.headers),
                          advisory_if_accepted("the same timestamp, nonce and signature were accepted twice; the "
                                               "official SDKs do not track nonces either", b)))

        dup = self.seal(json.loads(_plaintext_of(self, valid.body)))
        cases.append(Case("duplicate_event_id", "an event_id seen before, sealed afresh (ADVISORY)", dup.body,
                          dup.headers, duplicate_judge(b)))

        cases += self.extra_cases(json.loads(_plaintext_of(self, valid.body)))

        after = self.seal(self.event())
        cases.append(Case("still_accepting", "a valid event is still accepted after the bad requests", after.body,
                          after.headers, must_accept(b)))
        return cases


def _plaintext_of(builder: CaseBuilder, body: bytes) -> bytes:
    return builder.sealer.cipher.decrypt(json.loads(body)["encrypt"]) if builder.sealer.cipher else body


def _flip_schema_bit(body: bytes) -> bytes:
    """Flip the IV bit under the '0' of ``{"schema":"2.0",`` (plaintext offset 13) so it decrypts to '1'."""
    raw = bytearray(base64.b64decode(json.loads(body)["encrypt"]))
    raw[13] ^= ord("0") ^ ord("1")
    return canonical_json({"encrypt": base64.b64encode(bytes(raw)).decode("ascii")})

"""``audit`` for callbacks: what the answers of a card or link-preview callback receiver are graded on, and the
legacy card request URL's own signature cases (``run.py`` sends and grades them).

For ``card.action.trigger`` / ``url.preview.get`` (sealed like events, so the event cases apply too) and for
the legacy card request, three valid requests check the answers (docs/events.md#card-action-answers):

* ``callback_answer``: HTTP 200 with an answer valid for that callback (the answer's size aside);
* ``answer_size``: the answered card within 30 KB, the whole answer within the simulator's 1 MiB bound
  (a huge card shows the user an error instead of the card);
* ``answer_latency``: answered within the 3 s budget (FAIL: the callback failed; no retry will come),
  with ADVISORY past half of it (little room left for the network between the platform and the app).

A legacy card request URL (``--legacy-card``) is graded on its SHA-1 signature as well (``lark_oapi.card.
CardActionHandler`` answers 500 to each of these): a valid request, one signed with another token, one
signed with the *event* algorithm (SHA-256 keyed by the Encrypt Key, the mistake of reusing an event
receiver's check), one without signature headers, a body altered after signing, the URL-verification
challenge with a wrong token (not to be echoed) and with the right one (echoed within 1 s).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from simulator import constants as C
from simulator.audit.cases import Answer, Case, Grade, Judge, challenge_answered, challenge_refused, must_refuse
from simulator.clock import Clock
from simulator.config import AppProfile
from simulator.errors import ConfigError
from simulator.generation.factory import EventFactory
from simulator.generation.families.callbacks.legacy import CLICK, legacy_request
from simulator.rand import SimRandom
from simulator.verdicts.answers import MAX_ANSWER_BYTES, AnswerKind, judge_answer
from simulator.verdicts.answers import Answer as CallbackAnswer
from simulator.verdicts.model import Outcome
from simulator.wire.legacy_card import SIGNATURE_HEADER, legacy_body, legacy_card_headers, legacy_challenge_body
from simulator.wire.seal import canonical_json

CALLBACK_CASES = ("callback_answer", "answer_size", "answer_latency")


# -- judges of answers -------------------------------------------------------------------------------------

def _no_answer(a: Answer, budget_s: float) -> tuple[Grade, str] | None:
    """A FAIL when there is no 200 answer to judge, else None."""
    if a.judged is not None and a.acked and a.outcome is not Outcome.TIMEOUT:
        return None
    if a.outcome is Outcome.TIMEOUT:
        return Grade.FAIL, (f"no answer within {budget_s:g} s: the callback failed (the user sees an error) and "
                            "callbacks are not retried")
    return Grade.FAIL, f"a valid callback was not answered with HTTP 200: {a.describe()}"


def _split(judged: CallbackAnswer) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(structural problems, size problems) of a judged answer."""
    if judged.length > MAX_ANSWER_BYTES or judged.body is None:
        sized = tuple(p for p in judged.problems if "bytes (limit" in p)
        return tuple(p for p in judged.problems if p not in sized), sized
    structural = judge_answer(judged.kind, judged.raw, max_card_bytes=None).problems
    return structural, tuple(p for p in judged.problems if p not in structural)


def _answered(grade: Callable[[Answer, CallbackAnswer, float], tuple[Grade, str]]) -> Callable[[float], Judge]:
    """An answer case's judge (made for a budget): a FAIL when there is no 200 answer (``_no_answer``), else
    ``grade(answer, its judged callback answer, budget_s)``."""
    def make(budget_s: float) -> Judge:
        def judge(a: Answer) -> tuple[Grade, str]:
            missing = _no_answer(a, budget_s)
            if missing is not None:
                return missing
            assert a.judged is not None
            return grade(a, a.judged, budget_s)
        return judge
    return make


@_answered
def valid_answer(a: Answer, judged: CallbackAnswer, budget_s: float) -> tuple[Grade, str]:
    structural, _ = _split(judged)
    if structural:
        return Grade.FAIL, f"answered 200 with an invalid {judged.kind} answer: {'; '.join(structural)}"
    return Grade.PASS, f"answered {judged.describe()} in {a.latency_ms:.1f} ms"


@_answered
def answer_size(a: Answer, judged: CallbackAnswer, budget_s: float) -> tuple[Grade, str]:
    _, sized = _split(judged)
    if sized:
        return Grade.FAIL, f"oversized answer: {sized[0]}"
    return Grade.PASS, f"{judged.length:,} bytes"


@_answered
def answer_latency(a: Answer, judged: CallbackAnswer, budget_s: float) -> tuple[Grade, str]:
    if a.latency_ms > budget_s * 500:
        return Grade.ADVISORY, (f"answered in {a.latency_ms:.0f} ms: within the {budget_s:g} s budget, but past "
                                "half of it; answer first and do slow work afterwards (delayed card update)")
    return Grade.PASS, f"answered in {a.latency_ms:.1f} ms"


def answer_cases(kind: AnswerKind, request: Callable[[], tuple[bytes, dict[str, str]]],
                 budget_s: float) -> list[Case]:
    """The three answer cases; ``request()`` makes a fresh valid ``(body, headers)`` each time."""
    made = [request() for _ in range(3)]
    return [Case("callback_answer", "a valid callback gets a valid answer", *made[0], valid_answer(budget_s),
                 answer=kind),
            Case("answer_size", "the answer stays within 30 KB per card", *made[1], answer_size(budget_s),
                 answer=kind),
            Case("answer_latency", "the answer comes well within 3 s", *made[2], answer_latency(budget_s),
                 answer=kind)]


def callback_cases(event_cases: list[Case], request: Callable[[], tuple[bytes, dict[str, str]]], kind: AnswerKind,
                   budget_s: float) -> list[Case]:
    """A callback URL's cases: the event cases (it is sealed like events; without the duplicate case: the
    platform never re-sends a callback), with the answer cases on fresh valid requests before the last one."""
    cases = [c for c in event_cases if c.name != "duplicate_event_id"]
    return [*cases[:-1], *answer_cases(kind, request, budget_s), cases[-1]]


# -- the legacy card request URL ---------------------------------------------------------------------------

class LegacyCaseBuilder:
    """The legacy card request URL's cases for one app (its Verification Token signs; no encryption)."""

    def __init__(self, app: AppProfile, *, rand: SimRandom, clock: Clock, budget_s: float) -> None:
        if not app.verification_token:
            raise ConfigError("audit --legacy-card needs --verification-token (the token the receiver is "
                              "configured with)")
        self.token: str = app.verification_token
        self.key = app.encrypt_key or self.token  # the event algorithm's key, for the wrong-algorithm case
        self.rand = rand
        self.clock = clock
        self.budget_s = budget_s
        self.factory = EventFactory(app=app, rand=rand.fork("audit-clicks"), clock=clock)

    def body(self) -> bytes:
        return legacy_body(legacy_request(self.factory.generate(CLICK)))

    def signed(self, body: bytes, *, token: str | None = None) -> dict[str, str]:
        ts = str(int(self.clock.now()))
        nonce = str(self.rand.randint(C.NONCE_MIN, C.NONCE_MAX))
        return {"Content-Type": C.CONTENT_TYPE_JSON, C.HEADER_REQUEST_ID: self.rand.uuid(),
                **legacy_card_headers(ts, nonce, self.token if token is None else token, body)}

    def build(self) -> list[Case]:
        b = self.budget_s
        cases: list[Case] = []
        body = self.body()
        cases.append(Case("valid_request", "a valid, signed legacy card request is answered", body,
                          self.signed(body), valid_answer(b), answer=AnswerKind.LEGACY_CARD))
        body = self.body()
        cases.append(Case("forged_signature", "a request signed with another verification token is refused", body,
                          self.signed(body, token=self.token + "-not-yours"),
                          must_refuse("-- X-Lark-Signature was made with another token: signatures are not verified",
                                      b)))
        body = self.body()
        headers = self.signed(body)
        ts, nonce = headers[C.HEADER_TIMESTAMP], headers[C.HEADER_NONCE]
        headers[SIGNATURE_HEADER] = hashlib.sha256((ts + nonce + self.key).encode() + body).hexdigest()
        cases.append(Case("event_algorithm", "a request signed with the event algorithm (SHA-256) is refused", body,
                          headers, must_refuse("-- signed like an event (SHA-256 with the Encrypt Key): the legacy "
                                               "request is SHA-1 over timestamp + nonce + verification token + body",
                                               b)))
        body = self.body()
        bare = {k: v for k, v in self.signed(body).items() if not k.startswith("X-Lark-")}
        cases.append(Case("missing_signature", "a request without signature headers is refused", body, bare,
                          must_refuse("-- no X-Lark-* signature headers at all", b)))
        body = self.body()
        headers = self.signed(body)
        tampered = body.replace(b'"action":{', b'"action":{"value":{"forged":true},', 1)
        cases.append(Case("tampered_body", "a body altered after signing is refused", tampered, headers,
                          must_refuse("-- the action was changed under the original signature", b)))
        value = self.rand.alnum(20, lower=True)
        wrong = legacy_challenge_body(value, "wrong-" + self.rand.alnum(26))
        cases.append(Case("challenge_wrong_token", "a challenge with a wrong token is not echoed", wrong,
                          {"Content-Type": C.CONTENT_TYPE_JSON}, challenge_refused(value, b)))
        value = self.rand.alnum(20, lower=True)
        right = legacy_challenge_body(value, self.token)
        cases.append(Case("challenge_answered", "the URL-verification challenge is echoed within 1 s", right,
                          {"Content-Type": C.CONTENT_TYPE_JSON}, challenge_answered(value, b)))
        junk = canonical_json({"open_id": "ou_x"})[:-1]  # cut: not JSON
        cases.append(Case("non_json_body", "a body that is not JSON is refused", junk, self.signed(junk),
                          must_refuse("-- the body is not JSON", b)))

        def request() -> tuple[bytes, dict[str, str]]:
            fresh = self.body()
            return fresh, self.signed(fresh)

        cases += answer_cases(AnswerKind.LEGACY_CARD, request, b)[1:]
        body = self.body()
        cases.append(Case("still_answering", "a valid request is still answered after the bad ones", body,
                          self.signed(body), valid_answer(b), answer=AnswerKind.LEGACY_CARD))
        return cases

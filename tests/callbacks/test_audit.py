"""``audit`` for callbacks: a card receiver built on lark-oapi passes; one that answers a huge card, answers
slowly, or (legacy card request URL) accepts forged or event-algorithm signatures fails, each case saying why."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.audit import Grade, Report, run_audit
from simulator.cli import main
from simulator.config import AppProfile, Budget
from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer
from tests.callbacks.lark_bot import Bot

pytestmark = pytest.mark.lark_sdk

KEY, TOKEN = "audit-encrypt-key", "AuditVerificationToken0123456789"
APP = AppProfile(encrypt_key=KEY, verification_token=TOKEN)
CALLBACK_CASES = ["valid_event", "tampered_body", "bad_signature", "missing_signature", "wrong_encrypt_key",
                  "garbage_ciphertext", "wrong_token_plaintext", "challenge_wrong_token", "challenge_answered",
                  "non_json_body", "oversized_body", "stale_timestamp", "replayed_signature", "callback_answer",
                  "answer_size", "answer_latency", "still_accepting"]
LEGACY_CASES = ["valid_request", "forged_signature", "event_algorithm", "missing_signature", "tampered_body",
                "challenge_wrong_token", "challenge_answered", "non_json_body", "answer_size", "answer_latency",
                "still_answering"]
ADVISORY = {"stale_timestamp", "replayed_signature"}


def audit(app: Any, *, legacy: bool = False, event_type: str = "card.action.trigger",
          budget: Budget | None = None) -> Report:
    return asyncio.run(run_audit("http://testserver/callback", APP, seed=1, event_type=event_type,
                                 budget=budget or Budget(1.0, 1.0), transport=httpx.ASGITransport(app=app),
                                 legacy_card=legacy))


def grades(report: Report) -> dict[str, Grade]:
    return {r.name: r.grade for r in report.results}


def reason(report: Report, name: str) -> str:
    return next(r.reason for r in report.results if r.name == name)


@pytest.mark.parametrize("event_type", ["card.action.trigger", "url.preview.get"])
def test_a_lark_card_bot_passes(event_type: str) -> None:
    report = audit(Bot("toast", KEY, TOKEN).asgi(), event_type=event_type)
    assert list(grades(report)) == CALLBACK_CASES
    assert grades(report) == {n: Grade.ADVISORY if n in ADVISORY else Grade.PASS for n in CALLBACK_CASES}, \
        [r.line() for r in report.results]
    expected = 'answered toast success "' if event_type == "card.action.trigger" else 'answered inline "Preview of https://'
    assert reason(report, "callback_answer").startswith(expected)


def test_a_lark_legacy_card_handler_passes() -> None:
    report = audit(Bot("toast", KEY, TOKEN).asgi(legacy=True), legacy=True)
    assert grades(report) == dict.fromkeys(LEGACY_CASES, Grade.PASS), [r.line() for r in report.results]
    assert reason(report, "valid_request").startswith('answered toast success "Done", card raw in ')
    assert reason(report, "event_algorithm") == 'refused: HTTP 500 {"msg":"signature verification failed"}'


def test_huge_cards_and_bad_toasts_fail_with_the_reason() -> None:
    report = audit(Bot("huge", KEY, TOKEN).asgi())
    assert grades(report)["answer_size"] is Grade.FAIL and grades(report)["callback_answer"] is Grade.PASS
    assert reason(report, "answer_size") == ("oversized answer: card.data is 40,070 bytes as compact JSON "
                                             "(a card is limited to 30 KB, 30,720 bytes)")
    legacy = audit(Bot("huge", KEY, TOKEN).asgi(legacy=True), legacy=True)
    assert reason(legacy, "answer_size").startswith("oversized answer: the answered card is 40,0")
    bad = audit(Bot("bad_toast", KEY, TOKEN).asgi())
    assert grades(bad)["callback_answer"] is Grade.FAIL and grades(bad)["answer_size"] is Grade.PASS
    assert reason(bad, "callback_answer") == ("answered 200 with an invalid card.action.trigger answer: "
                                              "toast.type 'ok' is not one of info|success|warning|error")


def test_slow_answers() -> None:
    budget = Budget(0.4, 0.4)
    late = audit(Bot("slow", KEY, TOKEN, delay=0.6).asgi(legacy=True), legacy=True, budget=budget)
    assert grades(late)["answer_latency"] is Grade.FAIL
    assert reason(late, "answer_latency").startswith("no answer within 0.4 s: the callback failed")
    close = audit(Bot("slow", KEY, TOKEN, delay=0.25).asgi(legacy=True), legacy=True, budget=budget)
    assert grades(close)["answer_latency"] is Grade.ADVISORY
    assert "past half of it" in reason(close, "answer_latency")


def accept_everything() -> Starlette:
    async def endpoint(request: Request) -> Response:
        await request.body()
        return JSONResponse({})

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])])


def test_a_legacy_url_that_checks_nothing_fails() -> None:
    report = audit(accept_everything(), legacy=True)
    g = grades(report)
    for name in ("forged_signature", "event_algorithm", "missing_signature", "tampered_body", "non_json_body",
                 "challenge_answered"):
        assert g[name] is Grade.FAIL, name
    assert reason(report, "event_algorithm").startswith("accepted (HTTP 200 {}) -- signed like an event (SHA-256")
    assert g["valid_request"] is Grade.PASS and g["challenge_wrong_token"] is Grade.PASS  # {} echoes nothing


def test_cli_audits_the_reference_receivers_legacy_url(capsys: pytest.CaptureFixture[str]) -> None:
    receiver = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)
    with ThreadedServer(receiver.app()) as srv:
        code = main(["audit", srv.url + "/card", "--legacy-card", "--verification-token", TOKEN, "--seed", "1",
                     "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ok"] is True, doc
    assert [c["name"] for c in doc["cases"]] == LEGACY_CASES

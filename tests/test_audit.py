"""``feishu-sim audit``: graded against an always-200 receiver (fails), a receiver built on the official
lark-oapi SDK (passes), the reference receiver (passes) and two partly broken receivers."""

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
from simulator.wire.seal import AesCipher
from tests.sdk_http_receiver import SdkReceiver

KEY, TOKEN = "audit-encrypt-key", "AuditVerificationToken0123456789"
APP = AppProfile(encrypt_key=KEY, verification_token=TOKEN)
ADVISORY = {"stale_timestamp", "replayed_signature", "duplicate_event_id"}
CASES = ["valid_event", "tampered_body", "bad_signature", "missing_signature", "wrong_encrypt_key",
         "garbage_ciphertext", "wrong_token_plaintext", "challenge_wrong_token", "challenge_answered",
         "non_json_body", "oversized_body", "stale_timestamp", "replayed_signature", "duplicate_event_id",
         "still_accepting"]


def audit_app(app: Any) -> Report:
    """Audit an ASGI app in process (fast; the wire is covered by the CLI tests)."""
    return asyncio.run(run_audit("http://testserver/webhook", APP, seed=1, budget=Budget(1.0, 1.0),
                                 transport=httpx.ASGITransport(app=app)))


def grades(report: Report) -> dict[str, Grade]:
    return {r.name: r.grade for r in report.results}


SECURE = {name: (Grade.ADVISORY if name in ADVISORY else Grade.PASS) for name in CASES}


def always_200() -> Starlette:
    async def endpoint(request: Request) -> Response:
        await request.body()
        return JSONResponse({"msg": "success"})

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])])


def test_always_200_receiver_fails(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedServer(always_200()) as srv:
        code = main(["audit", srv.url + "/hook", "--encrypt-key", KEY, "--verification-token", TOKEN, "--seed", "1",
                     "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["ok"] is False
    got = {c["name"]: c["grade"] for c in doc["cases"]}
    assert list(got) == CASES
    assert got["valid_event"] == got["still_accepting"] == "PASS"
    for name in ("tampered_body", "bad_signature", "missing_signature", "wrong_encrypt_key", "garbage_ciphertext",
                 "wrong_token_plaintext", "non_json_body", "oversized_body", "challenge_answered"):
        assert got[name] == "FAIL", name
    assert got["challenge_wrong_token"] == "PASS"  # it answers {"msg":"success"}: no echo
    assert {got[n] for n in ADVISORY} == {"ADVISORY"}
    reasons = {c["name"]: c["reason"] for c in doc["cases"]}
    assert "signatures are not verified" in reasons["bad_signature"]


@pytest.mark.lark_sdk
def test_official_sdk_receiver_passes(capsys: pytest.CaptureFixture[str]) -> None:
    sdk = SdkReceiver(KEY, TOKEN, max_body=1024 * 1024)  # the SDK behind a server that limits bodies
    with sdk as url:
        code = main(["audit", url, "--encrypt-key", KEY, "--verification-token", TOKEN, "--seed", "2"])
    out = capsys.readouterr()
    assert code == 0, out.out
    lines = out.out.splitlines()
    assert [ln.split()[1] for ln in lines] == CASES
    assert {ln.split()[1]: Grade(ln.split()[0]) for ln in lines} == SECURE
    assert "12 PASS, 0 FAIL, 3 ADVISORY" in out.err
    assert "HTTP 500" in next(ln for ln in lines if "bad_signature" in ln)  # the SDK's own refusal
    # The SDK dispatched exactly the accepted events: valid, stale, replay, duplicate, still_accepting.
    assert len(sdk.events) == 5


def test_reference_receiver_passes() -> None:
    receiver = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)
    report = audit_app(receiver.app())
    assert grades(report) == SECURE and report.ok
    assert sum(e.duplicate for e in receiver.state.events) == 2  # the replay and the duplicate were deduped


def test_receiver_without_a_size_limit_fails_oversized_body() -> None:
    """The case is a valid event, correctly sealed: only a size limit refuses it."""
    unlimited = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN, max_body=64 * 1024 * 1024)
    report = audit_app(unlimited.app())
    failed = {r.name: r.reason for r in report.results if r.grade is Grade.FAIL}
    assert list(failed) == ["oversized_body"] and "nothing limits the body size" in failed["oversized_body"]
    assert len(unlimited.state.unique) == 4  # valid_event, oversized_body, stale_timestamp, still_accepting


@pytest.mark.lark_sdk
def test_official_sdk_receiver_without_a_size_limit_fails_oversized_body() -> None:
    sdk = SdkReceiver(KEY, TOKEN)
    with sdk as url:
        report = asyncio.run(run_audit(url, APP, seed=4))
    assert [r.name for r in report.results if r.grade is Grade.FAIL] == ["oversized_body"]


def naive_receiver(*, check_token: bool, echo_any_challenge: bool) -> Starlette:
    """Decrypts, maybe checks the token, never checks the signature."""
    cipher = AesCipher(KEY)

    async def endpoint(request: Request) -> Response:
        try:
            outer = json.loads(await request.body())
            payload = json.loads(cipher.decrypt(outer["encrypt"])) if "encrypt" in outer else outer
        except Exception:
            return JSONResponse({"msg": "bad"}, status_code=400)
        if payload.get("type") == "url_verification":
            if echo_any_challenge or payload.get("token") == TOKEN:
                return JSONResponse({"challenge": payload["challenge"]})
            return JSONResponse({"msg": "bad token"}, status_code=403)
        if check_token and payload.get("header", {}).get("token") != TOKEN:
            return JSONResponse({"msg": "bad token"}, status_code=403)
        return JSONResponse({"msg": "success"})

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])])


def test_receiver_without_signature_check_fails_the_signature_cases() -> None:
    report = audit_app(naive_receiver(check_token=True, echo_any_challenge=False))
    g = grades(report)
    assert not report.ok
    assert g["tampered_body"] is g["bad_signature"] is g["missing_signature"] is Grade.FAIL
    assert g["wrong_encrypt_key"] is g["garbage_ciphertext"] is g["wrong_token_plaintext"] is Grade.PASS
    assert g["challenge_wrong_token"] is Grade.PASS and g["valid_event"] is Grade.PASS


def test_receiver_echoing_any_challenge_fails_that_case() -> None:
    g = grades(audit_app(naive_receiver(check_token=False, echo_any_challenge=True)))
    assert g["challenge_wrong_token"] is Grade.FAIL and g["wrong_token_plaintext"] is Grade.FAIL


def test_receiver_refusing_valid_events_fails_and_says_why() -> None:
    async def endpoint(request: Request) -> Response:
        return JSONResponse({"msg": "processor not found"}, status_code=500)

    report = audit_app(Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])]))
    first = report.results[0]
    assert first.name == "valid_event" and first.grade is Grade.FAIL and "was refused: HTTP 500" in first.reason
    assert grades(report)["duplicate_event_id"] is Grade.ADVISORY


def test_hanging_receiver_fails_within_the_budget() -> None:
    async def endpoint(request: Request) -> Response:
        await asyncio.sleep(5)
        return JSONResponse({})

    app = Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])])
    report = asyncio.run(run_audit("http://testserver/h", APP, seed=1, budget=Budget(0.05, 0.05),
                                   transport=httpx.ASGITransport(app=app)))
    assert all(r.grade is Grade.FAIL for r in report.results)
    assert "no answer within 0.05 s" in report.results[1].reason


@pytest.mark.parametrize(("args", "needle"), [
    (["audit", "http://127.0.0.1:9/x", "--verification-token", TOKEN], "needs --encrypt-key"),
    (["audit", "http://127.0.0.1:9/x", "--encrypt-key", KEY], "needs --encrypt-key and --verification-token"),
    (["audit", "ftp://x", "--encrypt-key", KEY, "--verification-token", TOKEN], "invalid URL"),
    (["audit", "http://127.0.0.1:9/x", "--encrypt-key", KEY, "--verification-token", TOKEN], "cannot reach"),
    (["audit", "http://127.0.0.1:9/x", "--encrypt-key", KEY, "--verification-token", TOKEN, "--event-type", "x.y"],
     "unknown event type"),
])
def test_audit_bad_input_exits_2(args: list[str], needle: str, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEISHU_ENCRYPT_KEY", raising=False)
    monkeypatch.delenv("FEISHU_VERIFICATION_TOKEN", raising=False)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_cases_are_built_as_described_without_io() -> None:
    from simulator.audit import CaseBuilder
    from simulator.clock import VirtualClock
    from simulator.rand import SimRandom
    from simulator.wire.seal import sign

    b = CaseBuilder(APP, rand=SimRandom(3), clock=VirtualClock(1_772_415_000.0), event_type="vc.meeting.share_ended_v1",
                    budget_s=3.0)
    cases = {c.name: c for c in b.build()}
    assert list(cases) == CASES
    cipher = AesCipher(KEY)
    tampered = cases["tampered_body"]
    event = json.loads(cipher.decrypt(json.loads(tampered.body)["encrypt"]))
    assert event["schema"] == "2.1" and event["header"]["token"] == TOKEN  # decrypts to a valid, altered event
    h = tampered.headers
    assert sign(h["X-Lark-Request-Timestamp"], h["X-Lark-Request-Nonce"], KEY, tampered.body) != h["X-Lark-Signature"]
    assert cases["replayed_signature"].body == cases["valid_event"].body
    assert cases["replayed_signature"].headers == cases["valid_event"].headers
    dup = cases["duplicate_event_id"]
    assert dup.body != cases["valid_event"].body
    valid_id = json.loads(cipher.decrypt(json.loads(cases["valid_event"].body)["encrypt"]))["header"]["event_id"]
    assert json.loads(cipher.decrypt(json.loads(dup.body)["encrypt"]))["header"]["event_id"] == valid_id
    stale = cases["stale_timestamp"].headers
    assert int(stale["X-Lark-Request-Timestamp"]) == 1_772_415_000 - 86_400
    assert "X-Lark-Signature" not in cases["missing_signature"].headers
    big = cases["oversized_body"]
    assert len(big.body) > 2 * 1024 * 1024
    bh = big.headers
    assert sign(bh["X-Lark-Request-Timestamp"], bh["X-Lark-Request-Nonce"], KEY, big.body) == bh["X-Lark-Signature"]
    big_event = json.loads(cipher.decrypt(json.loads(big.body)["encrypt"]))
    assert big_event["schema"] == "2.0" and big_event["header"]["token"] == TOKEN  # a valid event, just large
    plain = json.loads(cases["wrong_token_plaintext"].body)
    assert plain["header"]["token"] != TOKEN and "encrypt" not in plain

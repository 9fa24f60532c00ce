"""Redeliveries as IM receivers meet them: the platform advises deduping ``im.message.receive_v1`` on
``message_id`` because a redelivery can carry a new event_id (docs/semantics.md#dedupe-and-event_id-reuse).

- the ``dup_new_id`` fault delivers the same message (same message_id, same body) under a new event_id;
- the reference receiver dedupes it on the business key the family names (``EventSpec.dedupe_key``);
- the audit's ``redelivered_message`` case catches a receiver that dedupes on event_id only.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections import Counter
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.audit import Grade, Report, run_audit
from simulator.clock import VirtualClock
from simulator.config import AppProfile, Budget, SimConfig
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.generation.factory import SEEDED_EPOCH
from simulator.receiver import ReferenceReceiver
from simulator.servers import serving
from simulator.wire.seal import AesCipher, sign

RECEIVE = "im.message.receive_v1"
KEY, TOKEN = "im-redelivery-key", "ImRedeliveryVerificationToken012"
APP = AppProfile(encrypt_key=KEY, verification_token=TOKEN)


def push_with(faults: str, event_type: str, n: int) -> tuple[Simulator, ReferenceReceiver]:
    receiver = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)
    sim = Simulator(SimConfig(app=APP, seed=31, faults=FaultSpec.parse(faults)),
                    clock=VirtualClock(SEEDED_EPOCH, scale=0))

    async def go() -> None:
        async with serving(receiver.app()) as base:
            channel = sim.webhook(base + "/webhook/event")
            await sim.push(channel, sim.generate_many(event_type, n), concurrency=4)
            await channel.aclose()

    asyncio.run(go())
    return sim, receiver


def test_dup_new_id_redelivers_the_same_message_under_a_new_event_id() -> None:
    sim, receiver = push_with("dup_new_id=1,dup_after=2s..30s", RECEIVE, 12)
    originals = {d.event_id: d for d in sim.deliveries if d.origin == "event"}
    again = [d for d in sim.deliveries if d.origin == "duplicate_new_id"]
    assert len(originals) == len(again) == 12 and all(d.acked for d in sim.deliveries)
    for d in again:
        first = originals[d.duplicate_of or ""]
        assert d.event_id != first.event_id
        assert d.envelope["event"] == first.envelope["event"]  # the same body, so the same message_id
        assert {k: v for k, v in d.envelope["header"].items() if k != "event_id"} == \
            {k: v for k, v in first.envelope["header"].items() if k != "event_id"}
        assert d.attempts[0].sent_at > first.attempts[-1].sent_at
    # What the receiver saw: 24 event_ids, 12 messages. The reference receiver handled each message once.
    got = receiver.state.events
    assert len({e.event_id for e in got}) == 24
    assert Counter(e.envelope["event"]["message"]["message_id"] for e in got) == \
        Counter({d.envelope["event"]["message"]["message_id"]: 2 for d in originals.values()})
    assert len(receiver.state.unique) == 12 and all(e.duplicate for e in got if e.event_id not in originals)
    for d in originals.values():
        assert receiver.handled(d.envelope["event"]["message"]["message_id"]) == 1


def test_types_without_a_business_key_still_dedupe_on_event_id_only() -> None:
    _sim, receiver = push_with("dup_new_id=1", "vc.meeting.share_ended_v1", 5)
    assert len(receiver.state.events) == 10 and len(receiver.state.unique) == 10  # new event_id: a new event
    _sim2, receiver2 = push_with("dup=1", RECEIVE, 5)
    assert len(receiver2.state.unique) == 5  # same event_id: deduped as before


class EventIdOnlyBot:
    """A bot that checks everything a secure receiver checks, dedupes on header.event_id only, and counts
    what it handled per message_id."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.handled: Counter[str] = Counter()
        cipher = AesCipher(KEY)

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            h = request.headers
            sig = sign(h.get("X-Lark-Request-Timestamp", ""), h.get("X-Lark-Request-Nonce", ""), KEY, raw)
            if len(raw) > 1 << 20 or not hmac.compare_digest(sig, h.get("X-Lark-Signature", "")):
                return JSONResponse({"msg": "bad request"}, status_code=401)
            try:
                payload = json.loads(cipher.decrypt(json.loads(raw)["encrypt"]))
            except Exception:
                return JSONResponse({"msg": "bad"}, status_code=400)
            if payload.get("type") == "url_verification":
                return JSONResponse({"challenge": payload["challenge"]} if payload.get("token") == TOKEN else {})
            if payload["header"].get("token") != TOKEN:
                return JSONResponse({"msg": "bad token"}, status_code=401)
            event_id = payload["header"]["event_id"]
            if event_id not in self.seen:
                self.seen.add(event_id)
                self.handled[payload["event"]["message"]["message_id"]] += 1
            return JSONResponse({"msg": "success"})

        self.app = Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])])


def audit(app: Any, *, event_type: str = RECEIVE, handled: Any = None) -> Report:
    return asyncio.run(run_audit("http://testserver/webhook", APP, event_type=event_type, seed=4,
                                 budget=Budget(1.0, 1.0), transport=httpx.ASGITransport(app=app), handled=handled))


def grade(report: Report, name: str) -> tuple[Grade, str]:
    r = next(r for r in report.results if r.name == name)
    return r.grade, r.reason


def test_the_audit_catches_a_bot_that_dedupes_on_event_id_only() -> None:
    bot = EventIdOnlyBot()
    report = audit(bot.app, handled=lambda key: bot.handled[key])
    g, reason = grade(report, "redelivered_message")
    assert g is Grade.FAIL and "handled the same message 2 times" in reason
    assert [r.name for r in report.results if r.grade is Grade.FAIL] == ["redelivered_message"]
    assert grade(report, "duplicate_event_id")[0] is Grade.ADVISORY  # the same event_id: deduped fine


def test_the_reference_receiver_handles_the_redelivery_once() -> None:
    receiver = ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)

    async def probe(key: str) -> int:  # a probe may be async
        return receiver.handled(key)

    report = audit(receiver.app(), handled=probe)
    g, reason = grade(report, "redelivered_message")
    assert g is Grade.PASS and "handled once" in reason and report.ok
    names = [r.name for r in report.results]
    assert names.index("redelivered_message") == names.index("duplicate_event_id") + 1


def test_without_a_probe_the_case_is_advisory_and_names_the_fix() -> None:
    report = audit(EventIdOnlyBot().app)
    g, reason = grade(report, "redelivered_message")
    assert g is Grade.ADVISORY and "not only on header.event_id" in reason and report.ok


def test_types_without_a_business_key_have_no_redelivery_case() -> None:
    report = audit(ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN).app(),
                   event_type="vc.meeting.share_ended_v1")
    assert "redelivered_message" not in [r.name for r in report.results]


@pytest.mark.lark_sdk
def test_a_bot_on_the_official_sdk_without_its_own_dedupe_fails_the_case() -> None:
    """lark-oapi dispatches every delivery to the handler: deduping is the bot's job."""
    import lark_oapi as lark

    from tests.lark_receiver import lark_asgi

    handled: Counter[str] = Counter()
    handler = (lark.EventDispatcherHandler.builder(KEY, TOKEN, lark.LogLevel.CRITICAL)
               .register_p2_im_message_receive_v1(lambda data: handled.update([data.event.message.message_id]))
               .build())
    report = audit(lark_asgi(handler), handled=lambda key: handled[key])
    assert grade(report, "redelivered_message")[0] is Grade.FAIL
    assert grade(report, "valid_event")[0] is Grade.PASS

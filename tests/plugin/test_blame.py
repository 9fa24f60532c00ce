"""Fault-aware blame: the after-test check judges what the app did, never what an injected fault did.

A correct receiver (the reference receiver: 200 to every valid event, duplicates included, processed once)
passes under ``drop``/``dup``/``dup_new_id``/``reorder`` faults for any seed; a receiver that refuses
redeliveries is still caught, and the message names the redelivery.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.receiver import ReferenceReceiver
from simulator.testing import FeishuSim
from simulator.verdicts.model import Attempt, Channel, Delivery, DeliveryState, Outcome

probability = st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0.0, 1.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), drop=probability, dup=probability, dup_new_id=probability,
       reorder=st.integers(1, 5), retries=st.sampled_from(["none", 2, "feishu"]))
def test_a_correct_receiver_passes_under_faults_for_any_seed(seed: int, drop: float, dup: float, dup_new_id: float,
                                                            reorder: int, retries: object) -> None:
    rr = ReferenceReceiver()
    faults = {"drop": drop, "dup": dup, "dup_new_id": dup_new_id, "reorder": reorder}
    with FeishuSim.from_options(seed=seed, faults=faults, retries=retries) as sim:
        pushed = sim.push(rr.app(), count=5)
        assert sim.report() is None, sim.report()
        assert sim.unexpected() == []
        sim.assert_all_acked()  # lost deliveries were acked by the app
        for d in sim.deliveries:
            assert d.acked or d.lost
    processed = [e.event_id for e in rr.state.unique]
    assert {d.event_id for d in pushed} <= set(processed) and len(set(processed)) == len(processed)


def _refuses_redeliveries() -> Starlette:
    seen: set[str] = set()

    async def hook(request: Request) -> JSONResponse:
        event_id = (await request.json())["header"]["event_id"]
        if event_id in seen:
            return JSONResponse({"msg": "already handled"}, status_code=500)
        seen.add(event_id)
        return JSONResponse({"msg": "success"})

    return Starlette(routes=[Route("/webhook/event", hook, methods=["POST"])])


def test_a_receiver_that_refuses_a_duplicate_is_caught_and_the_duplicate_named() -> None:
    with FeishuSim.from_options(seed=1, faults="dup=1") as sim:
        original = sim.push(_refuses_redeliveries())
        assert original.acked  # push returns the original; the duplicate is in deliveries, and in the check
        message = sim.report()
    duplicate = sim.deliveries[1]
    assert duplicate.parent is original and duplicate.origin == "duplicate"
    assert repr(duplicate) == (f"Delivery(rejected after 1 attempt: HTTP 500: {{\"msg\":\"already handled\"}}, "
                               f"event_id={original.event_id!r}, type='vc.meeting.share_ended_v1', "
                               f"duplicate of {original.event_id!r})")
    assert message is not None
    assert message.splitlines()[2] == (
        f"    a redelivery of event {original.event_id}, already acked at attempt 1 (same event_id: the platform "
        "delivers at least once, fault dup); the app must answer 200 to a duplicate, and may skip its work")


def test_a_retry_after_a_lost_ack_is_named_a_redelivery() -> None:
    with FeishuSim.from_options(seed=5, faults="drop=0.5", retries=3) as sim:
        sim.push(_refuses_redeliveries(), count=6)
        message = sim.report()
    assert message is not None
    assert ("    attempt 2 was a redelivery of an event already acked at attempt 1 (the drop fault lost that ack); "
            'it ended rejected: HTTP 500: {"msg":"already handled"}') in message.splitlines()


def _delivery(*outcomes: Outcome, expect_rejected: bool = False) -> Delivery:
    d = Delivery("e1", "vc.meeting.share_ended_v1", {}, expect_rejected=expect_rejected)
    for i, outcome in enumerate(outcomes, 1):
        d.record(Attempt("e1", "vc.meeting.share_ended_v1", i, Channel.WEBHOOK, outcome, 0.0, 1.0,
                         detail="fault: the receiver's answer was lost" if outcome is Outcome.DROPPED else "x"))
    d.close()
    return d


@pytest.mark.parametrize(("outcomes", "expect_rejected", "lost", "as_expected", "verdict"), [
    ((Outcome.DROPPED,), False, True, True,
     "lost by the drop fault after 1 attempt (the app acked it; the platform lost the answer)"),
    ((Outcome.DROPPED, Outcome.DROPPED), False, True, True,
     "lost by the drop fault after 2 attempts (the app acked every one; the platform lost the answer)"),
    ((Outcome.DROPPED, Outcome.TIMEOUT), False, False, False, "timeout after 2 attempts: x"),
    ((Outcome.DROPPED, Outcome.ACKED), False, False, True, "acked at attempt 2"),
    # a negative test: the app acked (the fault lost the answer), so the rejection did not happen
    ((Outcome.DROPPED,), True, True, False,
     "lost by the drop fault after 1 attempt (the app acked it; the platform lost the answer)"),
    ((Outcome.REJECTED,), True, False, True, "rejected after 1 attempt: x"),
])
def test_blame_follows_what_the_app_did(outcomes: tuple[Outcome, ...], expect_rejected: bool, lost: bool,
                                        as_expected: bool, verdict: str) -> None:
    d = _delivery(*outcomes, expect_rejected=expect_rejected)
    assert (d.lost, d.as_expected, d.verdict) == (lost, as_expected, verdict)
    assert d.final is (DeliveryState.ACKED if Outcome.ACKED in outcomes else DeliveryState.EXHAUSTED)


def test_summary_line_is_a_property_and_calling_it_is_deprecated() -> None:
    d = _delivery(Outcome.ACKED)
    assert d.summary_line.startswith("acked e1 vc.meeting.share_ended_v1 attempts=1 last=acked")
    with pytest.warns(DeprecationWarning, match="summary_line is a property now: drop the parentheses"):
        assert d.summary_line() == d.summary_line

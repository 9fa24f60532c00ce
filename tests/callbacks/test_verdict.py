"""A callback's verdict: HTTP 200 within the budget AND a valid answer body; the judged answer is on the attempt
(and in the transcript); callbacks are never retried and never duplicated, whatever the retry policy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.clock import VirtualClock
from simulator.config import AppProfile, Budget, RetryPolicy, SimConfig
from simulator.delivery.inprocess import channel_for
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.generation.factory import SEEDED_EPOCH
from simulator.verdicts.model import Attempt, Delivery, DeliveryState, Outcome, Summary
from simulator.verdicts.transcript import TranscriptWriter

Answerer = Callable[[dict[str, Any]], Any]  # plaintext request -> (status, body bytes) or body bytes


def app_answering(answer: Answerer, *, delay: float = 0.0) -> Starlette:
    """A plaintext receiver: answers what ``answer`` returns for each request."""
    async def endpoint(request: Request) -> Response:
        payload = json.loads(await request.body())
        if delay:
            await asyncio.sleep(delay)
        got = answer(payload)
        status, body = got if isinstance(got, tuple) else (200, got)
        return Response(body, status_code=status, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST"])])


def sim(**config: Any) -> Simulator:
    base: dict[str, Any] = {"app": AppProfile(), "seed": 5, "time_scale": 0.0, "start_time": SEEDED_EPOCH}
    return Simulator(SimConfig(**{**base, **config}), clock=VirtualClock(SEEDED_EPOCH, scale=0))


def push(s: Simulator, app: Starlette, event_type: str, n: int = 1, *, budget: Budget | None = None,
         overrides: dict[str, Any] | None = None) -> list[Delivery]:
    async def go() -> list[Delivery]:
        channel = channel_for(app, sealer=s.sealer, path="/callback", budget=budget or s.config.budget)
        try:
            envs = s.generate_many(event_type, n, overrides=overrides)
            return await s.push(channel, envs)
        finally:
            await channel.aclose()

    return asyncio.run(go())


TOAST = b'{"toast":{"type":"success","content":"Approved"}}'


def test_a_valid_answer_acks_and_rides_on_the_attempt() -> None:
    (d,) = push(sim(), app_answering(lambda _: TOAST), "card.action.trigger")
    assert d.acked and d.callback == "card.action.trigger"
    att = d.last
    assert att is not None and att.outcome is Outcome.ACKED and att.status == 200 and att.detail == ""
    assert d.answer is att.answer and d.answer is not None
    assert d.answer.valid and d.answer.toast_type == "success" and d.answer.toast_content == "Approved"
    line = d.summary_line
    assert line.startswith(f"acked {d.event_id} card.action.trigger status=200 ")
    assert line.endswith('ms toast success "Approved"')


def test_an_invalid_answer_is_a_bad_answer_with_a_precise_reason() -> None:
    (d,) = push(sim(), app_answering(lambda _: b'{"toast":{"type":"ok","content":"Approved"}}'),
                "card.action.trigger")
    att = d.last
    assert att is not None and att.outcome is Outcome.BAD_ANSWER and not att.outcome.ok
    assert att.detail == "toast.type 'ok' is not one of info|success|warning|error"
    assert d.final is DeliveryState.EXHAUSTED and not d.acked
    assert d.answer is not None and d.answer.problems == (att.detail,)
    assert d.summary_line.startswith(f"bad_answer {d.event_id} card.action.trigger status=200 ")
    assert d.summary_line.endswith("ms toast.type 'ok' is not one of info|success|warning|error")
    assert Summary.of([d]).outcomes == {"bad_answer": 1}


@pytest.mark.parametrize(("body", "detail"), [
    (b"", "answer is empty (expected a JSON object; {} is the answer that changes nothing)"),
    (b'{"msg":"success"}', "unknown field msg (allowed: toast|card)"),  # an event's answer
    (b'{"card":{"type":"raw","data":"{}"}}', "card.data is a string, not an object (it holds JSON text: answer the "
                                              "object itself, not a string of it)"),
])
def test_answers_that_are_not_callback_answers(body: bytes, detail: str) -> None:
    (d,) = push(sim(), app_answering(lambda _: body), "card.action.trigger")
    assert d.last is not None and d.last.outcome is Outcome.BAD_ANSWER and d.last.detail == detail


def test_url_preview_answers_are_judged_as_previews() -> None:
    (d,) = push(sim(), app_answering(lambda req: json.dumps({"inline": {"title": req["event"]["context"]["url"]}})
                                     .encode()), "url.preview.get")
    assert d.acked and d.answer is not None and d.answer.inline is not None
    (bad,) = push(sim(), app_answering(lambda _: TOAST), "url.preview.get")
    assert bad.last is not None and bad.last.detail == "unknown field toast (allowed: inline|card)"


def test_a_non_200_status_is_rejected_and_carries_no_answer() -> None:
    (d,) = push(sim(), app_answering(lambda _: (500, b'{"msg":"boom"}')), "card.action.trigger")
    assert d.last is not None and d.last.outcome is Outcome.REJECTED and d.answer is None
    assert d.last.detail == 'HTTP 500: {"msg":"boom"}'


def test_a_late_answer_is_a_timeout_even_when_valid() -> None:
    (d,) = push(sim(), app_answering(lambda _: TOAST, delay=0.3), "card.action.trigger", budget=Budget(total_s=0.1))
    assert d.last is not None and d.last.outcome is Outcome.TIMEOUT and len(d.attempts) == 1


def test_callbacks_are_never_retried_nor_duplicated_but_events_are() -> None:
    config = {"retries": RetryPolicy.feishu(), "faults": FaultSpec.parse("dup=1,drop=0.5")}
    calls: list[str] = []

    def refuse(req: dict[str, Any]) -> Any:
        calls.append(req["header"]["event_type"])
        return 503, b"busy"

    s = sim(**config)
    clicks = push(s, app_answering(refuse), "card.action.trigger", 5)
    assert [len(d.attempts) for d in clicks] == [1] * 5 and len(s.deliveries) == 5
    assert calls == ["card.action.trigger"] * 5
    s = sim(**config)
    clicks = push(s, app_answering(lambda _: b"{}"), "card.action.trigger", 20)
    assert len(s.deliveries) == 20 and all(d.origin == "event" and len(d.attempts) == 1 for d in s.deliveries)
    assert {str(d.last.outcome) for d in clicks if d.last} == {"acked", "dropped"}  # dropped: not retried either
    s = sim(**config)
    events = push(s, app_answering(refuse), "vc.meeting.share_ended_v1", 1)
    assert len(events[0].attempts) == 5  # the ladder, for an event


def test_events_carry_no_answer_and_keep_their_lines() -> None:
    (d,) = push(sim(), app_answering(lambda _: b'{"msg":"ok"}'), "vc.meeting.share_ended_v1")
    assert d.acked and d.callback is None and d.answer is None
    assert "answer" not in d.attempts[0].to_json()
    assert d.summary_line.startswith(f"acked {d.event_id} vc.meeting.share_ended_v1 attempts=1 last=acked")


def test_the_transcript_records_the_answer_and_reads_it_back(tmp_path: Path) -> None:
    path = tmp_path / "t.ndjson"
    with TranscriptWriter(path) as t:
        s = sim()
        s.transcript = t
        push(s, app_answering(lambda _: b'{"toast":{"type":"ok","content":"x"},"card":{"type":"raw","data":{}}}'),
             "card.action.trigger")
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    (attempt,) = [x for x in lines if x["kind"] == "attempt"]
    assert attempt["outcome"] == "bad_answer"
    assert attempt["answer"] == {"kind": "card.action.trigger", "valid": False, "size": 69,
                                 "problems": ["toast.type 'ok' is not one of info|success|warning|error"],
                                 "body": {"toast": {"type": "ok", "content": "x"}, "card": {"type": "raw", "data": {}}}}
    back = Attempt.from_json(attempt)
    assert back.answer is not None and back.answer.problems == (attempt["answer"]["problems"][0],)
    assert back.answer.card_type == "raw" and back.outcome is Outcome.BAD_ANSWER

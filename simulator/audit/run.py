"""Running an audit: send every case to a receiver in order and grade its answers (``feishu-sim audit``)."""

from __future__ import annotations

import inspect
import time

import httpx

from simulator import constants as C
from simulator.audit.callbacks import LegacyCaseBuilder, callback_cases
from simulator.audit.cases import Answer, Case, CaseBuilder, CaseResult, Report
from simulator.audit.redelivery import HandledProbe, redelivery_case
from simulator.clock import Clock, SystemClock
from simulator.config import AppProfile, Budget
from simulator.delivery.webhook import WebhookChannel
from simulator.generation import catalog
from simulator.rand import SimRandom
from simulator.verdicts.model import Attempt, Channel, Outcome
from simulator.wire.seal import Sealer


def build_cases(app: AppProfile, *, rand: SimRandom, clock: Clock, event_type: str, budget_s: float,
                legacy_card: bool = False) -> list[Case]:
    """The cases for an event receiver, a callback receiver (``card.action.trigger``, ``url.preview.get``:
    the event cases plus its answers) or a legacy card request URL (``callbacks.py``)."""
    if legacy_card:
        return LegacyCaseBuilder(app, rand=rand, clock=clock, budget_s=budget_s).build()
    builder = CaseBuilder(app, rand=rand, clock=clock, event_type=event_type, budget_s=budget_s,
                          extra=redelivery_case)
    spec = catalog.find(event_type)
    if spec is None or spec.callback is None:
        return builder.build()

    def click() -> tuple[bytes, dict[str, str]]:
        sealed = builder.seal(builder.event())
        return sealed.body, sealed.headers

    return callback_cases(builder.build(), click, spec.callback, budget_s)


async def run_audit(url: str, app: AppProfile, *, event_type: str = C.DEFAULT_EVENT_TYPE, seed: int | None = None,
                    budget: Budget | None = None, clock: Clock | None = None,
                    transport: httpx.AsyncBaseTransport | None = None,
                    handled: HandledProbe | None = None, legacy_card: bool = False) -> Report:
    """Send every case to ``url`` in order and grade the answers. ``handled(key)`` -- how many times the
    receiver handled the event with that business key -- lets the redelivery case see double handling."""
    budget = budget or Budget()
    rand = SimRandom(seed)
    cases = build_cases(app, rand=rand, clock=clock or SystemClock(), event_type=event_type,
                        budget_s=budget.total_s, legacy_card=legacy_card)
    report = Report(url)
    sealer = Sealer(None, rand.fork("audit-channel"))  # ``send`` posts the cases' own bytes: never used
    async with WebhookChannel(url, sealer, budget=budget, transport=transport) as channel:
        for case in cases:
            att = Attempt(event_id="", event_type=event_type, attempt=1, channel=Channel.WEBHOOK,
                          outcome=Outcome.CONNECTION_ERROR, sent_at=time.time(), latency_ms=0.0, target=url)
            att = await channel.send(case.body, case.headers, att, answer=case.answer)
            answer = Answer(att.outcome, att.status, att.response_body, att.detail, att.latency_ms,
                            judged=att.answer)
            if case.key is not None and handled is not None:
                count = handled(case.key)
                answer.handled = int(await count if inspect.isawaitable(count) else count)
            grade, reason = case.judge(answer)
            report.results.append(CaseResult(case.name, case.title, grade, reason, att.status, att.latency_ms))
    return report

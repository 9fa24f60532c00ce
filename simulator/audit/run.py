"""Running an audit: send every case to a receiver in order and grade its answers (``feishu-sim audit``)."""

from __future__ import annotations

import inspect
import time

import httpx

from simulator import constants as C
from simulator.audit.cases import Answer, CaseBuilder, CaseResult, Report
from simulator.audit.redelivery import HandledProbe, redelivery_case
from simulator.clock import Clock, SystemClock
from simulator.config import AppProfile, Budget
from simulator.delivery.webhook import WebhookChannel
from simulator.rand import SimRandom
from simulator.verdicts.model import Attempt, Channel, Outcome


async def run_audit(url: str, app: AppProfile, *, event_type: str = C.DEFAULT_EVENT_TYPE, seed: int | None = None,
                    budget: Budget | None = None, clock: Clock | None = None,
                    transport: httpx.AsyncBaseTransport | None = None,
                    handled: HandledProbe | None = None) -> Report:
    """Send every case to ``url`` in order and grade the answers. ``handled(key)`` -- how many times the
    receiver handled the event with that business key -- lets the redelivery case see double handling."""
    budget = budget or Budget()
    rand = SimRandom(seed)
    builder = CaseBuilder(app, rand=rand, clock=clock or SystemClock(), event_type=event_type,
                          budget_s=budget.total_s, extra=redelivery_case)
    cases = builder.build()
    report = Report(url)
    async with WebhookChannel(url, builder.sealer, budget=budget, transport=transport) as channel:
        for case in cases:
            att = Attempt(event_id="", event_type=event_type, attempt=1, channel=Channel.WEBHOOK,
                          outcome=Outcome.CONNECTION_ERROR, sent_at=time.time(), latency_ms=0.0, target=url)
            att = await channel.send(case.body, case.headers, att)
            answer = Answer(att.outcome, att.status, att.response_body, att.detail, att.latency_ms)
            if case.key is not None and handled is not None:
                count = handled(case.key)
                answer.handled = int(await count if inspect.isawaitable(count) else count)
            grade, reason = case.judge(answer)
            report.results.append(CaseResult(case.name, case.title, grade, reason, att.status, att.latency_ms))
    return report

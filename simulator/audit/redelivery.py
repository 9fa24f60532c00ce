"""The audit's ``redelivered_message`` case: the same message delivered again under a new event_id.

The platform advises deduping ``im.message.receive_v1`` on ``message_id`` because a redelivery can carry a
new ``event_id`` (docs/semantics.md#dedupe-and-event_id-reuse). For an event type whose family names such
a business key (``EventSpec.dedupe_key``) the audit resends its valid event byte for byte, with only
``header.event_id`` changed, right after the duplicate_event_id case. A receiver must answer 200 -- and
handle the message no more. That is invisible in the HTTP answer, so ``run_audit`` asks the caller's
``handled`` probe (how many times the receiver has handled that key): more than once is a FAIL (it dedupes
on event_id only and double-handles the message), once a PASS; without a probe the case is an ADVISORY.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from simulator.audit.cases import Answer, Case, CaseBuilder, Grade, Judge, duplicate_judge
from simulator.generation import catalog

# How many times the receiver has handled the event with this business key (a message_id): sync or async.
HandledProbe = Callable[[str], "int | Awaitable[int]"]


def redelivery_judge(key: str, budget_s: float) -> Judge:
    """The same message under a new event_id: answered 200 and handled no more."""
    advice = f"dedupe on the message ({key}), not only on header.event_id: a redelivery can carry a new event_id"

    def judge(a: Answer) -> tuple[Grade, str]:
        if a.status != 200:
            return duplicate_judge(budget_s)(a)
        if a.handled is None:
            return Grade.ADVISORY, f"answered 200; double handling is not visible from outside (no probe): {advice}"
        if a.handled > 1:
            return Grade.FAIL, f"handled the same message {a.handled} times: {advice}"
        if a.handled == 0:
            return Grade.ADVISORY, f"answered 200, but the probe says {key} was never handled"
        return Grade.PASS, f"handled once: the redelivery under a new event_id was recognised ({key})"
    return judge


def redelivery_case(builder: CaseBuilder, first: dict[str, Any]) -> list[Case]:
    """The case for the already delivered envelope ``first`` (none when its type has no business key)."""
    dedupe = catalog.get(builder.event_type).dedupe_key
    if dedupe is None:
        return []
    key = dedupe(first["event"])
    again = dict(first, header={**first["header"], "event_id": builder.rand.hex(32)})
    sealed = builder.seal(again)
    return [Case("redelivered_message", "the same message under a new event_id is handled once", sealed.body,
                 sealed.headers, redelivery_judge(key, builder.budget_s), key=key)]

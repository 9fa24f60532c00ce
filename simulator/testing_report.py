"""What a failing test shows about its deliveries: the after-test check's message, the report section
attached to every failing test that pushed, and the notes that name redeliveries and duplicates.

Blame follows what the app did (``Delivery.as_expected``): a delivery that failed only because the
platform lost the app's acks (the ``drop`` fault) is reported as lost, never as the app's fault. A failed
attempt that follows an ack the app already gave (a lost ack, an at-least-once duplicate, a copy under a
new event_id, an answer that came too late) is named as the redelivery it is, because that is where a
receiver that dedupes badly goes wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from simulator.errors import UsageError
from simulator.verdicts.model import Attempt, Delivery

MAX_LISTED = 30  # deliveries listed in a report section; the rest are counted
CHECK_HINT = ("Mark negative tests with push(..., expect_rejected=True), "
              "or opt out with @pytest.mark.feishu(check_unacked=False).")
PLATFORM_HINT = ("For negative tests push with feishu_sim.push(feishu_platform, ..., expect_rejected=True), "
                 "or opt out with @pytest.mark.feishu(check_unacked=False).")


def _late(att: Attempt) -> str | None:
    """``HTTP 200 after 4012 ms`` when the app answered this attempt after the budget (in-process apps)."""
    late = att.extra.get("late_answer")
    return late if isinstance(late, str) else None


def notes(d: Delivery) -> list[str]:
    """Why this delivery reached the app more than once, when it did: what the app must do about it."""
    out: list[str] = []
    parent = d.parent
    if d.origin == "duplicate" and d.duplicate_of:
        acked = parent.app_acked_at if parent is not None else None
        at = f", already acked at attempt {acked}" if acked else ", already acked"
        out.append(f"a redelivery of event {d.duplicate_of}{at} (same event_id: the platform delivers at least "
                   "once, fault dup); the app must answer 200 to a duplicate, and may skip its work")
    elif d.origin == "duplicate_new_id" and d.duplicate_of:
        acked = parent.app_acked_at if parent is not None else None
        at = f" (acked at attempt {acked})" if acked else ""
        out.append(f"a copy of event {d.duplicate_of}{at} under a new event_id (fault dup_new_id): dedupe on "
                   "the business key (message_id, meeting id...) and answer 200")
    last = d.last
    if last is not None and "processor not found" in last.detail:
        out.append("the app registered no handler for this type (lark-oapi's answer): push_scenario(..., only=[...]) "
                   "limits a scenario to the types the app subscribes to")
    acked_at: int | None = None
    for att in d.attempts:
        if att.outcome.app_acked:
            if acked_at is None:
                acked_at = att.attempt
            continue
        if acked_at is not None:
            out.append(f"attempt {att.attempt} was a redelivery of an event already acked at attempt {acked_at} "
                       f"(the drop fault lost that ack); it ended {att.outcome}"
                       + (f": {att.detail}" if att.detail else ""))
            break
        late = _late(att)
        if late is not None and att is not d.attempts[-1]:  # the last attempt's detail says it already
            out.append(f"attempt {att.attempt}: the app answered {late}, too late (the platform had given up "
                       "at the budget and retries)")
            if late.startswith("HTTP 200"):
                acked_at = att.attempt
    return out


def verdict_line(d: Delivery) -> str:
    """``<event_id> <type>: <verdict>`` and the attempt count, for report sections."""
    return f"{d.event_id} {d.event_type}: {d.verdict}"


def check_message(pool: Sequence[Delivery], *, seed: int | None, source: str = "feishu_sim",
                  hint: str = CHECK_HINT) -> str | None:
    """The after-test check's failure message for the deliveries of ``pool`` that did not end as expected
    (judged on what the app did), or None."""
    bad = [d for d in pool if not d.as_expected]
    if not bad:
        return None
    seeded = "" if seed is None else f" (seed={seed})"
    lines = [f"{source}: {len(bad)} of {len(pool)} deliveries did not end as expected{seeded}:"]
    for d in bad:
        if d.expect_rejected:
            why = "expected a rejection, but it was acked"
            if not d.acked:  # the app acked, and the drop fault lost the answer
                why += f" by the app at attempt {d.app_acked_at} (the drop fault lost the answer)"
        else:
            why = "not answered validly" if d.callback else "not acked"
        lines.append(f"  {why}: {d.summary_line}")
        lines.extend(f"    {note}" for note in notes(d))
    lost = [d for d in pool if d.lost and not d.expect_rejected]
    if lost:
        lines.append(f"  ({len(lost)} more lost by the drop fault: the app acked them, the platform lost the "
                     "answers; not counted against the app)")
    lines.append(hint)
    return "\n".join(lines)


def section(pool: Sequence[Delivery], *, header: str) -> str:
    """The report section of a failing test: every delivery (up to ``MAX_LISTED``) with its verdict and
    notes, unexpected ones marked ``!``."""
    lines = [header]
    for i, d in enumerate(pool[:MAX_LISTED], 1):
        mark = " " if d.as_expected else "!"
        expect = " (expected a rejection)" if d.expect_rejected else ""
        origin = "" if d.origin == "event" else f" [{d.origin} of {d.duplicate_of}]"
        lines.append(f"{mark} {i:>2}. {verdict_line(d)}{expect}{origin}")
        lines.extend(f"        {note}" for note in notes(d))
    if len(pool) > MAX_LISTED:
        lines.append(f"  ... and {len(pool) - MAX_LISTED} more (feishu_sim.deliveries has them all)")
    return "\n".join(lines)


def find(pool: Sequence[Delivery], event_id: str, *, what: str = "feishu_sim") -> Delivery:
    """The first delivery of ``event_id``; a ``UsageError`` naming the known ids when there is none (asking
    about an event that was never pushed is the test's mistake, not the app's)."""
    __tracebackhide__ = True
    for d in pool:
        if d.event_id == event_id:
            return d
    known = [d.event_id for d in pool if d.origin == "event"]
    listed = ", ".join(repr(e) for e in known[:5]) + (", ..." if len(known) > 5 else "")
    have = f"its {len(known)} pushed event(s): {listed}" if known else "nothing was pushed yet"
    raise UsageError(f"{what}: no delivery with event_id {event_id!r} ({have}); "
                     "use the event_id of what push(...) returned")


__all__ = ["CHECK_HINT", "PLATFORM_HINT", "check_message", "find", "notes", "section", "verdict_line"]

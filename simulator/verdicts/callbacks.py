"""A callback's verdict: the answer body judged on top of the status (sans-IO).

A callback (``card.action.trigger``, ``url.preview.get``, the legacy card request) is answered
synchronously: HTTP 200 (or ack code 200) within the 3 s budget *and* a body that is a valid answer for
that callback (:func:`simulator.verdicts.answers.judge_answer`). Every channel calls :func:`judge_callback`
with the bytes it received; an answer that is not valid turns ``acked`` into ``bad_answer`` and the
attempt's ``detail`` says what is wrong, one problem after the other on one line.
"""

from __future__ import annotations

from simulator.verdicts.answers import Answer, AnswerKind, judge_answer
from simulator.verdicts.model import Attempt, Outcome


def judge_callback(att: Attempt, kind: AnswerKind | str, body: bytes) -> Answer:
    """Judge ``body`` as the answer of ``att`` (an attempt that got HTTP 200 or ack code 200, judged late or
    not): record it on the attempt and, when it is invalid and the attempt was acked, make the attempt a
    ``bad_answer`` whose detail lists the problems."""
    answer = judge_answer(kind, body)
    att.answer = answer
    if att.outcome is Outcome.ACKED and not answer.valid:
        att.outcome = Outcome.BAD_ANSWER
        att.detail = answer.describe()
    return answer


__all__ = ["judge_callback"]

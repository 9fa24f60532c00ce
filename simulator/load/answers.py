"""Callback answers under load: a callback type's 200 answers are judged by their body too
(``simulator.verdicts.answers``); an invalid one is the verdict ``bad_answer``, counted apart from the
non-200 answers, and the report gives the share of valid answers (docs/callbacks.md#under-load).
"""

from __future__ import annotations

from typing import Final

from simulator.generation import catalog
from simulator.verdicts.answers import MAX_ANSWER_BYTES, AnswerKind, judge_answer

BAD_ANSWER: Final = "bad_answer"


class AnswerCache:
    """Judges callback answers, remembering the verdict of recent bodies (an app answers the same bytes again
    and again; schema validation per request would cost more than the request)."""

    SIZE = 256
    body_limit = MAX_ANSWER_BYTES + 1  # bytes of an answer kept: one more than the bound shows it is over

    def __init__(self, kind: AnswerKind) -> None:
        self.kind = kind
        self._seen: dict[bytes, str | None] = {}

    def problem(self, body: bytes) -> str | None:
        """None for a valid answer, else its problems on one line."""
        try:
            return self._seen[body]
        except KeyError:
            pass
        answer = judge_answer(self.kind, body)
        problem = None if answer.valid else answer.describe()
        if len(self._seen) >= self.SIZE:
            self._seen.pop(next(iter(self._seen)))
        self._seen[body] = problem
        return problem


def answer_cache(event_type: str) -> AnswerCache | None:
    """An answer judge for a callback type, None for an event."""
    spec = catalog.find(event_type)
    return None if spec is None or spec.callback is None else AnswerCache(spec.callback)

"""``WebhookDriver``: every request a fresh event, sealed like the platform seals it, POSTed to a URL.

The events come from an ``EventSource`` (one event type, a pool of generated payloads refreshed as the
run goes) or a ``ScenarioSource`` (a scenario's events in order); the verdict is the HTTP status (200,
or any 2xx with ``accept_2xx``), as the platform judges a webhook answer (docs/semantics.md), and for a
callback type also the answer's body (``answers.py``: an invalid one is a ``bad_answer``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from simulator.clock import Clock
from simulator.generation.factory import EventFactory
from simulator.load.answers import BAD_ANSWER, AnswerCache, answer_cache
from simulator.load.driver import Driver, LoadPlan
from simulator.load.events import EventSource, ScenarioSource
from simulator.load.http import HttpConnection, Target
from simulator.rand import SimRandom
from simulator.verdicts.ack import http_acked

SEAL_AHEAD_S = 0.002  # seal at most this much of the schedule ahead of sending ...
SEAL_AHEAD_MAX = 32  # ... and at most this many requests


class WebhookDriver(Driver):
    def __init__(self, plan: LoadPlan, *, worker: int = 0, workers: int = 1, clock: Clock | None = None,
                 perf: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(plan, Target(plan.url), worker=worker, workers=workers, clock=clock, perf=perf)
        rand = SimRandom(plan.seed)
        if workers > 1:
            rand = rand.fork(f"load-worker-{worker}")
        factory = EventFactory(app=plan.app, rand=rand, clock=self.clock, locale=plan.locale)
        self.source: EventSource
        if plan.scenario is not None:
            from simulator.generation import scenarios

            self.source = ScenarioSource(factory, scenarios.load(plan.scenario), encrypt_key=plan.app.encrypt_key)
        else:
            self.source = EventSource(factory, plan.event_type, encrypt_key=plan.app.encrypt_key,
                                      pool_size=plan.pool_size, refresh_every=plan.refresh_every)
        self._ahead: list[bytes] = []  # requests sealed ahead (at most SEAL_AHEAD_MAX)
        # a callback type: every 200 answer is judged by its body too
        self.answers: AnswerCache | None = None if plan.scenario else answer_cache(plan.event_type)
        if self.answers is not None:
            self.body_limit = self.answers.body_limit

    def _request(self) -> bytes:
        """The next sealed request. At high rates requests are sealed a few at a time (at most
        ``SEAL_AHEAD_S`` of the schedule ahead, so ``create_time`` and the signature timestamp lead the send by
        a millisecond or two): sealing in a tight loop keeps its code and data in the CPU caches, which the
        network path between two requests evicts (+15-20 % throughput, measured)."""
        ahead = self._ahead
        if ahead:
            return ahead.pop()
        source = self.source
        n = min(SEAL_AHEAD_MAX, int(self.schedule.rate_at(self.perf() - self.ol.t0) * SEAL_AHEAD_S))
        if n <= 1:
            return source.request(self.clock.now(), self.target.head)
        now, head = self.clock.now, self.target.head
        ahead.extend(source.request(now(), head) for _ in range(n))
        ahead.reverse()
        return ahead.pop()

    def _on_response(self, conn: HttpConnection, status: int) -> None:
        if not http_acked(status, accept_2xx=self.plan.accept_2xx):
            self.recorder.sample(f"HTTP {status}: {conn.body_excerpt.decode('utf-8', 'replace')}")
        elif self.answers is not None and (problem := self.answers.problem(conn.body_excerpt)) is not None:
            self.recorder.sample(f"bad_answer: {problem}")
            return self.ol.verdict(conn, False, BAD_ANSWER, self.perf())
        self.ol.response(conn, status, self.perf())

    def source_stats(self) -> dict[str, Any]:
        return self.source.stats()

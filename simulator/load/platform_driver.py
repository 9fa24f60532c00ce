"""``PlatformDriver``: load through a long-connection platform's control API instead of a webhook.

The platform generates each event itself (plain JSON, empty token, as over the long connection), pushes
it to a connected client and answers with the judged ack: one ``/_sim/push`` per event, or, batched (the
default), one ``/_sim/push/batch`` per freed connection carrying every due event (at most
``platform_batch``), so the control plane's round trips do not cap the rate; each event keeps its
intended time and gets its own verdict.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from simulator import constants as C
from simulator.clock import Clock
from simulator.load.driver import Driver, LoadPlan
from simulator.load.http import HttpConnection, Target

PLATFORM_PUSH_PATH = f"{C.CONTROL_PREFIX}/push"
PLATFORM_BATCH_PATH = f"{C.CONTROL_PREFIX}/push/batch"
PLATFORM_SLACK_S = 2.0  # the platform judges the 3 s ack budget itself; its HTTP answer may take a bit longer


class PlatformDriver(Driver):
    body_limit = 1 << 20  # platform answers are judged by their body

    def __init__(self, plan: LoadPlan, *, worker: int = 0, workers: int = 1, clock: Clock | None = None,
                 perf: Callable[[], float] = time.perf_counter) -> None:
        if plan.platform is None:
            raise ValueError("PlatformDriver needs plan.platform")
        path = PLATFORM_BATCH_PATH if plan.platform_batch > 1 else PLATFORM_PUSH_PATH
        self._auth = (("Authorization", f"Bearer {plan.control_token}"),) if plan.control_token else ()
        self._batch_requests: dict[int, bytes] = {}
        super().__init__(plan, Target(plan.platform.rstrip("/") + path), worker=worker, workers=workers,
                         clock=clock, perf=perf, budget_s=plan.budget.total_s + PLATFORM_SLACK_S,
                         batch_max=plan.platform_batch, batched=True)
        self._fixed = self._batch_request(1)

    def _request(self) -> bytes:
        return self._fixed

    def _batch_request(self, n: int) -> bytes:
        request = self._batch_requests.get(n)
        if request is None:
            body = json.dumps({"event_type": self.plan.event_type, "count": n,
                               "app_id": self.plan.app.app_id}).encode()
            request = self._batch_requests[n] = self.target.request(body, self._auth)
        return request

    def _on_response(self, conn: HttpConnection, status: int) -> None:
        if self.plan.platform_batch > 1:
            results = judge_batch_answer(status, conn.body_excerpt, self.ol.carried(conn))
            bad = next((label for ok, label in results if not ok), None)
            if bad is not None:
                self._sample(bad, conn)
            self.ol.verdicts(conn, results, self.perf())
            return
        ok, label = judge_platform_answer(status, conn.body_excerpt)
        if not ok:
            self._sample(label, conn)
        self.ol.verdict(conn, ok, label, self.perf())

    def _sample(self, label: str, conn: HttpConnection) -> None:
        self.recorder.sample(f"{label}: {conn.body_excerpt[:300].decode('utf-8', 'replace')}")

    def source_stats(self) -> dict[str, Any]:
        return {"generated_by": "platform"}


def judge_platform_answer(status: int, body: bytes) -> tuple[bool, str]:
    """(acked, label) from a platform's ``/_sim/push`` answer for one event: acked when the client's ack
    was judged ``acked``; otherwise the label is the outcome (``ack:timeout``, ``ack:not_delivered``...)
    or the HTTP status when the platform refused the push."""
    if status != 200:
        return False, str(status)
    try:
        doc = json.loads(body)
        summary = doc["summary"]
        if int(summary["acked"]) >= 1:
            return True, "acked"
        outcomes = summary.get("outcomes") or {}
        return False, "ack:" + (max(outcomes, key=lambda k: outcomes[k]) if outcomes else "none")
    except (ValueError, KeyError, TypeError):
        return False, "ack:unreadable"


def judge_batch_answer(status: int, body: bytes, n: int) -> list[tuple[bool, str]]:
    """One (acked, label) per event from a ``/_sim/push/batch`` answer for ``n`` events: ``acked``, or
    ``ack:<outcome>``; all of them the HTTP status when the platform refused the push, or
    ``ack:unreadable`` when the answer cannot be read or does not have ``n`` verdicts."""
    if status != 200:
        return [(False, str(status))] * n
    try:
        verdicts = json.loads(body)["verdicts"]
        if not isinstance(verdicts, list) or len(verdicts) != n:
            raise ValueError("wrong number of verdicts")
        return [(True, "acked") if v == "acked" else (False, f"ack:{v}") for v in verdicts]
    except (ValueError, KeyError, TypeError):
        return [(False, "ack:unreadable")] * n

"""Test doubles for delivery: a scripted in-memory channel and scripted ASGI receivers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.rand import SimRandom, hash_seed
from simulator.verdicts.model import Attempt, Channel, Outcome
from simulator.wire.envelope import event_id_of, event_type_of

ET = "vc.meeting.share_ended_v1"
Script = Callable[[str, int], Outcome]


class FakeChannel:
    """Answers every attempt from ``script(event_id, attempt_no)``; optional real jitter (up to
    ``jitter_s``, seeded by ``jitter_seed``) shuffles the order in which concurrent attempts complete."""

    channel = Channel.WEBHOOK

    def __init__(self, script: Script, *, jitter_s: float = 0.0, jitter_seed: int = 0) -> None:
        self.script = script
        self.jitter_s = jitter_s
        self.jitter_seed = jitter_seed
        self.log: list[tuple[str, int, float]] = []  # (event_id, attempt, sent_at) in start order
        self.in_flight = 0
        self.max_in_flight = 0

    async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        eid = event_id_of(envelope)
        self.log.append((eid, attempt_no, sent_at))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.jitter_s:
                u = hash_seed(self.jitter_seed, f"{eid}:{attempt_no}") / 2.0**64
                await asyncio.sleep(u * self.jitter_s)
            else:
                await asyncio.sleep(0)
            outcome = self.script(eid, attempt_no)
        finally:
            self.in_flight -= 1
        return Attempt(event_id=eid, event_type=event_type_of(envelope), attempt=attempt_no, channel=self.channel,
                       outcome=outcome, sent_at=sent_at, latency_ms=0.1,
                       status=200 if outcome is Outcome.ACKED else (500 if outcome is Outcome.REJECTED else None))

    async def aclose(self) -> None:
        pass


def fail_first(n: int) -> Script:
    """Every event fails its first ``n`` attempts, then is acked."""
    return lambda eid, k: Outcome.REJECTED if k <= n else Outcome.ACKED


def random_script(seed: int, p_fail: float) -> Script:
    """A receiver that fails each (event, attempt) with probability ``p_fail``, in one of the ways a
    receiver can fail, deterministically in ``seed``."""
    failures = (Outcome.REJECTED, Outcome.TIMEOUT, Outcome.CONNECTION_ERROR, Outcome.NOT_DELIVERED)

    def script(eid: str, k: int) -> Outcome:
        r = SimRandom(hash_seed(seed, f"{eid}:{k}"))
        return r.choice(failures) if r.chance(p_fail) else Outcome.ACKED

    return script


def flaky_app(fail_first_n: int, *, status: int = 500) -> tuple[Starlette, list[dict[str, Any]]]:
    """An ASGI receiver that answers ``status`` to the first ``fail_first_n`` requests of each event_id
    (peeking at plaintext bodies only) and records every request's headers and body."""
    seen: dict[str, int] = {}
    log: list[dict[str, Any]] = []

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        log.append({"headers": dict(request.headers), "body": raw})
        try:
            eid = json.loads(raw)["header"]["event_id"]
        except (ValueError, KeyError, TypeError):
            eid = "?"
        seen[eid] = seen.get(eid, 0) + 1
        if seen[eid] <= fail_first_n:
            return JSONResponse({"msg": "boom"}, status_code=status)
        return JSONResponse({"msg": "success"})

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST"])]), log

"""The earliest-deadline queue over connections, and the platform's one ack timer, on an injected clock
(no sockets, no sleeps)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from simulator.platform.core import Platform
from simulator.platform.deadlines import DeadlineQueue
from simulator.platform.state import Connection, PlatformOptions, Ticket
from simulator.verdicts.model import Attempt, Outcome
from simulator.wire import frames as F

APP, SECRET = "cli_0123456789abcdef", "s3cret"


def test_queue_wakes_each_key_at_its_earliest_deadline() -> None:
    q: DeadlineQueue[str] = DeadlineQueue()
    assert q.next() is None and q.pop_due(1e9) == []
    assert q.schedule("a", 5.0)
    assert not q.schedule("a", 7.0)  # already due earlier: one entry per key
    assert q.schedule("b", 3.0) and q.next() == 3.0
    assert q.schedule("a", 4.0)  # earlier than before: replaces it
    assert q.pop_due(3.9) == ["b"] and q.next() == 4.0
    assert q.pop_due(10.0) == ["a"]  # the replaced 5.0 entry is skipped
    assert q.next() is None and len(q) == 0


def test_discarded_keys_never_come_due() -> None:
    q: DeadlineQueue[str] = DeadlineQueue()
    q.schedule("a", 1.0)
    q.schedule("b", 2.0)
    q.discard("a")
    assert "a" not in q and q.next() == 2.0 and q.pop_due(5.0) == ["b"]


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _platform(clock: _Clock) -> tuple[Platform, Connection, list[bytes]]:
    """A platform with one registered connection whose frames land in a list."""
    platform = Platform(PlatformOptions(apps={APP: SECRET}, ack_budget_s=3.0, seed=1), monotonic=clock)
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    async def close(code: int, reason: str) -> None:
        pass

    status, doc = platform.discover(json.dumps({"AppID": APP, "AppSecret": SECRET}).encode(), "ws://x")
    ticket_id = doc["data"]["URL"].rsplit("ticket=", 1)[1]
    ticket = platform.admit(ticket_id)
    assert status == 200 and isinstance(ticket, Ticket)
    return platform, platform.register(ticket_id, ticket, peer="", send=send, close=close, now_platform=0.0), sent


def _envelope(i: int) -> dict[str, Any]:
    return {"schema": "2.0", "header": {"event_id": f"e{i}", "event_type": "t"}, "event": {}}


def _ack(data: bytes) -> bytes:
    frame = F.decode(data)
    frame.payload = b'{"code": 200}'
    return F.encode(frame)


def test_one_timer_armed_at_the_earliest_deadline_judges_timeouts() -> None:
    clock = _Clock(100.0)

    async def main() -> list[Attempt]:
        platform, conn, sent = _platform(clock)
        assert platform.wake_at is None
        first = asyncio.create_task(platform.deliver(APP, _envelope(1), attempt_no=1, sent_at=0.0))
        await asyncio.sleep(0)
        assert platform.wake_at == 103.0  # the timer sleeps until the first deadline, no polling
        clock.now = 101.0
        second = asyncio.create_task(platform.deliver(APP, _envelope(2), attempt_no=1, sent_at=0.0))
        third = asyncio.create_task(platform.deliver(APP, _envelope(3), attempt_no=1, sent_at=0.0))
        await asyncio.sleep(0)
        assert platform.wake_at == 103.0 and len(sent) == 3
        await platform.on_message(conn, _ack(sent[2]))  # the client acks the third message only
        clock.now = 102.9
        platform.judge_deadlines()  # early (a timer may fire a little early): nothing is due yet
        assert not first.done() and platform.wake_at == 103.0
        clock.now = 103.0
        platform.judge_deadlines()
        assert platform.wake_at == 104.0  # the second message's deadline
        clock.now = 104.0
        platform.judge_deadlines()
        assert platform.wake_at is None  # nothing pending: no timer at all
        return [await first, await second, await third]

    first, second, third = asyncio.run(main())
    assert (first.outcome, second.outcome, third.outcome) == (Outcome.TIMEOUT, Outcome.TIMEOUT, Outcome.ACKED)
    assert first.latency_ms >= 3000.0 and third.latency_ms == 0.0


def test_a_closed_connection_leaves_the_queue_and_loses_its_messages() -> None:
    clock = _Clock(0.0)

    async def main() -> Attempt:
        platform, conn, _ = _platform(clock)
        task = asyncio.create_task(platform.deliver(APP, _envelope(1), attempt_no=1, sent_at=0.0))
        await asyncio.sleep(0)
        platform.unregister(conn, 1006)
        clock.now = 3.0
        platform.judge_deadlines()
        assert platform.wake_at is None
        return await task

    att = asyncio.run(main())
    assert att.outcome == Outcome.CONNECTION_ERROR

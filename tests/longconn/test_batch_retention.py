"""The control API's batch push (one verdict per event) and bounded delivery retention for long runs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from simulator.errors import ConfigError
from simulator.loops import EventLoopChoice
from simulator.platform_server import PlatformServer
from simulator.verdicts.model import Delivery, DeliveryLog
from tests.longconn.miniclient import MiniClient

APP, SECRET = "cli_0123456789abcdef", "s3cret"


def _delivery(i: int) -> Delivery:
    return Delivery(event_id=f"e{i}", event_type="t", envelope={}, seq=i)


def test_delivery_log_keeps_the_newest_and_counts_all() -> None:
    log = DeliveryLog(keep=8)
    for i in range(100):
        log.append(_delivery(i))
        assert len(log) <= 8 + 1  # a chunk of keep // 8 more between trims
    assert [d.event_id for d in log.newest()] == [f"e{i}" for i in range(92, 100)]
    assert log.total == 100 and log.dropped == 100 - len(log)
    unbounded = DeliveryLog()
    for i in range(100):
        unbounded.append(_delivery(i))
    assert len(unbounded) == unbounded.total == 100 and unbounded.dropped == 0
    log.clear()
    assert log.total == 0 and not log.newest()
    with pytest.raises(ConfigError):
        DeliveryLog(keep=0)


def _with_client(platform: PlatformServer, code: int, body: Any, path: str = "/_sim/push/batch") -> Any:
    async def main() -> Any:
        c = await MiniClient(platform.domain, APP, SECRET, policy=lambda _e: code).connect()
        task = asyncio.create_task(c.run())
        try:
            async with httpx.AsyncClient(base_url=platform.domain, trust_env=False) as http:
                r = await http.post(path, json=body)
            return r.status_code, r.json(), len(c.events)
        finally:
            await c.close()
            await asyncio.gather(task, return_exceptions=True)

    return asyncio.run(main())


@pytest.mark.parametrize(("code", "verdict"), [(200, "acked"), (500, "rejected")])
def test_batch_push_answers_one_verdict_per_event(code: int, verdict: str) -> None:
    with PlatformServer(app_id=APP, app_secret=SECRET, seed=2) as platform:
        status, doc, seen = _with_client(platform, code, {"count": 40})
        assert status == 200 and seen == 40
        assert doc == {"count": 40, "acked": 40 if code == 200 else 0, "verdicts": [verdict] * 40}
        assert [d.seq for d in platform.deliveries] == list(range(40))
        assert platform.summary().total == 40 and platform.summary().acked == (40 if code == 200 else 0)


def test_batch_push_without_clients_and_bad_input() -> None:
    with PlatformServer(app_id=APP, app_secret=SECRET) as platform:
        r = httpx.post(platform.domain + "/_sim/push/batch", json={"count": 3}, trust_env=False)
        assert r.json() == {"count": 3, "acked": 0, "verdicts": ["not_delivered"] * 3}
        for bad in ({"count": 0}, {"count": "x"}, {"event_type": "vc.meeting.nope"}, {"concurrency": 0}):
            r = httpx.post(platform.domain + "/_sim/push/batch", json=bad, trust_env=False)
            assert r.status_code == 400 and r.json()["error"]


def test_bounded_retention_keeps_the_newest_records_and_the_running_summary() -> None:
    with PlatformServer(app_id=APP, app_secret=SECRET, seed=4, keep_deliveries=16) as platform:
        status, doc, _ = _with_client(platform, 200, {"count": 100})
        assert status == 200 and doc["acked"] == 100
        kept = platform.deliveries
        assert len(kept) == 16 and [d.seq for d in kept] == list(range(84, 100))
        summary = platform.summary()
        assert summary.total == summary.acked == summary.attempts == 100
        state = httpx.get(platform.domain + "/_sim/state", trust_env=False).json()
        assert state["deliveries"] == 100 and 16 <= state["deliveries_retained"] <= 18
        assert state["summary"]["acked"] == 100
        platform.clear()
        assert platform.deliveries == [] and platform.summary().total == 0
    with pytest.raises(Exception, match="keep deliveries"):
        PlatformServer(keep_deliveries=0)


@pytest.mark.parametrize("choice", ["asyncio", "auto"])
def test_the_platform_thread_runs_on_the_chosen_loop(choice: EventLoopChoice) -> None:
    from simulator.errors import ConfigError
    from simulator.loops import loop_factory

    with PlatformServer(app_id=APP, app_secret=SECRET, event_loop=choice) as platform:
        module = type(platform.server.loop).__module__
        try:
            import uvloop  # noqa: F401
            expected = "asyncio" if choice == "asyncio" else "uvloop"
        except ImportError:
            expected = "asyncio"
        assert module.split(".")[0] == expected
        assert httpx.get(platform.domain + "/_sim/state", trust_env=False).status_code == 200
    with pytest.raises(ConfigError, match="unknown event loop"):
        loop_factory("trio")  # type: ignore[arg-type]  # not a choice, on purpose

"""A push that does not say how many events may be in flight gets ``auto_concurrency``: 16 per live
connection of its app (at most 1024), instead of one at a time."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from simulator.platform.pushing import AUTO_MAX, AUTO_PER_CONNECTION, auto_concurrency
from simulator.platform_server import ClientConfig, PlatformServer
from tests.longconn.miniclient import MiniClient

APP, SECRET = "cli_0123456789abcdef", "s3cret"
BUDGET = 0.4


def test_auto_concurrency_rule() -> None:
    assert auto_concurrency(1, 50) == 1
    assert auto_concurrency(100_000, 0) == AUTO_PER_CONNECTION  # nobody online yet: as for one connection
    assert auto_concurrency(100_000, 2) == 2 * AUTO_PER_CONNECTION
    assert auto_concurrency(100_000, 50) == 50 * AUTO_PER_CONNECTION == 800
    assert auto_concurrency(100_000, 500) == AUTO_MAX


def test_a_push_without_concurrency_has_events_in_flight_together() -> None:
    """Against a client that never acks, each event takes the whole ack budget: one at a time, sends are a
    budget apart; with the automatic limit they all go out at once."""
    config = ClientConfig(reconnect_count=0, reconnect_interval=1, reconnect_nonce=0, ping_interval=60)
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=config, seed=2, ack_budget_s=BUDGET) as server:

        async def main() -> tuple[Any, Any]:
            client = await MiniClient(server.domain, APP, SECRET, policy=lambda _e: None).connect()
            task = asyncio.create_task(client.run())
            async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
                auto = (await http.post(server.domain + "/_sim/push", json={"count": 10})).json()
                one = (await http.post(server.domain + "/_sim/push", json={"count": 3, "concurrency": 1})).json()
            await client.close()
            await task
            return auto, one

        auto, one = asyncio.run(main())

    def sends(doc: Any) -> list[float]:
        return sorted(d["attempts"][0]["sent_at"] for d in doc["deliveries"])

    assert auto["summary"]["outcomes"] == {"timeout": 10} and one["summary"]["outcomes"] == {"timeout": 3}
    assert sends(auto)[-1] - sends(auto)[0] < BUDGET / 2
    gaps = [b - a for a, b in zip(sends(one), sends(one)[1:], strict=False)]
    assert all(g >= BUDGET * 0.9 for g in gaps)

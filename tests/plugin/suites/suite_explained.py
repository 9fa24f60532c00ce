"""Failures that explain themselves: the README's assertion on a slow handler, lost acks under the drop fault,
refused redeliveries, an event id never pushed, the platform's own pushes; and the harness (serve, verify_url)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.platform_server import PlatformServer
from simulator.receiver import ReferenceReceiver
from simulator.testing import FeishuSim

handled: list[str] = []
seen: set[str] = set()


async def slow(request: Request) -> JSONResponse:
    await asyncio.sleep(0.3)  # past the 100 ms budget the tests set
    handled.append((await request.json())["header"]["event_id"])
    return JSONResponse({"msg": "success"})


async def refuses_redeliveries(request: Request) -> JSONResponse:
    event_id = (await request.json())["header"]["event_id"]
    if event_id in seen:
        return JSONResponse({"msg": "already handled"}, status_code=500)
    seen.add(event_id)
    return JSONResponse({"msg": "success"})


app = Starlette(routes=[Route("/webhook/event", slow, methods=["POST"]),
                        Route("/once", refuses_redeliveries, methods=["POST"])])
correct = ReferenceReceiver().app()


@pytest.mark.feishu(timeout="100ms")
def test_the_readme_assertion_names_the_timeout(feishu_sim: FeishuSim) -> None:
    delivery = feishu_sim.push(app)
    assert handled == [delivery.event_id]  # the handler finished its work, as behind a real server
    assert delivery.acked


@pytest.mark.parametrize("n", range(20))
@pytest.mark.feishu(faults="drop=0.5")
def test_a_correct_receiver_is_never_blamed_for_lost_acks(feishu_sim: FeishuSim, n: int) -> None:
    feishu_sim.push(correct, count=5)


@pytest.mark.feishu(faults="drop=1", seed=1)
def test_own_failure_shows_the_lost_deliveries(feishu_sim: FeishuSim) -> None:
    feishu_sim.push(correct)
    raise AssertionError("the test's own failure")


@pytest.mark.feishu(faults="dup=1", path="/once")
def test_a_refused_duplicate_is_named(feishu_sim: FeishuSim) -> None:
    feishu_sim.push(app)


@pytest.mark.feishu(faults="drop=0.5", retries=3, path="/once", seed=5)
def test_a_refused_retry_after_a_lost_ack_is_named(feishu_sim: FeishuSim) -> None:
    feishu_sim.push(app, count=6)


def test_asking_about_an_event_never_pushed(feishu_sim: FeishuSim) -> None:
    feishu_sim.push(correct)
    feishu_sim.assert_rejected("unknown-id")


def test_the_platform_pushes_are_checked_too(feishu_platform: PlatformServer) -> None:
    feishu_platform.push()  # no client connected: not delivered


@pytest.mark.feishu(encrypt_key="k")
def test_serve_and_verify_url(feishu_sim: FeishuSim) -> None:
    rr = ReferenceReceiver(encrypt_key="k")
    url = feishu_sim.serve(rr.app())
    assert feishu_sim.verify_url(url).ok
    assert feishu_sim.push(url).acked and len(rr.state.events) == 1
    assert not feishu_sim.verify_url(correct).ok  # a receiver without the key cannot decrypt the challenge

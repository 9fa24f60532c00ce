"""Tests that fail (or not) because of what the plugin checks after the body: the failures it reports."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.testing import FeishuSim


async def refuse(request: Request) -> JSONResponse:
    return JSONResponse({"msg": "nope"}, status_code=500)


async def accept(request: Request) -> JSONResponse:
    return JSONResponse({"msg": "success"})


async def explode(request: Request) -> JSONResponse:
    raise KeyError("meeting_id")


app = Starlette(routes=[Route("/webhook/event", refuse, methods=["POST"]),
                        Route("/ok", accept, methods=["POST"]),
                        Route("/explode", explode, methods=["POST"])])


def test_unacked_fails(feishu_sim: FeishuSim) -> None:
    feishu_sim.push(app, overrides={"event.meeting.topic": "never acked"})


def test_unexpected_ack_fails(feishu_sim: FeishuSim) -> None:
    feishu_sim.push(app, path="/ok", expect_rejected=True)


def test_app_exception_is_named(feishu_sim: FeishuSim) -> None:
    feishu_sim.push(app, path="/explode")


@pytest.mark.feishu(check_unacked=False)
def test_opted_out(feishu_sim: FeishuSim) -> None:
    assert not feishu_sim.push(app).acked


def test_own_failure_is_not_doubled(feishu_sim: FeishuSim) -> None:
    feishu_sim.push(app)
    raise AssertionError("the test's own failure")

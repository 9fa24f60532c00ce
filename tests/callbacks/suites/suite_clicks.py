"""Card clicks in a user's test suite: what the plugin's check after the body makes of their answers."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.testing import FeishuSim


def app(answer: dict[str, Any]) -> Starlette:
    async def endpoint(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse(answer)

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])])


def test_good_click(feishu_sim: FeishuSim) -> None:
    answer = feishu_sim.click(app({"toast": {"type": "success", "content": "Approved"}}), value={"approve": True})
    assert answer.toast == {"type": "success", "content": "Approved"}
    feishu_sim.assert_toast(type="success", content="Approved")


def test_bad_click(feishu_sim: FeishuSim) -> None:
    feishu_sim.click(app({"toast": {"type": "ok", "content": "Approved"}}))


def test_bad_click_expected(feishu_sim: FeishuSim) -> None:
    answer = feishu_sim.click(app({"toast": {"type": "ok"}}), expect_rejected=True)
    assert not answer.valid


def test_wrong_toast(feishu_sim: FeishuSim) -> None:
    feishu_sim.click(app({"toast": {"type": "info", "content": "x"}}))
    feishu_sim.assert_toast(type="success")

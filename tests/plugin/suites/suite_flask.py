"""A WSGI (Flask) receiver: from sync and async tests, and an app that raises."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request

from simulator.testing import FeishuSim

TOKEN = "flask-token"
app = Flask(__name__)
seen: list[dict[str, Any]] = []


@app.post("/webhook/event")
def webhook() -> dict[str, str] | tuple[dict[str, str], int]:
    body = request.get_json()
    if body["header"]["token"] != TOKEN:
        return {"msg": "invalid token"}, 401
    seen.append(body)
    return {"msg": "success"}


@app.post("/broken")
def broken() -> dict[str, str]:
    raise RuntimeError("database is down")


pytestmark = pytest.mark.feishu(verification_token=TOKEN)


def test_flask_receives(feishu_sim: FeishuSim) -> None:
    d = feishu_sim.push(app, overrides={"event.meeting.topic": "Flask review"})
    assert d.acked
    assert seen[-1]["event"]["meeting"]["topic"] == "Flask review"


def test_flask_error_is_a_500(feishu_sim: FeishuSim) -> None:
    d = feishu_sim.push(app, path="/broken", expect_rejected=True)
    assert d.last is not None and d.last.status == 500


@pytest.mark.anyio
async def test_flask_from_async_code(feishu_sim: FeishuSim) -> None:
    d = await feishu_sim.apush(app)
    assert d.acked and seen[-1]["header"]["event_id"] == d.event_id

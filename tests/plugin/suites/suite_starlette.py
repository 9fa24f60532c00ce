"""An ASGI (Starlette) receiver: overrides, counts, the token, the retry ladder, anyio, scenarios, faults."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.testing import FeishuSim

TOKEN = "v-token-0123456789abcdef"
seen: list[dict[str, Any]] = []
failures_left = {"n": 0}


async def webhook(request: Request) -> JSONResponse:
    body = await request.json()
    if body["header"]["token"] != TOKEN:
        return JSONResponse({"msg": "invalid token"}, status_code=401)
    if failures_left["n"] > 0:
        failures_left["n"] -= 1
        return JSONResponse({"msg": "busy"}, status_code=503)
    seen.append(body)
    return JSONResponse({"msg": "success"})


app = Starlette(routes=[Route("/feishu/events", webhook, methods=["POST"])])


@pytest.fixture
def feishu_config() -> dict[str, Any]:
    return {"verification_token": TOKEN, "path": "/feishu/events"}


def test_push_with_override(feishu_sim: FeishuSim) -> None:
    d = feishu_sim.push(app, "vc.meeting.share_ended_v1", overrides={"event.meeting.topic": "Q3 review"})
    assert d.acked and d.last is not None
    assert d.last.status == 200 and d.last.target == "http://testserver/feishu/events"
    assert seen[-1]["event"]["meeting"]["topic"] == "Q3 review"
    assert seen[-1]["header"]["event_id"] == d.event_id


def test_count_and_assertions(feishu_sim: FeishuSim) -> None:
    ds = feishu_sim.push(app, count=3)
    assert len({d.event_id for d in ds}) == 3
    feishu_sim.assert_all_acked()
    assert feishu_sim.assert_acked(ds[1].event_id) is ds[1]
    assert [a.event_id for a in feishu_sim.attempts] == [d.event_id for d in ds]
    assert feishu_sim.summary().acked == 3


@pytest.mark.feishu(verification_token="not-the-right-token")
def test_wrong_token_is_rejected(feishu_sim: FeishuSim) -> None:
    d = feishu_sim.push(app, expect_rejected=True)
    assert not d.acked and d.last is not None and d.last.status == 401
    feishu_sim.assert_rejected(d.event_id)


@pytest.mark.feishu(retries="feishu")
def test_retry_ladder_runs_in_virtual_time(feishu_sim: FeishuSim) -> None:
    failures_left["n"] = 2
    t0 = time.perf_counter()
    d = feishu_sim.push(app)
    assert d.acked_at_attempt == 3
    sent = [a.sent_at for a in d.attempts]
    assert [round(b - a, 3) for a, b in itertools.pairwise(sent)] == [15.0, 300.0]
    assert {a.event_id for a in d.attempts} == {d.event_id}
    assert time.perf_counter() - t0 < 2


@pytest.mark.anyio
async def test_async_push(feishu_sim: FeishuSim) -> None:
    ds = await feishu_sim.apush(app, count=2, concurrency=2)
    assert [d.acked for d in ds] == [True, True]


def test_scenario(feishu_sim: FeishuSim) -> None:
    before = len(seen)
    ds = feishu_sim.push_scenario(app, "plain-meeting")
    got = seen[before:]
    assert [e["header"]["event_id"] for e in got] == [d.event_id for d in ds]
    types = [e["header"]["event_type"] for e in got]
    assert types[0] == "vc.meeting.meeting_started_v1" and types[-1] == "vc.meeting.meeting_ended_v1"
    assert len({e["event"]["meeting"]["id"] for e in got}) == 1
    times = [int(e["header"]["create_time"]) for e in got]
    assert times == sorted(times)


@pytest.mark.feishu(faults="dup=1", retries="feishu")
def test_faults_duplicate_every_event(feishu_sim: FeishuSim) -> None:
    before = len(seen)
    ds = feishu_sim.push(app, count=3)
    assert feishu_sim.summary().duplicates == 3 and len(feishu_sim.deliveries) == 6
    ids = [e["header"]["event_id"] for e in seen[before:]]
    assert len(ids) == 6 and set(ids) == {d.event_id for d in ds}


@pytest.mark.anyio
async def test_async_scenario(feishu_sim: FeishuSim) -> None:
    ds = await feishu_sim.apush_scenario(app, "share-and-record", concurrency=4)
    assert ds and all(d.acked for d in ds)

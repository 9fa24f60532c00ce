"""An app on lark-oapi that subscribes to two types: over the long connection (``LarkWsClient``, the app id
configured once) and over webhook, with a scenario limited to its types (``only=``) and without."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import pytest
from flask import Flask
from lark_oapi.adapter.flask import parse_req, parse_resp

from simulator.lark_client import LarkWsClient
from simulator.platform_server import PlatformServer
from simulator.testing import FeishuSim

APP_ID, APP_SECRET = "cli_0123456789abcdef", "ws-secret"
started: list[Any] = []
handler = (lark.EventDispatcherHandler.builder("", "", lark.LogLevel.CRITICAL)
           .register_p2_vc_meeting_meeting_started_v1(started.append)
           .register_p2_vc_meeting_meeting_ended_v1(lambda data: None)
           .build())
app = Flask(__name__)


@app.post("/webhook/event")
def webhook() -> Any:
    return parse_resp(handler.do(parse_req()))


@pytest.fixture(scope="session")
def feishu_platform_options() -> dict[str, Any]:
    return {"app_id": APP_ID, "app_secret": APP_SECRET}  # the app id, once


@pytest.fixture(scope="module")
def sdk_client(feishu_platform_server: PlatformServer) -> Iterator[LarkWsClient]:
    with LarkWsClient(feishu_platform_server, handler) as client:
        yield client


def test_the_platform_app_without_repeating_it(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                               sdk_client: LarkWsClient) -> None:
    delivery = feishu_sim.push(feishu_platform, "vc.meeting.meeting_started_v1")
    assert delivery.acked and started[-1].header.event_id == delivery.event_id
    assert started[-1].header.app_id == APP_ID


def test_only_the_subscribed_types(feishu_sim: FeishuSim) -> None:
    types = ["vc.meeting.meeting_started_v1", "vc.meeting.meeting_ended_v1"]
    deliveries = feishu_sim.push_scenario(app, "plain-meeting", only=types)
    assert [d.event_type for d in deliveries] == types


def test_a_whole_scenario_to_an_app_that_subscribes_to_two_types(feishu_sim: FeishuSim) -> None:
    feishu_sim.push_scenario(app, "plain-meeting")

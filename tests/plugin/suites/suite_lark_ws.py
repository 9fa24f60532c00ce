"""The official ``lark.ws.Client`` connected to the plugin's long-connection platform (``LarkWsClient``);
the app id configured once, in ``feishu_platform_options``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import pytest

from simulator.lark_client import LarkWsClient
from simulator.platform_server import PlatformServer
from simulator.testing import FeishuSim

APP_ID, APP_SECRET = "cli_0123456789abcdef", "ws-secret"
shares: list[Any] = []


def on_share_ended(data: Any) -> None:
    if data.event.meeting.topic == "crash":
        raise RuntimeError("handler crashed")
    shares.append(data)


@pytest.fixture(scope="session")
def feishu_platform_options() -> dict[str, Any]:
    return {"app_id": APP_ID, "app_secret": APP_SECRET}


@pytest.fixture(scope="module")
def sdk_client(feishu_platform_server: PlatformServer) -> Iterator[LarkWsClient]:
    handler = lark.EventDispatcherHandler.builder("", "").register_p2_vc_meeting_share_ended_v1(on_share_ended).build()
    with LarkWsClient(feishu_platform_server, handler, log_level=lark.LogLevel.CRITICAL) as client:
        yield client


def test_events_reach_the_sdk_handler(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                      sdk_client: LarkWsClient) -> None:
    ds = feishu_sim.push(feishu_platform, count=3, overrides={"event.meeting.topic": "WS review"})
    assert [d.last.status if d.last else None for d in ds] == [200, 200, 200]
    assert [str(d.last.channel) if d.last else None for d in ds] == ["longconn"] * 3
    assert [s.header.event_id for s in shares[-3:]] == [d.event_id for d in ds]
    assert shares[-1].event.meeting.topic == "WS review"
    assert shares[-1].header.token == ""


def test_a_crashing_handler_acks_500(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                     sdk_client: LarkWsClient) -> None:
    d = feishu_sim.push(feishu_platform, overrides={"event.meeting.topic": "crash"}, expect_rejected=True)
    assert d.last is not None and d.last.status == 500


@pytest.mark.feishu(app_id="cli_ffffffffffffffff")
def test_no_client_of_the_app_online(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                     sdk_client: LarkWsClient) -> None:
    d = feishu_sim.push(feishu_platform, expect_rejected=True)
    assert d.last is not None and str(d.last.outcome) == "not_delivered"


def test_platform_push_and_faults(feishu_platform: PlatformServer, sdk_client: LarkWsClient) -> None:
    assert [d.acked for d in feishu_platform.push(count=2)] == [True, True]
    assert len(feishu_platform.connections()) == 1
    feishu_platform.ack_judgement(drop=True)  # acks ignored from now on...


@pytest.mark.anyio
async def test_faults_do_not_leak_into_the_next_test(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                                     sdk_client: LarkWsClient) -> None:
    d = await feishu_sim.apush(feishu_platform)  # ...but the platform was cleared for this test
    assert d.acked and feishu_platform.deliveries == []


def test_crash_without_expectation_fails(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                         sdk_client: LarkWsClient) -> None:
    feishu_sim.push(feishu_platform, overrides={"event.meeting.topic": "crash"})

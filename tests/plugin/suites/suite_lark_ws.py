"""The official ``lark.ws.Client`` connected to the plugin's long-connection platform."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import lark_oapi.ws.client as lark_ws_client
import pytest

from simulator.platform_server import PlatformServer
from simulator.testing import FeishuSim

APP_ID, APP_SECRET = "cli_0123456789abcdef", "ws-secret"
shares: list[Any] = []


def on_share_ended(data: Any) -> None:
    if data.event.meeting.topic == "crash":
        raise RuntimeError("handler crashed")
    shares.append(data)


class SdkClient:
    """lark.ws.Client (which blocks in start() and has no stop()) in a daemon thread."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.loop = asyncio.new_event_loop()
        self.client: Any = None

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        lark_ws_client.loop = self.loop  # the SDK keeps its loop in a module global
        handler = lark.EventDispatcherHandler.builder("", "").register_p2_vc_meeting_share_ended_v1(
            on_share_ended).build()
        self.client = lark.ws.Client(APP_ID, APP_SECRET, event_handler=handler, domain=self.domain,
                                     log_level=lark.LogLevel.CRITICAL)
        self.ready.set()
        with contextlib.suppress(RuntimeError):  # the loop was stopped by __exit__
            self.client.start()

    def __enter__(self) -> SdkClient:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client._auto_reconnect = False
        self.loop.set_exception_handler(lambda loop, context: None)  # the receive task ends with the socket
        asyncio.run_coroutine_threadsafe(self.client._disconnect(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        tasks = asyncio.all_tasks(self.loop)  # ping and receive loops, the SDK cache's timer
        for task in tasks:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()


@pytest.fixture(scope="session")
def feishu_platform_options() -> dict[str, Any]:
    return {"app_id": APP_ID, "app_secret": APP_SECRET}


@pytest.fixture(scope="module")
def sdk_client(feishu_platform_server: PlatformServer) -> Iterator[SdkClient]:
    with SdkClient(feishu_platform_server.domain) as client:
        feishu_platform_server.wait_for_clients(1, timeout=10)
        yield client


@pytest.mark.feishu(app_id=APP_ID)
def test_events_reach_the_sdk_handler(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                      sdk_client: SdkClient) -> None:
    ds = feishu_sim.push(feishu_platform, count=3, overrides={"event.meeting.topic": "WS review"})
    assert [d.last.status if d.last else None for d in ds] == [200, 200, 200]
    assert [str(d.last.channel) if d.last else None for d in ds] == ["longconn"] * 3
    assert [s.header.event_id for s in shares[-3:]] == [d.event_id for d in ds]
    assert shares[-1].event.meeting.topic == "WS review"
    assert shares[-1].header.token == ""


@pytest.mark.feishu(app_id=APP_ID)
def test_a_crashing_handler_acks_500(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                     sdk_client: SdkClient) -> None:
    d = feishu_sim.push(feishu_platform, overrides={"event.meeting.topic": "crash"}, expect_rejected=True)
    assert d.last is not None and d.last.status == 500


@pytest.mark.feishu(app_id="cli_ffffffffffffffff")
def test_no_client_of_the_app_online(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                     sdk_client: SdkClient) -> None:
    d = feishu_sim.push(feishu_platform, expect_rejected=True)
    assert d.last is not None and str(d.last.outcome) == "not_delivered"


def test_platform_push_and_faults(feishu_platform: PlatformServer, sdk_client: SdkClient) -> None:
    assert [d.acked for d in feishu_platform.push(count=2)] == [True, True]
    assert len(feishu_platform.connections()) == 1
    feishu_platform.ack_judgement(drop=True)  # acks ignored from now on...


@pytest.mark.anyio
@pytest.mark.feishu(app_id=APP_ID)
async def test_faults_do_not_leak_into_the_next_test(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                                     sdk_client: SdkClient) -> None:
    d = await feishu_sim.apush(feishu_platform)  # ...but the platform was cleared for this test
    assert d.acked and feishu_platform.deliveries == []


@pytest.mark.feishu(app_id=APP_ID)
def test_crash_without_expectation_fails(feishu_platform: PlatformServer, feishu_sim: FeishuSim,
                                         sdk_client: SdkClient) -> None:
    feishu_sim.push(feishu_platform, overrides={"event.meeting.topic": "crash"})

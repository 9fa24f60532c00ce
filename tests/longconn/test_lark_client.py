"""The unmodified official ``lark.ws.Client`` (lark-oapi 1.7.5) against the platform
(docs/protocol.md#the-websocket-client-in-a-background-thread)."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import pytest

from simulator.platform.session import PongConfig
from simulator.platform_server import TEST_CLIENT_CONFIG, ClientConfig, PlatformServer
from simulator.verdicts.model import Outcome
from tests.longconn.lark_ws import LarkWsThread
from tests.longconn.miniclient import MiniClient
from tests.polling import wait_until

pytestmark = pytest.mark.lark_sdk

APP_ID = "cli_a1b2c3d4e5f60718"
SECRET = "test-secret"
RAISE = "please raise"


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.cond = threading.Condition()

    def __call__(self, event: Any) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()
        if event.event.meeting.topic == RAISE:
            raise RuntimeError("handler failure on purpose")

    def ids(self) -> list[str]:
        with self.cond:
            return [e.header.event_id for e in self.events]

    def wait_for(self, n: int, timeout: float = 5.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.events) >= n, timeout), f"{len(self.events)} of {n} events"


@pytest.fixture(scope="module")
def platform() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=7,
                        fragment_size=4096) as server:
        yield server


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(platform: PlatformServer, recorder: Recorder) -> Iterator[LarkWsThread]:
    """One client per test: ``lark.ws.Client`` keeps its event loop in a module global, so two clients
    alive at once in one process would trample each other."""
    platform.clear()
    with LarkWsThread(platform.domain, APP_ID, SECRET, on_share_ended=recorder) as c:
        yield c
    wait_until(lambda: not platform.connections(), "the client to go away", timeout=5)


@pytest.fixture
def conn_id(platform: PlatformServer, client: LarkWsThread) -> str:
    [info] = platform.wait_for_clients(1, timeout=10)
    return str(info["conn_id"])


def test_client_connects_and_pings(platform: PlatformServer, conn_id: str) -> None:
    wait_until(lambda: platform.connections()[0]["counters"]["pings"] >= 1, "the first ping", timeout=5)
    [info] = platform.connections()
    assert info["app_id"] == APP_ID and info["counters"]["pongs"] >= 1 and info["counters"]["malformed"] == 0


def test_share_ended_reaches_typed_handler_with_generated_fields(platform: PlatformServer, recorder: Recorder,
                                                                 conn_id: str) -> None:
    before = len(recorder.events)
    [d] = platform.push("vc.meeting.share_ended_v1")
    recorder.wait_for(before + 1)
    got = recorder.events[-1]
    assert isinstance(got, lark.vc.v1.P2VcMeetingShareEndedV1)
    sent = d.envelope
    assert got.header.event_id == sent["header"]["event_id"]
    assert got.header.token == "" and got.header.app_id == APP_ID
    # Every field of the typed object equals the generated one (the SDK's JSON of the object drops nothing).
    assert json.loads(lark.JSON.marshal(got.event)) == sent["event"]
    assert json.loads(lark.JSON.marshal(got.header)) == sent["header"]


def test_ack_200_recorded_with_biz_rt(platform: PlatformServer, conn_id: str) -> None:
    [d] = platform.push(count=1)
    att = d.last
    assert att is not None and d.acked
    assert (att.outcome, att.status, att.target) == (Outcome.ACKED, 200, conn_id)
    assert att.response_body == '{"code": 200}'  # the Python SDK's spaced form
    assert isinstance(att.extra["biz_rt"], float) and att.extra["biz_rt"] >= 0
    assert att.channel == "longconn" and att.latency_ms < 3000


def test_fragmented_large_event_is_delivered_once(platform: PlatformServer, recorder: Recorder,
                                                  conn_id: str) -> None:
    topic = "大型会议" * 3000  # ~36 KiB of UTF-8 against a 4 KiB fragment size
    [d] = platform.push(overrides={"event.meeting.topic": topic})
    assert d.acked and d.last is not None
    assert d.last.extra["fragments"] >= 9
    recorder.wait_for(1)
    time.sleep(0.3)  # a duplicate dispatch would show up right after the ack
    assert recorder.ids().count(d.event_id) == 1
    assert next(e for e in recorder.events if e.header.event_id == d.event_id).event.meeting.topic == topic


def test_raising_handler_gives_ack_500_and_not_acked(platform: PlatformServer, conn_id: str) -> None:
    [d] = platform.push(overrides={"event.meeting.topic": RAISE})
    att = d.last
    assert att is not None and not d.acked and str(d.final) == "exhausted"
    assert (att.outcome, att.status, att.detail) == (Outcome.REJECTED, 500, "ack code 500")
    assert "biz_rt" not in att.extra  # Python sends no biz_rt on failure (docs/protocol.md#acknowledgement-frames)


def test_server_close_makes_client_reconnect(platform: PlatformServer, recorder: Recorder, conn_id: str) -> None:
    platform.close_connection(conn_id, code=4000, reason="test close")
    new = wait_until(lambda: [c for c in platform.connections() if c["conn_id"] != conn_id], "a reconnect", timeout=10)
    assert len(new) == 1
    ds = platform.push(count=3)
    assert all(d.acked and d.last is not None and d.last.target == new[0]["conn_id"] for d in ds)
    assert set(d.event_id for d in ds) <= set(recorder.ids())
    assert platform.counters()["endpoint_requests"] >= 1  # the client re-ran discovery


def test_no_connection_is_not_delivered(platform: PlatformServer) -> None:
    other = PlatformServer(app_id=APP_ID, app_secret=SECRET)
    with other:
        [d] = other.push()
    assert d.last is not None and d.last.outcome == Outcome.NOT_DELIVERED and not d.acked


@pytest.mark.parametrize("mode", [PongConfig.ALWAYS, PongConfig.CHANGED])
def test_pong_client_config_changes_the_ping_interval(mode: PongConfig) -> None:
    """In every pong (the default) or only in the first one after the change: the client follows."""
    config = ClientConfig(reconnect_count=-1, reconnect_interval=1, reconnect_nonce=0, ping_interval=1)
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=config, pong_config=mode) as server, \
            LarkWsThread(server.domain, APP_ID, SECRET):
        server.wait_for_clients(1, timeout=10)
        wait_until(lambda: server.connections()[0]["counters"]["pings"] >= 1, "the first ping", timeout=5)
        server.set_client_config(ping_interval=2)
        wait_until(lambda: server.connections()[0]["counters"]["pings"] >= 4, "four pings", timeout=8)
        conn = server.platform.connections[server.connections()[0]["conn_id"]]
        times = list(conn.session.ping_times)[:4]
        counters = conn.session.counters
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # The pong to the second ping carried {"PingInterval": 2, ...}. The client sleeps right after sending
    # a ping, so the sleep after that ping still used 1 s and the next one 2 s.
    assert all(0.7 < g < 1.4 for g in gaps[:2]) and 1.7 < gaps[2] < 2.6, gaps
    assert counters.pongs_with_config == (counters.pongs if mode is PongConfig.ALWAYS else 1)


def test_wrong_secret_makes_start_fail(platform: PlatformServer) -> None:
    bad = LarkWsThread(platform.domain, APP_ID, "wrong-secret").start()
    assert bad.join(10), "start() kept running"
    err = bad.error
    assert type(err).__name__ == "ClientException" and getattr(err, "code", None) == 514, repr(err)


def test_connection_limit_rejects_at_handshake_and_start_fails() -> None:
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG,
                        max_connections=1) as server:
        async def occupy() -> None:  # the app's only slot, taken by a minimal client
            first = await MiniClient(server.domain, APP_ID, SECRET).connect()
            try:
                second = LarkWsThread(server.domain, APP_ID, SECRET).start()
                assert await asyncio.to_thread(second.join, 10)
            finally:
                await first.close()
            err = second.error
            assert type(err).__name__ == "ClientException" and getattr(err, "code", None) == 514, repr(err)
            assert "exceed connection limit" in str(err)

        asyncio.run(occupy())
        assert server.counters()["handshake_conn_limit"] == 1

"""The harness: ``FeishuSim.serve`` (an app on a real loopback server), ``verify_url``, ``push_scenario(only=)``,
in-process handlers past the budget, and the long-connection clients (``LarkWsClient``, ``ClientProcess``)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.errors import ConfigError, TargetError, UnknownEventType, UsageError
from simulator.harness import ClientProcess
from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from simulator.receiver import ReferenceReceiver
from simulator.testing import FeishuSim
from simulator.verdicts.model import Outcome

APP_ID, SECRET = "cli_a1b2c3d4e5f60718", "harness-secret"
NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture
def sim() -> Iterator[FeishuSim]:
    with FeishuSim.from_options(seed=3) as s:
        yield s


@pytest.fixture(scope="module")
def platform() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=5) as server:
        yield server


def _flask_app(seen: list[str]) -> Flask:
    app = Flask("served")

    @app.post("/webhook/event")
    def hook() -> dict[str, str]:
        seen.append("flask")
        return {"msg": "success"}

    return app


def test_serve_runs_asgi_and_wsgi_apps_on_loopback_until_close() -> None:
    rr = ReferenceReceiver(encrypt_key="k")
    seen: list[str] = []
    with FeishuSim.from_options(encrypt_key="k", seed=1) as sim:
        asgi_url = sim.serve(rr.app())
        wsgi_url = sim.serve(_flask_app(seen), path="/webhook/event")
        assert asgi_url.startswith("http://127.0.0.1:") and asgi_url.endswith("/webhook/event")
        ds = [sim.push(asgi_url), sim.push(wsgi_url)]
        assert [d.acked for d in ds] == [True, True]
        assert ds[0].last is not None and ds[0].last.target == asgi_url
    assert [e.event_id for e in rr.state.events] == [ds[0].event_id] and seen == ["flask"]
    port = int(asgi_url.split(":")[2].split("/")[0])
    with pytest.raises(ConnectionRefusedError):  # stopped when the helper closed
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_serve_refuses_what_is_not_an_app(sim: FeishuSim) -> None:
    with pytest.raises(ConfigError, match=r"cannot serve 42 \(builtins.int\): neither an ASGI app"):
        sim.serve(42)


def test_a_served_wsgi_handler_past_the_budget_finishes_its_work() -> None:
    done = threading.Event()
    app = Flask("slow")

    @app.post("/webhook/event")
    def slow() -> dict[str, str]:
        time.sleep(0.4)
        done.set()
        return {"msg": "success"}

    with FeishuSim.from_options(timeout=0.15) as sim:
        d = sim.push(sim.serve(app), expect_rejected=True)
        assert d.last is not None and d.last.outcome is Outcome.TIMEOUT
        assert done.wait(5)  # the server let it finish, as production does


def test_an_async_handler_past_the_budget_finishes_in_process_too(sim: FeishuSim) -> None:
    side_effects: list[str] = []

    async def slow(request: Request) -> JSONResponse:
        await asyncio.sleep(0.3)
        side_effects.append((await request.json())["header"]["event_id"])
        return JSONResponse({"msg": "success"})

    with FeishuSim.from_options(timeout=0.1, retries=1) as s:
        d = s.push(Starlette(routes=[Route("/webhook/event", slow, methods=["POST"])]), expect_rejected=True)
    # Judged at the budget, not cancelled: both attempts did their work, the retry after the first finished.
    assert [a.outcome for a in d.attempts] == [Outcome.TIMEOUT, Outcome.TIMEOUT]
    assert side_effects == [d.event_id, d.event_id]
    assert all(a.extra["late_answer"].startswith("HTTP 200 after ") for a in d.attempts)
    assert all(a.latency_ms < 290 for a in d.attempts)


def test_verify_url_judges_the_challenge_of_an_app_and_of_a_url() -> None:
    async def wrong(request: Request) -> JSONResponse:
        return JSONResponse({"challenge": "nope"})

    rr = ReferenceReceiver(encrypt_key="k", verification_token="t")
    with FeishuSim.from_options(encrypt_key="k", verification_token="t", seed=2) as sim:
        good = sim.verify_url(rr.app())
        live = sim.verify_url(sim.serve(rr.app()))
        bad = sim.verify_url(Starlette(routes=[Route("/webhook/event", wrong, methods=["POST"])]))
    assert good.ok and live.ok and [c.name for c in good] == ["status", "json body", "challenge echoed",
                                                              "within budget"]
    assert not bad.ok and [c.name for c in bad.failed] == ["challenge echoed"]
    assert repr(bad).startswith("UrlVerification(1 of 4 checks failed: PASS  status: HTTP 200; PASS  json body: "
                                "a JSON object; FAIL  challenge echoed: got 'nope', expected '")


def test_push_scenario_only_the_subscribed_types(sim: FeishuSim) -> None:
    rr = ReferenceReceiver()
    wanted = ["vc.meeting.meeting_started_v1", "vc.meeting.meeting_ended_v1"]
    ds = sim.push_scenario(rr.app(), "plain-meeting", only=wanted)
    assert [d.event_type for d in ds] == wanted
    with pytest.raises(UnknownEventType, match=r"unknown event type 'vc\.meeting\.meeting_start_v1'"):
        sim.push_scenario(rr.app(), "plain-meeting", only=["vc.meeting.meeting_start_v1"])
    with pytest.raises(ConfigError, match=r"scenario 'plain-meeting' has no event of the types in only= \(its "
                                          r"types: vc.meeting.*"):
        sim.push_scenario(rr.app(), "plain-meeting", only=["im.message.receive_v1"])
    with pytest.raises(ConfigError, match=r"only= takes a list of event types, got 'vc\.meeting"):
        sim.push_scenario(rr.app(), "plain-meeting", only="vc.meeting.meeting_started_v1")


def test_the_platform_app_is_configured_once(platform: PlatformServer) -> None:
    platform.clear()
    with FeishuSim.from_options(seed=1) as sim:  # no app_id: the platform's app
        d = sim.push(platform, expect_rejected=True)  # no client connected: not delivered
        assert sim.config.app.app_id == APP_ID and d.envelope["header"]["app_id"] == APP_ID
    assert d.last is not None and d.last.detail == f"no connection of app {APP_ID} online"
    with FeishuSim.from_options(seed=1, app_id="cli_ffffffffffffffff") as sim:  # given: kept
        d = sim.push(platform, expect_rejected=True)
    assert d.envelope["header"]["app_id"] == "cli_ffffffffffffffff"


@pytest.mark.skipif(shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@larksuiteoapi").is_dir(),
                    reason="node or @larksuiteoapi/node-sdk not installed")
def test_client_process_runs_the_node_wsclient_against_the_platform(platform: PlatformServer) -> None:
    platform.clear()
    script = ("const lark = require('@larksuiteoapi/node-sdk');"
              "const d = new lark.EventDispatcher({}).register({'vc.meeting.share_ended_v1': async (e) => "
              "{ console.log('GOT ' + e.event_id); }});"
              "new lark.WSClient({appId: process.env.FEISHU_APP_ID, appSecret: process.env.FEISHU_APP_SECRET, "
              "domain: process.env.FEISHU_DOMAIN, loggerLevel: lark.LoggerLevel.error}).start({eventDispatcher: d});")
    env = {"NODE_PATH": str(NODE_DIR / "node_modules")}
    with ClientProcess(platform, ["node", "-e", script], env=env) as client:
        assert client.connection is not None and client.connection["app_id"] == APP_ID
        deliveries = platform.push(count=2)
        assert [d.acked for d in deliveries] == [True, True]
    for d in deliveries:
        assert f"GOT {d.event_id}" in client.output()


def test_client_process_that_exits_says_so_with_its_output(platform: PlatformServer) -> None:
    argv = [sys.executable, "-c", "import sys; print('bad credentials'); sys.exit(3)"]
    with pytest.raises(TargetError, match=r"exited with code 3 before connecting: 'bad credentials\\n'"):
        ClientProcess(platform, argv).start()


def test_client_process_needs_a_known_app_or_a_secret(platform: PlatformServer) -> None:
    with pytest.raises(ConfigError, match="app 'cli_0000000000000000' is not an app of the platform"):
        ClientProcess(platform, ["true"], app_id="cli_0000000000000000")


@pytest.mark.lark_sdk
class TestLarkWsClient:
    @pytest.fixture(autouse=True)
    def _lark(self) -> Any:
        return pytest.importorskip("lark_oapi")

    def _handler(self, on_share: Any) -> Any:
        import lark_oapi as lark

        return lark.EventDispatcherHandler.builder("", "").register_p2_vc_meeting_share_ended_v1(on_share).build()

    def test_start_push_stop(self, platform: PlatformServer) -> None:
        from simulator.lark_client import LarkWsClient

        platform.clear()
        shares: list[Any] = []
        before = len(platform.connections())
        with LarkWsClient(platform, self._handler(shares.append)) as client:
            assert client.connection is not None and client.connection["app_id"] == APP_ID
            deliveries = platform.push(count=2)
        assert [d.acked for d in deliveries] == [True, True]
        assert [s.header.event_id for s in shares] == [d.event_id for d in deliveries]
        assert not client.running
        deadline = time.monotonic() + 5
        while len(platform.connections()) > before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(platform.connections()) == before  # it disconnected

    def test_a_handler_blocking_the_loop_at_teardown_is_waited_for(self, platform: PlatformServer) -> None:
        from simulator.lark_client import LarkWsClient

        platform.clear()
        started, done = threading.Event(), threading.Event()

        def blocking(data: Any) -> None:
            started.set()
            time.sleep(0.6)  # blocks the client's loop, like any sync handler
            done.set()

        client = LarkWsClient(platform, self._handler(blocking)).start()
        push = threading.Thread(target=platform.push)
        push.start()
        assert started.wait(5)
        with pytest.warns(RuntimeWarning, match="an event handler blocks its event loop"):
            client.stop(timeout=0.05)
        client.stop()  # waits for the handler, then the thread ends: no TimeoutError
        push.join(5)
        assert done.is_set() and not client.running

    def test_one_client_at_a_time(self, platform: PlatformServer) -> None:
        from simulator.lark_client import LarkWsClient

        platform.clear()
        second = LarkWsClient(platform, self._handler(lambda data: None), timeout=0.1)
        with LarkWsClient(platform, self._handler(lambda data: None)), \
                pytest.raises(UsageError, match=r"another lark\.ws\.Client is still running in this process"):
            second.start()

    def test_wrong_secret_is_a_target_error(self, platform: PlatformServer) -> None:
        from simulator.lark_client import LarkWsClient

        with pytest.raises(TargetError, match=r"stopped before connecting \(ClientException: "):
            LarkWsClient(platform, self._handler(lambda data: None), app_secret="wrong", timeout=5).start()

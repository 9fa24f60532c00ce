"""Example test suites, as a user of the plugin would write them; the plugin tests run them with pytester."""

from __future__ import annotations

STARLETTE_SUITE = '''
import time

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "v-token-0123456789abcdef"
seen = []
failures_left = {"n": 0}


async def webhook(request):
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
def feishu_config():
    return {"verification_token": TOKEN, "path": "/feishu/events"}


def test_push_with_override(feishu_sim):
    d = feishu_sim.push(app, "vc.meeting.share_ended_v1", overrides={"event.meeting.topic": "Q3 review"})
    assert d.acked and d.last.status == 200 and d.last.target == "http://testserver/feishu/events"
    assert seen[-1]["event"]["meeting"]["topic"] == "Q3 review"
    assert seen[-1]["header"]["event_id"] == d.event_id


def test_count_and_assertions(feishu_sim):
    ds = feishu_sim.push(app, count=3)
    assert len({d.event_id for d in ds}) == 3
    feishu_sim.assert_all_acked()
    assert feishu_sim.assert_acked(ds[1].event_id) is ds[1]
    assert [a.event_id for a in feishu_sim.attempts] == [d.event_id for d in ds]
    assert feishu_sim.summary().acked == 3


@pytest.mark.feishu(verification_token="not-the-right-token")
def test_wrong_token_is_rejected(feishu_sim):
    d = feishu_sim.push(app, expect_rejected=True)
    assert not d.acked and d.last.status == 401
    feishu_sim.assert_rejected(d.event_id)


@pytest.mark.feishu(retries="feishu")
def test_retry_ladder_runs_in_virtual_time(feishu_sim):
    failures_left["n"] = 2
    t0 = time.perf_counter()
    d = feishu_sim.push(app)
    assert d.acked_at_attempt == 3
    sent = [a.sent_at for a in d.attempts]
    assert [round(b - a, 3) for a, b in zip(sent, sent[1:])] == [15.0, 300.0]
    assert {a.event_id for a in d.attempts} == {d.event_id}
    assert time.perf_counter() - t0 < 2


@pytest.mark.anyio
async def test_async_push(feishu_sim):
    ds = await feishu_sim.apush(app, count=2, concurrency=2)
    assert [d.acked for d in ds] == [True, True]


def test_scenario(feishu_sim):
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
def test_faults_duplicate_every_event(feishu_sim):
    before = len(seen)
    ds = feishu_sim.push(app, count=3)
    assert feishu_sim.summary().duplicates == 3 and len(feishu_sim.deliveries) == 6
    ids = [e["header"]["event_id"] for e in seen[before:]]
    assert len(ids) == 6 and set(ids) == {d.event_id for d in ds}


@pytest.mark.anyio
async def test_async_scenario(feishu_sim):
    ds = await feishu_sim.apush_scenario(app, "share-and-record", concurrency=4)
    assert ds and all(d.acked for d in ds)
'''

FLASK_SUITE = '''
import pytest
from flask import Flask, request

TOKEN = "flask-token"
app = Flask(__name__)
seen = []


@app.post("/webhook/event")
def webhook():
    body = request.get_json()
    if body["header"]["token"] != TOKEN:
        return {"msg": "invalid token"}, 401
    seen.append(body)
    return {"msg": "success"}


@app.post("/broken")
def broken():
    raise RuntimeError("database is down")


pytestmark = pytest.mark.feishu(verification_token=TOKEN)


def test_flask_receives(feishu_sim):
    d = feishu_sim.push(app, overrides={"event.meeting.topic": "Flask review"})
    assert d.acked
    assert seen[-1]["event"]["meeting"]["topic"] == "Flask review"


def test_flask_error_is_a_500(feishu_sim):
    d = feishu_sim.push(app, path="/broken", expect_rejected=True)
    assert d.last.status == 500


@pytest.mark.anyio
async def test_flask_from_async_code(feishu_sim):
    d = await feishu_sim.apush(app)
    assert d.acked and seen[-1]["header"]["event_id"] == d.event_id
'''

LARK_SDK_SUITE = '''
import lark_oapi as lark
import pytest

ENCRYPT_KEY = "sdk-encrypt-key"
TOKEN = "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV"
received = []

handler = (
    lark.EventDispatcherHandler.builder(ENCRYPT_KEY, TOKEN, lark.LogLevel.CRITICAL)
    .register_p2_vc_meeting_share_ended_v1(received.append)
    .build()
)

# lark-oapi looks the three signature headers up case-sensitively: canonicalise them.
CANONICAL = {"HTTP_X_LARK_REQUEST_TIMESTAMP": "X-Lark-Request-Timestamp",
             "HTTP_X_LARK_REQUEST_NONCE": "X-Lark-Request-Nonce",
             "HTTP_X_LARK_SIGNATURE": "X-Lark-Signature"}


def app(environ, start_response):
    """A WSGI app around the SDK's EventDispatcherHandler.do()."""
    req = lark.RawRequest()
    req.uri = environ["PATH_INFO"]
    req.body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    req.headers = {CANONICAL.get(k, k): v for k, v in environ.items() if k.startswith("HTTP_")}
    resp = handler.do(req)
    start_response(f"{resp.status_code} X", list(resp.headers.items()))
    return [resp.content]


@pytest.fixture
def feishu_config():
    return {"encrypt_key": ENCRYPT_KEY, "verification_token": TOKEN}


def test_sdk_dispatches_typed_event(feishu_sim):
    d = feishu_sim.push(app, overrides={"event.meeting.topic": "SDK review"})
    assert d.acked and d.last.response_body == '{"msg":"success"}'
    data = received[-1]
    assert isinstance(data, lark.vc.v1.P2VcMeetingShareEndedV1)
    assert data.header.event_id == d.event_id
    assert data.event.meeting.topic == "SDK review"
    assert data.event.meeting.id == d.envelope["event"]["meeting"]["id"]


def test_wrong_encrypt_key_is_refused(feishu_sim):
    before = len(received)
    d = feishu_sim.push(app, encrypt_key="not-the-key", expect_rejected=True)
    assert d.last.status == 500 and len(received) == before


@pytest.mark.feishu(verification_token="wrong-token")
def test_wrong_token_is_refused(feishu_sim):
    d = feishu_sim.push(app, expect_rejected=True)
    assert not d.acked
'''

LIVE_URL_SUITE = '''
import pytest
from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer

KEY = "live-key"


@pytest.fixture(scope="module")
def receiver():
    rr = ReferenceReceiver(encrypt_key=KEY)
    with ThreadedServer(rr.app()) as server:
        yield rr, server.url + "/webhook/event"


@pytest.mark.feishu(encrypt_key=KEY)
def test_over_the_wire(feishu_sim, receiver):
    rr, url = receiver
    ds = feishu_sim.push(url, count=2)
    assert all(d.acked for d in ds)
    assert [e.event_id for e in rr.state.events[-2:]] == [d.event_id for d in ds]
    assert ds[0].last.request_headers["X-Lark-Signature"]


@pytest.mark.feishu(encrypt_key="other-key")
def test_wrong_key_over_the_wire(feishu_sim, receiver):
    d = feishu_sim.push(receiver[1], expect_rejected=True)
    assert d.last.status in (400, 401)  # the signature (or the ciphertext) does not check out
'''

FAILING_SUITE = '''
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def refuse(request):
    return JSONResponse({"msg": "nope"}, status_code=500)


async def accept(request):
    return JSONResponse({"msg": "success"})


async def explode(request):
    raise KeyError("meeting_id")


app = Starlette(routes=[Route("/webhook/event", refuse, methods=["POST"]),
                        Route("/ok", accept, methods=["POST"]),
                        Route("/explode", explode, methods=["POST"])])


def test_unacked_fails(feishu_sim):
    feishu_sim.push(app, overrides={"event.meeting.topic": "never acked"})


def test_unexpected_ack_fails(feishu_sim):
    feishu_sim.push(app, path="/ok", expect_rejected=True)


def test_app_exception_is_named(feishu_sim):
    feishu_sim.push(app, path="/explode")


@pytest.mark.feishu(check_unacked=False)
def test_opted_out(feishu_sim):
    assert not feishu_sim.push(app).acked


def test_own_failure_is_not_doubled(feishu_sim):
    feishu_sim.push(app)
    assert False, "the test's own failure"
'''

LARK_WS_SUITE = '''
import asyncio
import threading

import lark_oapi as lark
import lark_oapi.ws.client as lark_ws_client
import pytest

APP_ID, APP_SECRET = "cli_0123456789abcdef", "ws-secret"
shares = []


def on_share_ended(data):
    if data.event.meeting.topic == "crash":
        raise RuntimeError("handler crashed")
    shares.append(data)


class SdkClient:
    """lark.ws.Client (which blocks in start() and has no stop()) in a daemon thread."""

    def __init__(self, domain):
        self.domain = domain
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        lark_ws_client.loop = self.loop  # the SDK keeps its loop in a module global
        handler = lark.EventDispatcherHandler.builder("", "").register_p2_vc_meeting_share_ended_v1(
            on_share_ended).build()
        self.client = lark.ws.Client(APP_ID, APP_SECRET, event_handler=handler, domain=self.domain,
                                     log_level=lark.LogLevel.CRITICAL)
        self.ready.set()
        try:
            self.client.start()
        except RuntimeError:  # the loop was stopped by stop()
            pass

    def __enter__(self):
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc):
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
def feishu_platform_options():
    return {"app_id": APP_ID, "app_secret": APP_SECRET}


@pytest.fixture(scope="module")
def sdk_client(feishu_platform_server):
    with SdkClient(feishu_platform_server.domain) as client:
        feishu_platform_server.wait_for_clients(1, timeout=10)
        yield client


@pytest.mark.feishu(app_id=APP_ID)
def test_events_reach_the_sdk_handler(feishu_platform, feishu_sim, sdk_client):
    ds = feishu_sim.push(feishu_platform, count=3, overrides={"event.meeting.topic": "WS review"})
    assert [d.last.status for d in ds] == [200, 200, 200]
    assert [str(d.last.channel) for d in ds] == ["longconn"] * 3
    assert [s.header.event_id for s in shares[-3:]] == [d.event_id for d in ds]
    assert shares[-1].event.meeting.topic == "WS review"
    assert shares[-1].header.token == ""


@pytest.mark.feishu(app_id=APP_ID)
def test_a_crashing_handler_acks_500(feishu_platform, feishu_sim, sdk_client):
    d = feishu_sim.push(feishu_platform, overrides={"event.meeting.topic": "crash"}, expect_rejected=True)
    assert d.last.status == 500


@pytest.mark.feishu(app_id="cli_ffffffffffffffff")
def test_no_client_of_the_app_online(feishu_platform, feishu_sim, sdk_client):
    d = feishu_sim.push(feishu_platform, expect_rejected=True)
    assert str(d.last.outcome) == "not_delivered"


def test_platform_push_and_faults(feishu_platform, sdk_client):
    assert [d.acked for d in feishu_platform.push(count=2)] == [True, True]
    assert len(feishu_platform.connections()) == 1
    feishu_platform.ack_judgement(drop=True)  # acks ignored from now on...


@pytest.mark.anyio
@pytest.mark.feishu(app_id=APP_ID)
async def test_faults_do_not_leak_into_the_next_test(feishu_platform, feishu_sim, sdk_client):
    d = await feishu_sim.apush(feishu_platform)  # ...but the platform was cleared for this test
    assert d.acked and feishu_platform.deliveries == []


@pytest.mark.feishu(app_id=APP_ID)
def test_crash_without_expectation_fails(feishu_platform, feishu_sim, sdk_client):
    feishu_sim.push(feishu_platform, overrides={"event.meeting.topic": "crash"})
'''

"""What a user sees when a test fails (issue: failures that explain themselves), quoted from real runs of
suites written the way the README teaches, with pytester (in process)."""

from __future__ import annotations

import textwrap

import pytest

from tests.plugin.test_pytest_plugin import HAVE_LARK, run

pytest_plugins = ["pytester"]

EXPLAINED_SUITE = '''
import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.receiver import ReferenceReceiver

handled = []
seen = set()


async def slow(request: Request) -> JSONResponse:
    await asyncio.sleep(0.3)  # past the 100 ms budget the tests set
    handled.append((await request.json())["header"]["event_id"])
    return JSONResponse({"msg": "success"})


async def refuses_redeliveries(request: Request) -> JSONResponse:
    event_id = (await request.json())["header"]["event_id"]
    if event_id in seen:
        return JSONResponse({"msg": "already handled"}, status_code=500)
    seen.add(event_id)
    return JSONResponse({"msg": "success"})


app = Starlette(routes=[Route("/webhook/event", slow, methods=["POST"]),
                        Route("/once", refuses_redeliveries, methods=["POST"])])
correct = ReferenceReceiver().app()


@pytest.mark.feishu(timeout="100ms")
def test_the_readme_assertion_names_the_timeout(feishu_sim):
    delivery = feishu_sim.push(app)
    assert handled == [delivery.event_id]  # the handler finished its work, as behind a real server
    assert delivery.acked


@pytest.mark.parametrize("n", range(20))
@pytest.mark.feishu(faults="drop=0.5")
def test_a_correct_receiver_is_never_blamed_for_lost_acks(feishu_sim, n):
    feishu_sim.push(correct, count=5)


@pytest.mark.feishu(faults="drop=1", seed=1)
def test_own_failure_shows_the_lost_deliveries(feishu_sim):
    feishu_sim.push(correct)
    assert False, "the test's own failure"


@pytest.mark.feishu(faults="dup=1", path="/once")
def test_a_refused_duplicate_is_named(feishu_sim):
    feishu_sim.push(app)


@pytest.mark.feishu(faults="drop=0.5", retries=3, path="/once", seed=5)
def test_a_refused_retry_after_a_lost_ack_is_named(feishu_sim):
    feishu_sim.push(app, count=6)


def test_asking_about_an_event_never_pushed(feishu_sim):
    feishu_sim.push(correct)
    feishu_sim.assert_rejected("unknown-id")


def test_the_platform_pushes_are_checked_too(feishu_platform):
    feishu_platform.push()  # no client connected: not delivered


@pytest.mark.feishu(encrypt_key="k")
def test_serve_and_verify_url(feishu_sim):
    rr = ReferenceReceiver(encrypt_key="k")
    url = feishu_sim.serve(rr.app())
    assert feishu_sim.verify_url(url).ok
    assert feishu_sim.push(url).acked and len(rr.state.events) == 1
    assert not feishu_sim.verify_url(correct).ok  # a receiver without the key cannot decrypt the challenge
'''


def test_each_failure_says_what_happened(pytester: pytest.Pytester) -> None:
    result = run(pytester, EXPLAINED_SUITE)
    result.assert_outcomes(passed=21, failed=6)
    out = result.stdout.str()
    # 1. The README's own assertion fails first: the Delivery's repr leads with the verdict, and the report
    #    section lists every delivery of the test.
    result.stdout.fnmatch_lines([
        "*_ test_the_readme_assertion_names_the_timeout _*",
        "E        +  where False = Delivery(timeout after 1 attempt: no complete response within 0.1 s; the app "
        "answered HTTP 200 after 3?? ms, too late, event_id='*', type='vc.meeting.share_ended_v1').acked",
        "*- feishu_sim deliveries -*",
        "feishu_sim: 1 delivery (seed=*, retries=none, faults=none); ! = not as expected",
        "!  1. * vc.meeting.share_ended_v1: timeout after 1 attempt: no complete response within 0.1 s; the app "
        "answered HTTP 200 after * ms, too late",
    ])
    # 2. Lost acks are the drop fault's doing, never the app's: shown, not failed.
    result.stdout.fnmatch_lines([
        "*_ test_own_failure_shows_the_lost_deliveries _*",
        "E       AssertionError: the test's own failure",
        "*- feishu_sim deliveries -*",
        "feishu_sim: 1 delivery (seed=1, retries=none, faults=drop=1); ! = not as expected",
        "   1. * vc.meeting.share_ended_v1: lost by the drop fault after 1 attempt (the app acked it; the platform "
        "lost the answer)",
    ])
    assert "test_a_correct_receiver_is_never_blamed_for_lost_acks" not in out
    # 4. Redeliveries and duplicates are named.
    result.stdout.fnmatch_lines([
        "*_ test_a_refused_duplicate_is_named _*",
        "feishu_sim: 1 of 2 deliveries did not end as expected (seed=*):",
        '  not acked: exhausted * attempts=1 last=rejected status=500 * HTTP 500: {"msg":"already handled"}',
        "    a redelivery of event *, already acked at attempt 1 (same event_id: the platform delivers at least once, "
        "fault dup); the app must answer 200 to a duplicate, and may skip its work",
    ])
    result.stdout.fnmatch_lines([
        "*_ test_a_refused_retry_after_a_lost_ack_is_named _*",
        "feishu_sim: * of 6 deliveries did not end as expected (seed=5):",
        "    attempt 2 was a redelivery of an event already acked at attempt 1 (the drop fault lost that ack); it "
        'ended rejected: HTTP 500: {"msg":"already handled"}',
    ])
    result.stdout.fnmatch_lines([
        "*_ test_asking_about_an_event_never_pushed _*",
        "E *simulator.errors.UsageError: test_suite.py::test_asking_about_an_event_never_pushed: assert_rejected: no "
        "delivery with event_id 'unknown-id' (its 1 pushed event(s): '*'); use the event_id of what push(...) returned",
    ])
    # The platform's own pushes are checked after the test, like feishu_sim's.
    result.stdout.fnmatch_lines([
        "*_ test_the_platform_pushes_are_checked_too _*",
        "feishu_platform: 1 of 1 deliveries did not end as expected (seed=*):",
        "  not acked: exhausted * last=not_delivered * no connection of app cli_* online",
        "For negative tests push with feishu_sim.push(feishu_platform, ..., expect_rejected=True), or opt out with "
        "@pytest.mark.feishu(check_unacked=False).",
    ])
    # A failure that is the check itself lists the deliveries once, not again in a section.
    failures = out.split("short test summary info")[0]
    assert failures.count("- feishu_sim deliveries -") == 3  # the timeout, the own failure, the unknown id


LARK_SUITE = '''
import lark_oapi as lark
import pytest
from flask import Flask
from lark_oapi.adapter.flask import parse_req, parse_resp

from simulator.lark_client import LarkWsClient

APP_ID, APP_SECRET = "cli_0123456789abcdef", "ws-secret"
started = []
handler = (lark.EventDispatcherHandler.builder("", "", lark.LogLevel.CRITICAL)
           .register_p2_vc_meeting_meeting_started_v1(started.append)
           .register_p2_vc_meeting_meeting_ended_v1(lambda data: None)
           .build())
app = Flask(__name__)


@app.post("/webhook/event")
def webhook():
    return parse_resp(handler.do(parse_req()))


@pytest.fixture(scope="session")
def feishu_platform_options():
    return {"app_id": APP_ID, "app_secret": APP_SECRET}  # the app id, once


@pytest.fixture(scope="module")
def sdk_client(feishu_platform_server):
    with LarkWsClient(feishu_platform_server, handler) as client:
        yield client


def test_the_platform_app_without_repeating_it(feishu_platform, feishu_sim, sdk_client):
    delivery = feishu_sim.push(feishu_platform, "vc.meeting.meeting_started_v1")
    assert delivery.acked and started[-1].header.event_id == delivery.event_id
    assert started[-1].header.app_id == APP_ID


def test_only_the_subscribed_types(feishu_sim):
    types = ["vc.meeting.meeting_started_v1", "vc.meeting.meeting_ended_v1"]
    deliveries = feishu_sim.push_scenario(app, "plain-meeting", only=types)
    assert [d.event_type for d in deliveries] == types


def test_a_whole_scenario_to_an_app_that_subscribes_to_two_types(feishu_sim):
    feishu_sim.push_scenario(app, "plain-meeting")
'''


@pytest.mark.skipif(not HAVE_LARK, reason="lark-oapi is not installed")
@pytest.mark.lark_sdk
def test_the_official_clients_and_subscribed_types(pytester: pytest.Pytester) -> None:
    result = run(pytester, textwrap.dedent(LARK_SUITE))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*_ test_a_whole_scenario_to_an_app_that_subscribes_to_two_types _*",
        "feishu_sim: 10 of 12 deliveries did not end as expected (seed=*):",
        '  not acked: exhausted * vc.meeting.join_meeting_v1 attempts=1 last=rejected status=500 * HTTP 500: '
        '{"msg":"processor not found, type: vc.meeting.join_meeting_v1"}',
        "    the app registered no handler for this type (lark-oapi's answer): push_scenario(..., only=[...]) limits "
        "a scenario to the types the app subscribes to",
    ])

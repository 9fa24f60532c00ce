"""The proposed README example of a bot's pytest suite with message events is a real suite: run it with
pytester (as test_readme_pytest does for the README's blocks)."""

from __future__ import annotations

import pytest

import simulator.pytest_plugin  # noqa: F401
from tests.plugin.test_pytest_plugin import PLUGIN

pytest_plugins = ["pytester"]

BOT_SUITE = '''\
# test_im_bot.py
import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

handled = []  # the message_ids the bot acted on
replies = []  # what it answered
seen = set()  # dedupe on message_id: the platform may redeliver a message under a new event_id


async def webhook(request: Request) -> JSONResponse:
    body = await request.json()
    if body["header"]["event_type"] == "im.message.receive_v1":
        message = body["event"]["message"]
        if message["message_id"] not in seen:
            seen.add(message["message_id"])
            handled.append(message["message_id"])
            if message["message_type"] == "text" and json.loads(message["content"])["text"].endswith("/help"):
                replies.append("usage: /help, /oncall")
    return JSONResponse({"msg": "success"})


app = Starlette(routes=[Route("/webhook/event", webhook, methods=["POST"])])


def test_a_message_reaches_the_bot(feishu_sim):
    delivery = feishu_sim.push(app, "im.message.receive_v1")
    assert delivery.acked and handled[-1] == delivery.envelope["event"]["message"]["message_id"]


def test_a_help_command(feishu_sim):
    envelope = feishu_sim.generate("im.message.receive_v1")
    message = envelope["event"]["message"]
    message.update(chat_type="p2p", message_type="text", content=json.dumps({"text": "/help"}))
    message.pop("mentions", None)
    assert feishu_sim.push(app, envelope).acked
    assert replies[-1] == "usage: /help, /oncall"


def test_a_busy_chat(feishu_sim):
    deliveries = feishu_sim.push(app, "im.message.receive_v1", count=50)
    message_ids = [d.envelope["event"]["message"]["message_id"] for d in deliveries]
    assert len(set(message_ids)) == 50 and handled[-50:] == message_ids


@pytest.mark.feishu(faults="dup_new_id=1")
def test_a_redelivered_message_is_handled_once(feishu_sim):
    delivery = feishu_sim.push(app, "im.message.receive_v1")
    again = feishu_sim.deliveries[-1]  # the same message, under a new event_id
    assert again.event_id != delivery.event_id and again.envelope["event"] == delivery.envelope["event"]
    assert handled.count(delivery.envelope["event"]["message"]["message_id"]) == 1
'''


def test_the_bot_suite_passes(pytester: pytest.Pytester) -> None:
    (pytester.path / "test_im_bot.py").write_text(BOT_SUITE, encoding="utf-8")
    result = pytester.runpytest_inprocess(*PLUGIN)
    result.assert_outcomes(passed=4)


def test_a_bot_that_dedupes_on_event_id_only_fails_the_redelivery_test(pytester: pytest.Pytester) -> None:
    """The example's last test can fail: it catches event_id-only dedupe."""
    naive = BOT_SUITE.replace('if message["message_id"] not in seen:', 'if body["header"]["event_id"] not in seen:')
    naive = naive.replace('seen.add(message["message_id"])', 'seen.add(body["header"]["event_id"])')
    assert naive != BOT_SUITE
    (pytester.path / "test_im_bot.py").write_text(naive, encoding="utf-8")
    result = pytester.runpytest_inprocess(*PLUGIN)
    result.assert_outcomes(passed=3, failed=1)
    assert "test_a_redelivered_message_is_handled_once" in result.stdout.str()

"""The echo bot (``echo_bot.py``, the official sample's behaviour) over ``lark.ws.Client``: events pushed by the
platform from its world, the bot's replies recorded by the platform's OpenAPI and asserted through ``api``; and
``feishu-sim push --platform`` printing them under each verdict."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from simulator.cli import main
from simulator.errors import BotCallMissing, UsageError
from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from tests.botloop.echo_bot import NOT_TEXT, EchoBot, api_client, echo_text
from tests.longconn.lark_ws import LarkWsThread

pytestmark = pytest.mark.lark_sdk

APP, SECRET = "cli_0a1b2c3d4e5f6081", "echo-ws-secret"
RECEIVE = "im.message.receive_v1"


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=81) as s:
        yield s


@pytest.fixture(scope="module")
def bot(server: PlatformServer) -> Iterator[EchoBot]:
    echo = EchoBot(api_client(server.domain, APP, SECRET))
    with LarkWsThread(server.domain, APP, SECRET, handler=echo.handler()):
        server.wait_for_clients(1, timeout=10)
        yield echo


def test_a_group_message_is_answered_with_a_reply(server: PlatformServer, bot: EchoBot) -> None:
    [d] = server.push(RECEIVE, params={"chat_type": "group", "message_type": "text", "mention_bot": True,
                                       "text": "hi", "mentions": []})
    assert d.acked
    message = d.envelope["event"]["message"]
    reply = server.api.wait_for_reply(d, timeout=10, text=echo_text("@_user_1 hi"), in_thread=False)
    assert (reply["parent_id"], reply["chat_id"], reply["msg_type"]) == (message["message_id"], message["chat_id"],
                                                                       "text")
    assert server.api.assert_replied(d, text=re.compile("Received message")) == reply
    assert [c.data for c in server.api.answers_to(d)] == [reply] and not bot.errors


def test_a_message_in_a_thread_is_answered_in_the_thread(server: PlatformServer, bot: EchoBot) -> None:
    [first] = server.push(RECEIVE, params={"chat_type": "group", "mention_bot": True, "text": "deploy?"})
    root, chat = (first.envelope["event"]["message"][k] for k in ("message_id", "chat_id"))
    server.api.wait_for_reply(first, timeout=10)
    [d] = server.push(RECEIVE, params={"chat": chat, "reply_to": root, "thread": True, "mention_bot": True,
                                       "text": "and now?"})
    message = d.envelope["event"]["message"]
    assert message["thread_id"] and message["root_id"] == root
    reply = server.api.wait_for_reply(d, timeout=10, in_thread=True)
    assert reply["thread_id"] == message["thread_id"] and reply["root_id"] == root


def test_a_p2p_message_is_answered_in_the_chat(server: PlatformServer, bot: EchoBot) -> None:
    [d] = server.push(RECEIVE, params={"chat_type": "p2p", "message_type": "image"})
    call = server.api.wait_for_answer(d, timeout=10)
    assert call.api == "POST /open-apis/im/v1/messages" and call.ok
    assert call.data["chat_id"] == d.envelope["event"]["message"]["chat_id"]
    assert json.loads(call.data["body"]["content"]) == {"text": echo_text(NOT_TEXT)}
    assert server.api.replies_to(d) == []  # a send, not a reply
    with pytest.raises(BotCallMissing, match="no reply to om_"):
        server.api.assert_replied(d)


def test_a_refused_reply_reaches_the_sdk_and_the_record(server: PlatformServer, bot: EchoBot) -> None:
    server.api.fail("/open-apis/im/v1/messages/*/reply", code=230002)
    [d] = server.push(RECEIVE, params={"chat_type": "group", "mention_bot": True, "text": "anyone?"})
    [call] = [server.api.wait_for_answer(d, timeout=10)]
    assert (call.status, call.code) == (400, 230002)
    assert bot.errors.pop().startswith("230002 Bot/User can NOT be out of the chat.")
    assert server.api.replies_to(d) == [] and server.api.answers_to(d) == [call]


def test_a_delivery_about_no_message_is_a_usage_error(server: PlatformServer, bot: EchoBot) -> None:
    envelope = server.generate("vc.meeting.share_ended_v1")
    [d] = server.push_envelopes([envelope])
    with pytest.raises(UsageError, match="names no message"):
        server.api.replies_to(d)
    assert server.api.answers_to(d) == []


def test_cli_prints_the_replies_under_each_verdict(server: PlatformServer, bot: EchoBot,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    params = ["chat_type=group", "message_type=text", "mention_bot=true", "mentions=[]", "text=ping"]
    argv = ["push", "--platform", server.domain, RECEIVE, "--count", "2", "--wait-replies", "10s",
            *(arg for p in params for arg in ("--param", p))]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["acked", "api:", "acked", "api:"], out
    for verdict, api in zip(lines[::2], lines[1::2], strict=True):
        [message_id] = [d.envelope["event"]["message"]["message_id"] for d in server.deliveries
                        if d.event_id == verdict.split()[1]]
        assert re.fullmatch(rf"    api: reply to {message_id}: text '收到你发送的消息：@_user_1 ping\\n"
                            r"Received message: @_user_1 ping' -> ok om_[0-9a-f]{32}", api), api
    assert "2/2 acked" in err and "the bot made 2 API call(s) about them" in err


def test_cli_json_has_the_calls(server: PlatformServer, bot: EchoBot, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["push", "--platform", server.domain, RECEIVE, "--param", "chat_type=p2p", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    [delivery] = doc["deliveries"]
    [call] = delivery["api_calls"]
    assert call["api"] == "POST /open-apis/im/v1/messages" and call["code"] == 0
    assert call["answer"]["data"]["chat_id"] == call["body"]["receive_id"]


def test_cli_without_waiting_prints_only_what_was_made(server: PlatformServer, bot: EchoBot,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """``--wait-replies 0``: the push answers as soon as the events are acked; the lark client acks after its
    handler returned, so the echo is already there."""
    argv = ["push", "--platform", server.domain, RECEIVE, "--param", "chat_type=p2p", "--wait-replies", "0"]
    assert main(argv) == 0
    assert "    api: send to chat_id oc_" in capsys.readouterr().out

"""The echo bot over webhook (lark-oapi's ``EventDispatcherHandler`` behind an HTTP server, encrypted and signed),
its API client pointed at the platform: the platform pushes to its URL from the world its OpenAPI judges against
(``PlatformServer.push(webhook=...)``, ``feishu-sim push URL --platform D``); and a ``FeishuSim`` sharing the
platform's world delivers to it in process."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from lark_oapi.adapter.flask import parse_req, parse_resp

from simulator.cli import main
from simulator.platform_server import PlatformServer, WebhookTarget
from simulator.testing import FeishuSim
from tests.botloop.echo_bot import EchoBot, api_client, echo_text
from tests.sdk_http_receiver import SdkHttpServer

pytestmark = pytest.mark.lark_sdk

APP, SECRET = "cli_0a1b2c3d4e5f6083", "echo-webhook-secret"
KEY, TOKEN = "echo-encrypt-key", "echo-verification-token"
RECEIVE = "im.message.receive_v1"
GROUP_HI = {"chat_type": "group", "message_type": "text", "text": "hi", "mention_bot": True,
            "mentions": []}  # the bot only


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, seed=83) as s:
        yield s


@pytest.fixture(scope="module")
def bot(server: PlatformServer) -> EchoBot:
    return EchoBot(api_client(server.domain, APP, SECRET))


@pytest.fixture(scope="module")
def url(bot: EchoBot) -> Iterator[str]:
    with SdkHttpServer(bot.handler(KEY, TOKEN)) as u:
        yield u


def test_the_platform_pushes_to_the_webhook_from_its_world(server: PlatformServer, bot: EchoBot, url: str) -> None:
    [d] = server.push(RECEIVE, params=GROUP_HI, webhook=WebhookTarget(url, encrypt_key=KEY, verification_token=TOKEN))
    assert d.acked and d.last is not None and d.last.channel == "webhook"
    assert "X-Lark-Signature" in d.last.request_headers  # sealed with the app's key
    # lark-oapi's webhook dispatcher runs the handler before it answers: the reply is already recorded.
    server.api.assert_replied(d, text=echo_text("@_user_1 hi"), in_thread=False)
    assert not bot.errors


def test_a_wrong_key_is_not_acked_and_nothing_is_answered(server: PlatformServer, url: str) -> None:
    [d] = server.push(RECEIVE, params=GROUP_HI, webhook=WebhookTarget(url, encrypt_key="another-key",
                                                                      verification_token=TOKEN))
    assert not d.acked and server.api.answers_to(d) == []


def test_cli_push_to_the_url_with_events_from_the_platform(server: PlatformServer, url: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    params = [f"{k}={json.dumps(v)}" for k, v in GROUP_HI.items()]
    argv = ["push", url, RECEIVE, "--platform", server.domain, "--encrypt-key", KEY, "--verification-token", TOKEN,
            *(arg for p in params for arg in ("--param", p))]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    verdict, api = out.splitlines()
    assert verdict.startswith("acked ")
    assert re.match(r"    api: reply to om_\w+: text '收到你发送的消息：@_user_1 hi", api), api
    assert f"-> {url} (webhook, events from {server.domain})" in err


def test_cli_refuses_keys_for_the_long_connection(server: PlatformServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push", "--platform", server.domain, "--verification-token", TOKEN]) == 2
    assert "applies to a webhook push" in capsys.readouterr().err


def flask_bot(bot: EchoBot) -> Flask:
    """The sample's webhook variant: Flask with lark-oapi's adapter."""
    app = Flask("echo-bot")
    handler = bot.handler(KEY, TOKEN)
    app.add_url_rule("/webhook/event", "event", lambda: parse_resp(handler.do(parse_req())), methods=["POST"])
    return app


def test_feishu_sim_sharing_the_world_delivers_in_process(server: PlatformServer, bot: EchoBot) -> None:
    with FeishuSim.from_options(app_id=APP, encrypt_key=KEY, verification_token=TOKEN, seed=1) as sim:
        sim.share_world(server)
        d = sim.push(flask_bot(bot), RECEIVE, params=GROUP_HI)
        assert d.acked and d.envelope["header"]["token"] == TOKEN
        server.api.assert_replied(d, text=echo_text("@_user_1 hi"))
        # Its own world (not shared): the platform does not know the message, and says so.
        sim.share_world(None)
        d = sim.push(flask_bot(bot), RECEIVE, params=GROUP_HI)
        assert d.acked and server.api.replies_to(d) == []
        [refused] = server.api.answers_to(d)
        assert refused.code == 230001 and "does not exist" in refused.answer["msg"]
    assert bot.errors.pop().startswith("230001 ")


def test_an_app_the_platform_does_not_know_keeps_its_own_world(server: PlatformServer) -> None:
    """A negative test pushing to an app no client serves still gets events (from the helper's own world)."""
    with FeishuSim.from_options(app_id="cli_ffffffffffffffff", seed=1) as sim:
        sim.share_world(server)
        envelope = sim.generate(RECEIVE, params={"chat_type": "p2p"})
        known = server.api.call(lambda: server.api.state.world().message(envelope["event"]["message"]["message_id"]))
        assert known is None and envelope["header"]["app_id"] == "cli_ffffffffffffffff"

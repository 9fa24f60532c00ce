"""The card bot (``card_bot.py``, the official card-interaction sample's behaviour) end to end: a message in, the
bot sends a card through the OpenAPI, a user clicks that card (``card.action.trigger`` naming it), the bot answers
with a toast and updates the card -- with the click's token (``card/update``) or with ``PATCH`` -- and the test
asserts the judged answer and the update. Over ``lark.ws.Client`` (pushed by the platform, and through
``feishu-sim push --platform``) and over webhook (Flask in process, a ``FeishuSim`` sharing the platform's world)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from lark_oapi.adapter.flask import parse_req, parse_resp

from simulator.cli import main
from simulator.errors import ConfigError
from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from simulator.testing import FeishuSim
from simulator.verdicts.model import Delivery
from tests.botloop.card_bot import CARD_UPDATE, CardBot
from tests.botloop.echo_bot import api_client
from tests.longconn.lark_ws import LarkWsThread

pytestmark = pytest.mark.lark_sdk

APP, SECRET = "cli_0a1b2c3d4e5f6085", "card-bot-secret"
CLICK = "card.action.trigger"


def ask(what: str) -> dict[str, Any]:
    return {"chat_type": "group", "message_type": "text", "mention_bot": True, "mentions": [],
            "text": f"/approve {what}"}


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=85) as s:
        yield s


@pytest.fixture(scope="module")
def bot(server: PlatformServer) -> CardBot:
    return CardBot(api_client(server.domain, APP, SECRET))


@pytest.fixture(scope="module")
def connected(server: PlatformServer, bot: CardBot) -> Iterator[CardBot]:
    with LarkWsThread(server.domain, APP, SECRET, handler=bot.handler()):
        server.wait_for_clients(1, timeout=10)
        yield bot


def card_sent(server: PlatformServer, d: Delivery) -> dict[str, Any]:
    """The card the bot sent in answer to ``d``: the message object of its send."""
    call = server.api.wait_for_answer(d, timeout=10)
    assert call.ok and call.api == "POST /open-apis/im/v1/messages" and call.data["msg_type"] == "interactive"
    return call.data


def content_of(server: PlatformServer, message_id: str) -> str:
    found = server.api.call(lambda: server.api.state.world().message(message_id))
    assert found is not None
    return found.content


def test_approve_answers_a_toast_and_updates_the_card_with_the_token(server: PlatformServer,
                                                                     connected: CardBot) -> None:
    [asked] = server.push("im.message.receive_v1", params=ask("deploy v2"))
    card = card_sent(server, asked)
    assert card["chat_id"] == asked.envelope["event"]["message"]["chat_id"]
    [click] = server.push(CLICK, params={"message": card["message_id"], "tag": "button",
                                         "value": {"action": "approve", "what": "deploy v2"}})
    event = click.envelope["event"]
    assert event["context"] == {"open_message_id": card["message_id"], "open_chat_id": card["chat_id"]}
    assert click.acked and click.answer is not None
    assert click.answer.toast == {"type": "success", "content": "Approved deploy v2"}
    [update] = server.api.answers_to(click)
    assert update.path == CARD_UPDATE and update.ok and update.body["token"] == event["token"]
    assert "approved by" in content_of(server, card["message_id"]) and not connected.errors


def test_reject_answers_a_toast_and_patches_the_card(server: PlatformServer, connected: CardBot) -> None:
    [asked] = server.push("im.message.receive_v1", params=ask("the budget"))
    card = card_sent(server, asked)
    [click] = server.push(CLICK, params={"message": card["message_id"], "value": {"action": "reject",
                                                                                  "what": "the budget"}})
    assert click.answer is not None and click.answer.toast == {"type": "info", "content": "Rejected the budget"}
    [patch] = server.api.answers_to(click)
    assert patch.method == "PATCH" and patch.path.endswith(card["message_id"]) and patch.ok
    assert "rejected by" in content_of(server, card["message_id"]) and not connected.errors


def test_a_click_on_a_message_that_is_no_bot_card_is_refused(server: PlatformServer) -> None:
    [asked] = server.push("im.message.receive_v1", params=ask("nothing"), app_id=APP)
    with pytest.raises(ConfigError, match="not an interactive card the bot sent"):
        server.generate(CLICK, params={"message": asked.envelope["event"]["message"]["message_id"]})


def test_cli_prints_the_answer_and_the_update(server: PlatformServer, connected: CardBot,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    [asked] = server.push("im.message.receive_v1", params=ask("the release"))
    card = card_sent(server, asked)
    value = json.dumps({"action": "approve", "what": "the release"})
    assert main(["push", "--platform", server.domain, CLICK, "--param", f"message={card['message_id']}",
                 "--param", f"value={value}"]) == 0
    out = capsys.readouterr().out
    assert "Approved the release" in out, out
    assert re.search(r"^    api: card update with the callback token -> ok$", out, re.M), out


def test_a_webhook_card_bot_clicked_by_feishu_sim(server: PlatformServer, bot: CardBot) -> None:
    app = Flask("card-bot")
    handler = bot.handler()
    app.add_url_rule("/webhook/event", "event", lambda: parse_resp(handler.do(parse_req())), methods=["POST"])
    with FeishuSim.from_options(app_id=APP, seed=2) as sim:
        sim.share_world(server)
        asked = sim.push(app, "im.message.receive_v1", params=ask("the hire"))
        [card] = [c.data for c in server.api.answers_to(asked)]
        answer = sim.click(app, message=card, value={"action": "approve", "what": "the hire"})
        sim.assert_toast(answer, type="success", content="Approved the hire")
        [update] = server.api.answers_to(sim.deliveries[-1])
        assert update.path == CARD_UPDATE and update.ok
    assert "approved by" in content_of(server, card["message_id"]) and not bot.errors

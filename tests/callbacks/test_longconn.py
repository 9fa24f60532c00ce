"""Callbacks over the long connection, to the unmodified ``lark.ws.Client`` (lark-oapi 1.7.5): a click goes
in a data frame of type ``event`` (the type the client dispatches; ``card`` ones it drops without an ack),
its ``register_p2_card_action_trigger`` handler receives the generated values, and the response it returns
comes back in the ack's ``data`` and is judged. A pushed click's token is good for the delayed card update of
the mock OpenAPI, and a card the bot sent through that OpenAPI is what people click."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import lark_oapi as lark
import pytest

from simulator.errors import ConfigError, UsageError
from simulator.platform.callbacks import frame_type
from simulator.platform.state import PlatformOptions
from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from simulator.testing import FeishuSim
from simulator.verdicts.answers import AnswerKind
from simulator.verdicts.model import Outcome
from simulator.wire.frames import MessageType
from tests.callbacks.lark_bot import RAW_CARD, TEMPLATE, Bot
from tests.longconn.lark_ws import connected_client

pytestmark = pytest.mark.lark_sdk

APP_ID, SECRET = "cli_c0ffee00c0ffee00", "callbacks-ws-secret"


@pytest.fixture(scope="module")
def connected() -> Iterator[tuple[PlatformServer, Bot]]:
    bot = Bot("toast")
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, seed=23, client_config=TEST_CLIENT_CONFIG) as platform, \
            connected_client(platform, APP_ID, SECRET, bot.events):
        yield platform, bot


def test_clicks_reach_the_handler_and_its_answers_come_back_judged(connected: tuple[PlatformServer, Bot]) -> None:
    platform, bot = connected
    bot.mode = "toast"
    before = len(bot.clicks)
    deliveries = platform.push("card.action.trigger", count=20, timeout=60)
    assert all(d.acked for d in deliveries), [d.summary_line for d in deliveries if not d.acked]
    got = bot.clicks[before:]
    assert [g.header.event_id for g in got] == [d.event_id for d in deliveries]
    for g, d in zip(got, deliveries, strict=True):
        assert g.header.token == "" and json.loads(lark.JSON.marshal(g.event)) == d.envelope["event"]
        att = d.last
        assert att is not None and att.answer is not None and att.answer.toast_type == "success"
        assert att.response_body.startswith('{"code": 200, "data": "')  # Python's spaced ack, base64 data


@pytest.mark.parametrize(("mode", "outcome", "check"), [
    ("bad_toast", Outcome.BAD_ANSWER, lambda a: a.problems == (
        "toast.type 'ok' is not one of info|success|warning|error",)),
    ("raw", Outcome.ACKED, lambda a: a.card_type == "raw" and a.card_data == RAW_CARD),
    ("template", Outcome.ACKED, lambda a: a.card_type == "template" and a.card_data == TEMPLATE),
    ("empty", Outcome.ACKED, lambda a: a.empty),
    ("none", Outcome.BAD_ANSWER, lambda a: a.problems[0].startswith("answer is empty")),  # no data in the ack
])
def test_every_kind_of_response(connected: tuple[PlatformServer, Bot], mode: str, outcome: Outcome,
                                check: object) -> None:
    platform, bot = connected
    bot.mode = mode
    (d,) = platform.push("card.action.trigger", timeout=30)
    assert d.last is not None and d.last.outcome is outcome and d.last.status == 200 and len(d.attempts) == 1
    assert d.answer is not None and check(d.answer)  # type: ignore[operator]


def test_link_previews_over_the_long_connection(connected: tuple[PlatformServer, Bot]) -> None:
    platform, _ = connected
    (d,) = platform.push("url.preview.get", timeout=30)
    assert d.acked and d.answer is not None
    assert d.answer.inline == {"title": f"Preview of {d.envelope['event']['context']['url']}"}


def test_feishu_sim_clicks_over_the_long_connection(connected: tuple[PlatformServer, Bot]) -> None:
    platform, bot = connected
    bot.mode = "toast"
    with FeishuSim.from_options(app_id=APP_ID, app_secret=SECRET, seed=4) as fs:
        answer = fs.click(platform, value={"action": "approve"})
        assert answer.valid and answer.toast_content == "Approve"
        fs.assert_toast(type="success", content="Approve")
        with pytest.raises(UsageError, match="long connection does not carry the legacy card request"):
            fs.click(platform, legacy=True)


def test_a_pushed_click_token_updates_the_card(connected: tuple[PlatformServer, Bot]) -> None:
    platform, _ = connected
    (d,) = platform.push("card.action.trigger", timeout=30)
    event = d.envelope["event"]
    client = lark.Client.builder().app_id(APP_ID).app_secret(SECRET).domain(platform.domain) \
        .log_level(lark.LogLevel.CRITICAL).build()
    card = {"schema": "2.0", "config": {"update_multi": True}, "body": {"elements": [{"tag": "markdown",
                                                                                     "content": "handled"}]}}
    resp = client.request(lark.BaseRequest.builder().http_method(lark.HttpMethod.POST)
                          .uri("/open-apis/interactive/v1/card/update").token_types({lark.AccessTokenType.TENANT})
                          .body({"token": event["token"], "card": card}).build())
    assert resp.code == 0, resp.msg
    stored = platform.api.call(lambda: platform.api.state.world(APP_ID).message(event["context"]["open_message_id"]))
    assert stored is not None and json.loads(stored.content) == card


def test_a_card_the_bot_sent_through_the_openapi_gets_clicked(connected: tuple[PlatformServer, Bot]) -> None:
    platform, _ = connected
    world = platform.api.call(lambda: platform.api.state.world(APP_ID))
    chat = next(c for c in world.chats.values() if c.chat_type == "group")
    mine = {"schema": "2.0", "body": {"elements": [{"tag": "button", "text": {"tag": "plain_text", "content": "Go"},
                                                    "behaviors": [{"type": "callback", "value": {"mine": 1}}]}]}}
    body = {"receive_id": chat.chat_id, "msg_type": "interactive", "content": json.dumps(mine)}
    sent = httpx.post(f"{platform.domain}/open-apis/im/v1/messages?receive_id_type=chat_id", json=body,
                      headers={"Authorization": f"Bearer {_tenant_token(platform)}"}).json()
    assert sent["code"] == 0, sent
    deliveries = platform.push("card.action.trigger", count=12, timeout=60)
    on_mine = [d for d in deliveries if d.envelope["event"]["context"]["open_message_id"] == sent["data"]["message_id"]]
    assert on_mine and all(d.envelope["event"]["action"]["value"] == {"mine": 1} for d in on_mine)


def _tenant_token(platform: PlatformServer) -> str:
    r = httpx.post(f"{platform.domain}/open-apis/auth/v3/tenant_access_token/internal",
                   json={"app_id": APP_ID, "app_secret": SECRET})
    return str(r.json()["tenant_access_token"])


def test_the_frame_type_option() -> None:
    assert frame_type(AnswerKind.CARD_ACTION, "event") is MessageType.EVENT
    assert frame_type(AnswerKind.CARD_ACTION, "card") is MessageType.CARD
    assert frame_type(AnswerKind.URL_PREVIEW, "card") is MessageType.EVENT
    assert frame_type(None, "card") is MessageType.EVENT
    assert PlatformOptions().card_frame == "event"
    with pytest.raises(ConfigError, match="invalid card frame type 'cards': event or card"):
        PlatformOptions(card_frame="cards")

"""The official Node SDK (@larksuiteoapi/node-sdk 1.74.0) as a callback receiver over webhook:
``card.action.trigger`` and ``url.preview.get`` through ``EventDispatcher`` (encrypted and signed), the legacy
card request through ``CardActionHandler`` (SHA-1 over ``JSON.stringify`` of the body). Node answers a
refused request with HTTP 200 and an empty body (``adaptDefault`` ends the response with the handler's
``undefined``): a callback's verdict sees it, because the body is judged."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.config import AppProfile, SimConfig
from simulator.delivery.legacy_card import LegacyCardChannel
from simulator.engine.core import Simulator
from simulator.verdicts.model import Delivery, Outcome
from tests.node_runner import NodeProcess, json_lines, requires_node

KEY, TOKEN = "node-cb-key", "node-cb-token"

pytestmark = requires_node


class NodeBot(NodeProcess):
    """``callbacks.js`` serving webhooks (``/webhook/event`` and the legacy ``/card``), answering in ``mode``."""

    def __init__(self, mode: str) -> None:
        super().__init__("callbacks.js", "webhook", KEY, TOKEN, mode)
        self.base = f"http://127.0.0.1:{self.wait_for_port()}"

    def received(self) -> list[dict[str, Any]]:
        return json_lines(self.stop(), "received")


@pytest.fixture
def node_bots() -> Iterator[dict[str, NodeBot]]:
    bots: dict[str, NodeBot] = {}
    try:
        for mode in ("toast", "bad_toast", "nothing"):
            bots[mode] = NodeBot(mode)
        yield bots
    finally:
        for bot in bots.values():
            bot.kill()


def push(url: str, event_type: str, n: int = 1, *, legacy: bool = False, token: str = TOKEN, key: str | None = KEY,
         overrides: dict[str, Any] | None = None) -> tuple[Simulator, list[Delivery]]:
    sim = Simulator(SimConfig(app=AppProfile(encrypt_key=key, verification_token=token), seed=8))

    async def go() -> list[Delivery]:
        async with sim.webhook(url) as hook:
            channel = LegacyCardChannel(hook, token) if legacy else hook
            return await sim.push(channel, sim.generate_many(event_type, n, overrides=overrides))

    return sim, asyncio.run(go())


def test_node_event_dispatcher_answers_clicks_and_previews(node_bots: dict[str, NodeBot]) -> None:
    bot = node_bots["toast"]
    _, clicks = push(bot.base + "/webhook/event", "card.action.trigger", 4,
                     overrides={"event.action.value": {"action": "approve"}})
    _, previews = push(bot.base + "/webhook/event", "url.preview.get", 2)
    received = bot.received()
    for d in clicks:
        assert d.acked and d.answer is not None and d.answer.toast == {"type": "success", "content": "approve"}
    for d in previews:
        assert d.acked and d.answer is not None and d.answer.inline is not None
    got = [r for r in received if r["type"] == "card.action.trigger"]
    assert [g["received"]["event_id"] for g in got] == [d.event_id for d in clicks]
    for g, d in zip(got, clicks, strict=True):
        # Node hands the handler the event body flattened with the header fields
        event = d.envelope["event"]
        assert {k: g["received"][k] for k in event} == event
    urls = [r["received"]["context"]["url"] for r in received if r["type"] == "url.preview.get"]
    assert urls == [d.envelope["event"]["context"]["url"] for d in previews]


def test_node_answers_are_judged(node_bots: dict[str, NodeBot]) -> None:
    _, (bad,) = push(node_bots["bad_toast"].base + "/webhook/event", "card.action.trigger")
    assert bad.last is not None and bad.last.outcome is Outcome.BAD_ANSWER
    assert bad.last.detail == "toast.type 'ok' is not one of info|success|warning|error"
    _, (nothing,) = push(node_bots["nothing"].base + "/webhook/event", "card.action.trigger")
    assert nothing.last is not None and nothing.last.outcome is Outcome.BAD_ANSWER and nothing.last.status == 200
    assert nothing.last.detail.startswith("answer is empty")
    # unsigned plaintext to a receiver with an Encrypt Key: Node's signature check drops it, answering 200 and an
    # empty body. (Sealed with another key, it does not even answer: the failed decryption is an unhandled
    # rejection in adaptDefault and the process exits; observed with node-sdk 1.74.0 on Node 20.)
    _, (forged,) = push(node_bots["toast"].base + "/webhook/event", "card.action.trigger", key=None)
    assert forged.last is not None and forged.last.outcome is Outcome.BAD_ANSWER and forged.last.status == 200
    assert all(r["type"] != "card.action.trigger" for r in node_bots["toast"].received())


def test_node_card_action_handler_takes_legacy_requests(node_bots: dict[str, NodeBot]) -> None:
    bot = node_bots["toast"]
    _, (ok,) = push(bot.base + "/card", "card.action.trigger", legacy=True)
    assert ok.acked and ok.answer is not None and ok.answer.toast_content == "Done" and ok.answer.card_type == "raw"
    _, (wrong,) = push(bot.base + "/card", "card.action.trigger", legacy=True, token="not-the-token")
    assert wrong.last is not None and wrong.last.outcome is Outcome.BAD_ANSWER  # refused: 200 and empty
    (legacy,) = [r["received"] for r in bot.received() if r["type"] == "card.action.trigger_v1"]
    assert legacy["open_message_id"] == ok.envelope["event"]["context"]["open_message_id"]
    assert legacy["action"] == ok.envelope["event"]["action"]


# -- the long connection: node-sdk's WSClient ----------------------------------------------------------------

WS_APP, WS_SECRET = "cli_b0b0b0b0b0b0b0b0", "node-ws-secret"


@pytest.mark.parametrize("mode", ["toast", "bad_toast"])
def test_node_wsclient_answers_clicks_in_its_acks(mode: str) -> None:
    from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer

    with PlatformServer(app_id=WS_APP, app_secret=WS_SECRET, client_config=TEST_CLIENT_CONFIG, seed=31) as platform:
        node = NodeProcess("callbacks.js", "ws", platform.domain, WS_APP, WS_SECRET, mode)
        try:
            platform.wait_for_clients(1, timeout=15)
            clicks = platform.push("card.action.trigger", count=3, overrides={"event.action.value": {"action": "go"}},
                                   timeout=30)
            (preview,) = platform.push("url.preview.get", timeout=30)
        finally:
            out = node.stop()
    received = json_lines(out, "received")
    assert [r["received"]["event_id"] for r in received if r["type"] == "card.action.trigger"] == [
        d.event_id for d in clicks]
    for d in clicks:
        att = d.last
        assert att is not None and att.status == 200 and att.response_body.startswith('{"code":200,"data":"')
        assert att.answer is not None and att.answer.body is not None and att.answer.body["toast"]["content"] == "go"
        if mode == "toast":
            assert att.outcome is Outcome.ACKED and d.acked
        else:
            assert att.outcome is Outcome.BAD_ANSWER and att.detail.startswith("toast.type 'ok' is not one of")
    assert preview.acked and preview.answer is not None and preview.answer.inline is not None

"""lark-oapi 1.7.5 over webhook: ``register_p2_card_action_trigger`` / ``register_p2_url_preview_get`` handlers
receive exactly the generated values (every kind of click), and the ``P2CardActionTriggerResponse`` they return
comes back to us judged: a valid toast, an invalid toast type, a raw card, a template card, ``{}``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import lark_oapi as lark
import pytest

from simulator.config import AppProfile, SimConfig
from simulator.delivery.inprocess import channel_for
from simulator.delivery.legacy_card import LegacyCardChannel
from simulator.engine.core import Simulator
from simulator.verdicts.model import Delivery, Outcome
from tests.callbacks.lark_bot import RAW_CARD, TEMPLATE, Bot

pytestmark = pytest.mark.lark_sdk

KEY, TOKEN = "lark-cb-key", "lark-cb-token"


def push(bot: Bot, event_type: str, n: int, *, params: dict[str, Any] | None = None, seed: int = 21,
         legacy: bool = False) -> list[Delivery]:
    sim = Simulator(SimConfig(app=AppProfile(encrypt_key=KEY, verification_token=TOKEN), seed=seed))

    async def go() -> list[Delivery]:
        envs = [sim.factory.generate(event_type, ctx=sim.factory.context(params=dict(params or {})))
                for _ in range(n)]
        async with channel_for(bot.asgi(legacy=legacy), sealer=sim.sealer, path="/callback") as hook:
            return await sim.push(LegacyCardChannel(hook, TOKEN) if legacy else hook, envs)

    return asyncio.run(go())


def test_every_kind_of_click_reaches_the_handler_as_generated() -> None:
    bot = Bot("toast", KEY, TOKEN)
    deliveries = push(bot, "card.action.trigger", 60)
    assert all(d.acked for d in deliveries), [d.summary_line for d in deliveries if not d.acked]
    assert len(bot.clicks) == 60
    tags = set()
    for seen, d in zip(bot.clicks, deliveries, strict=True):
        assert seen.header.event_id == d.event_id and seen.header.token == TOKEN
        assert json.loads(lark.JSON.marshal(seen.event)) == d.envelope["event"]
        tags.add((seen.event.action.tag, seen.event.action.form_value is not None))
    assert len(tags) >= 8
    for d in deliveries:
        assert d.answer is not None and d.answer.toast_type == "success"


def test_link_previews_reach_the_handler_as_generated() -> None:
    bot = Bot("toast", KEY, TOKEN)
    deliveries = push(bot, "url.preview.get", 20)
    assert all(d.acked for d in deliveries)
    for seen, d in zip(bot.previews, deliveries, strict=True):
        assert json.loads(lark.JSON.marshal(seen.event)) == d.envelope["event"]
        assert d.answer is not None and d.answer.inline == {"title": f"Preview of {seen.event.context.url}"}


@pytest.mark.parametrize(("mode", "outcome", "check"), [
    ("toast", Outcome.ACKED, lambda a: a.toast_type == "success"),
    ("bad_toast", Outcome.BAD_ANSWER, lambda a: a.problems == (
        "toast.type 'ok' is not one of info|success|warning|error",)),
    ("raw", Outcome.ACKED, lambda a: a.card_type == "raw" and a.card_data == RAW_CARD and a.toast_type == "info"),
    ("template", Outcome.ACKED, lambda a: a.card_type == "template" and a.card_data == TEMPLATE),
    ("empty", Outcome.ACKED, lambda a: a.empty and a.raw == b"{}"),
    ("huge", Outcome.BAD_ANSWER, lambda a: a.problems[0].startswith("card.data is 40,070 bytes as compact JSON")),
])
def test_the_sdk_response_comes_back_judged(mode: str, outcome: Outcome, check: Any) -> None:
    (d,) = push(Bot(mode, KEY, TOKEN), "card.action.trigger", 1, params={"tag": "form"})
    assert d.last is not None and d.last.outcome is outcome and d.last.status == 200
    assert d.answer is not None and check(d.answer)


def test_the_legacy_card_handler_takes_our_legacy_requests() -> None:
    bot = Bot("toast", KEY, TOKEN)
    deliveries = push(bot, "card.action.trigger", 30, legacy=True)
    assert all(d.acked for d in deliveries)
    for card, d in zip(bot.legacy, deliveries, strict=True):
        ev = d.envelope["event"]
        assert (card.open_id, card.user_id, card.tenant_key, card.token) == (
            ev["operator"]["open_id"], ev["operator"]["user_id"], ev["operator"]["tenant_key"], ev["token"])
        assert (card.open_message_id, card.open_chat_id) == (ev["context"]["open_message_id"],
                                                             ev["context"]["open_chat_id"])
        action = json.loads(lark.JSON.marshal(card.action))  # the legacy model adds an empty "options"
        assert {k: action[k] for k in ev["action"]} == ev["action"]
        assert all(not v for k, v in action.items() if k not in ev["action"])
        assert d.answer is not None and d.answer.kind == "card.action.trigger_v1" and d.answer.card_data == RAW_CARD

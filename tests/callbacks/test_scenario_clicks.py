"""A chat scenario with clicks, end to end, to a bot built on the official lark-oapi 1.7.5 SDK (webhook, in
process, sealed): the user opens the bot's chat and asks, the bot answers with a card, the user clicks it and
thanks the bot. Every event reaches its SDK handler; each click is a ``card.action.trigger`` callback whose
answer comes back judged (a valid toast acks it, a bad toast is ``bad_answer``) and is never retried."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import lark_oapi as lark
import pytest
from starlette.applications import Starlette

from simulator.config import AppProfile, RetryPolicy, SimConfig
from simulator.delivery.inprocess import channel_for
from simulator.engine.core import Simulator
from simulator.generation import scenarios
from simulator.verdicts.model import Delivery, Outcome
from tests.callbacks.lark_bot import Bot
from tests.lark_receiver import lark_asgi

pytestmark = pytest.mark.lark_sdk

KEY, TOKEN = "lark-chat-key", "lark-chat-token"
P2P_CLICKS = """\
[scenario]
description = "a user asks the bot for an approval card and approves it"

[chat]
type = "p2p"
user = "li"

[people]
named = ["li"]

[[step]]
event = "p2p_chat_entered"

[[step]]
id = "ask"
event = "message"
text = "please send me the approval"

[[step]]
id = "card"
event = "bot_message"
message_type = "interactive"
reply_to = "ask"

[[step]]
id = "approve"
event = "click"
on = "card"
value = { action = "approve", request_id = "R-1" }

[[step]]
event = "click"
on = "card"
tag = "form"
delay = ["5s", "30s"]

[[step]]
event = "message"
text = "thanks"
"""


class ChatBot(Bot):
    """The card bot of ``lark_bot``, also taking the chat's events (messages, the user opening the chat)."""

    def __init__(self, mode: str) -> None:
        super().__init__(mode, KEY, TOKEN)
        self.seen: list[Any] = []
        self.events = (lark.EventDispatcherHandler.builder(KEY, TOKEN, lark.LogLevel.CRITICAL)
                       .register_p2_card_action_trigger(self.on_click)
                       .register_p2_im_message_receive_v1(self.seen.append)
                       .register_p2_im_chat_access_event_bot_p2p_chat_entered_v1(self.seen.append).build())

    def asgi(self, *, legacy: bool = False) -> Starlette:
        return lark_asgi(self.events)


def play(bot: ChatBot, *, seed: int = 5) -> tuple[Simulator, list[Delivery]]:
    sim = Simulator(SimConfig(app=AppProfile(encrypt_key=KEY, verification_token=TOKEN), seed=seed,
                              retries=RetryPolicy.feishu()))
    envs = sim.generate_scenario(scenarios.loads(P2P_CLICKS, source="p2p-clicks.toml"))

    async def go() -> list[Delivery]:
        async with channel_for(bot.asgi(), sealer=sim.sealer, path="/webhook/event") as hook:
            return await sim.push(hook, envs)

    return sim, asyncio.run(go())


def test_a_scenario_with_clicks_reaches_the_sdk_and_the_answers_are_judged() -> None:
    bot = ChatBot("toast")
    sim, deliveries = play(bot)
    types = [d.envelope["header"]["event_type"] for d in deliveries]
    assert types == ["im.chat.access_event.bot_p2p_chat_entered_v1", "im.message.receive_v1",
                     "card.action.trigger", "card.action.trigger", "im.message.receive_v1"]
    assert all(d.acked for d in deliveries), [d.summary_line for d in deliveries if not d.acked]
    assert len(bot.seen) == 3 and len(bot.clicks) == 2
    world = sim.factory.world["im"]
    ask = deliveries[1].envelope["event"]["message"]
    for seen, d in zip(bot.clicks, deliveries[2:4], strict=True):
        assert json.loads(lark.JSON.marshal(seen.event)) == d.envelope["event"]  # as generated, through the SDK
        card = world.message(seen.event.context.open_message_id)
        assert card is not None and card.sender is None and card.message_type == "interactive"
        assert card.parent_id == ask["message_id"] and seen.event.context.open_chat_id == ask["chat_id"]
        assert seen.event.operator.open_id == deliveries[1].envelope["event"]["sender"]["sender_id"]["open_id"]
        assert d.answer is not None and d.answer.valid and d.answer.toast_type == "success"
        assert d.last is not None and len(d.attempts) == 1
    approve, submit = bot.clicks
    assert approve.event.action.value == {"action": "approve", "request_id": "R-1"}
    assert deliveries[2].answer is not None and deliveries[2].answer.toast_content == "Approve"
    assert submit.event.action.form_value and submit.event.action.value["action"] == "submit"


def test_a_bad_answer_to_a_click_in_a_scenario_is_judged_and_not_retried() -> None:
    _, deliveries = play(ChatBot("bad_toast"))
    outcomes = [(d.envelope["header"]["event_type"], d.last.outcome if d.last else None) for d in deliveries]
    assert [o for t, o in outcomes if t == "card.action.trigger"] == [Outcome.BAD_ANSWER] * 2
    assert all(o is Outcome.ACKED for t, o in outcomes if t != "card.action.trigger")
    for d in deliveries[2:4]:
        assert len(d.attempts) == 1 and d.answer is not None
        assert d.answer.problems == ("toast.type 'ok' is not one of info|success|warning|error",)

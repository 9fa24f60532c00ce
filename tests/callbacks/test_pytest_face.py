"""Callbacks in tests: ``FeishuSim.click`` / ``preview`` return the judged answer of an app built on lark-oapi;
``assert_answer_valid``, ``assert_toast`` and ``assert_card`` say precisely what is wrong; the plugin's
after-test check fails a test whose click got a bad answer (unless it expected one)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from simulator.errors import BadAnswer, UsageError
from simulator.testing import FeishuSim
from simulator.verdicts.model import Outcome
from tests.callbacks.lark_bot import RAW_CARD, TEMPLATE, Bot

pytestmark = pytest.mark.lark_sdk

KEY, TOKEN = "face-key", "face-token"


def feishu(**options: Any) -> FeishuSim:
    return FeishuSim.from_options(**{"encrypt_key": KEY, "verification_token": TOKEN, "seed": 9, **options})


def test_click_returns_the_judged_answer_and_the_app_saw_the_click() -> None:
    bot = Bot("toast", KEY, TOKEN)
    with feishu() as fs:
        answer = fs.click(bot.asgi(), value={"action": "approve", "request": 7})
        assert answer.valid and answer.toast == {"type": "success", "content": "Approve"}
        assert answer.toast_type == "success" and answer.card is None
        assert fs.assert_toast(type="success", content="Approve") == answer.toast
        fs.assert_answer_valid()
        (seen,) = bot.clicks
        assert seen.event.action.value == {"action": "approve", "request": 7}
        d = fs.deliveries[-1]
        assert d.callback == "card.action.trigger" and d.answer is answer and d.acked
        assert seen.event.token == d.envelope["event"]["token"] and seen.header.token == TOKEN
        assert fs.report() is None


def test_assertions_say_what_is_wrong() -> None:
    bot = Bot("raw", KEY, TOKEN)
    with feishu() as fs:
        answer = fs.click(bot.asgi(), tag="select_static", value={"action": "more"})
        assert bot.clicks[0].event.action.tag == "select_static" and bot.clicks[0].event.action.option
        assert fs.assert_card(type="raw") == RAW_CARD
        with pytest.raises(BadAnswer, match=r"^expected a success toast, got info: toast info \"More\", card raw$"):
            fs.assert_toast(answer, type="success")
        with pytest.raises(BadAnswer, match=r"^expected toast content 'Approved', got 'More'$"):
            fs.assert_toast(content="Approved")
        with pytest.raises(BadAnswer, match="expected a template card, got raw"):
            fs.assert_card(type="template")
        bot.mode = "template"
        fs.click(bot.asgi(), tag="form")
        assert bot.clicks[1].event.action.form_value
        assert fs.assert_card(type="template", template_id=TEMPLATE["template_id"]) == TEMPLATE
        with pytest.raises(BadAnswer, match="expected a toast, the answer has none: card template AAqi6xJ8rabcd"):
            fs.assert_toast()


def test_a_bad_answer_is_returned_and_reported_after_the_test() -> None:
    bot = Bot("bad_toast", KEY, TOKEN)
    with feishu() as fs:
        answer = fs.click(bot.asgi())
        assert not answer.valid and answer.problems == ("toast.type 'ok' is not one of info|success|warning|error",)
        with pytest.raises(BadAnswer, match=r"^invalid card\.action\.trigger answer: toast\.type 'ok' is not one"):
            fs.assert_answer_valid()
        report = fs.report()
        assert report is not None
        assert "  not answered validly: bad_answer " in report
        assert report.rstrip().splitlines()[1].endswith("toast.type 'ok' is not one of info|success|warning|error")
        fs.click(bot.asgi(), expect_rejected=True)  # a negative test: not reported
        assert len(fs.unexpected()) == 1


def test_no_answer_at_all_is_an_answer_with_one_problem() -> None:
    bot = Bot("toast", KEY, TOKEN)
    with feishu(encrypt_key="another-key") as fs:  # the SDK refuses a wrong signature: 500
        answer = fs.click(bot.asgi(), expect_rejected=True)
        assert answer.body is None and answer.problems[0].startswith("no answer: rejected: HTTP 500")
        assert fs.deliveries[-1].last is not None and fs.deliveries[-1].last.outcome is Outcome.REJECTED
        assert bot.clicks == []


def test_a_legacy_click_goes_to_the_card_handler() -> None:
    bot = Bot("toast", KEY, TOKEN)
    with feishu() as fs:
        answer = fs.click(bot.asgi(legacy=True), legacy=True, value={"action": "ok"})
        assert answer.valid and answer.kind == "card.action.trigger_v1" and answer.card_data == RAW_CARD
        fs.assert_toast(type="success", content="Done")
        (card,) = bot.legacy
        assert card.action.value == {"action": "ok"} and card.open_message_id.startswith("om_")
        att = fs.deliveries[-1].last
        assert att is not None and att.event_type == "card.action.trigger_v1"
        assert "encrypt" not in att.request_body and len(att.request_headers["X-Lark-Signature"]) == 40


def test_preview_returns_the_inline_preview() -> None:
    bot = Bot("toast", KEY, TOKEN)
    with feishu() as fs:
        answer = fs.preview(bot.asgi(), url="https://wiki.example.com/p/1")
        assert answer.valid and answer.inline == {"title": "Preview of https://wiki.example.com/p/1"}
        assert bot.previews[0].event.context.preview_token


def test_async_clicks_and_usage_errors() -> None:
    bot = Bot("empty", KEY, TOKEN)

    async def go(fs: FeishuSim) -> None:
        answer = await fs.aclick(bot.asgi())
        assert answer.empty and answer.describe() == "{} (card unchanged)"
        preview = await fs.apreview(bot.asgi())
        assert preview.valid
        with pytest.raises(UsageError, match=r"feishu_sim\.click\(\) blocks"):
            fs.click(bot.asgi())

    with feishu() as fs:
        asyncio.run(go(fs))
        with pytest.raises(BadAnswer, match="no callback has been answered yet"):
            FeishuSim().assert_toast()

"""The callbacks family: card.action.trigger and url.preview.get bodies, and the legacy flat body of a click,
schema-valid over thousands of seeded events and coherent with the run's ImWorld (a click lands on a card
the bot sent, in a chat the clicker is in, on a component that card has)."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from functools import cache
from typing import Any

import pytest

from simulator.clock import VirtualClock
from simulator.errors import ConfigError, UsageError
from simulator.generation import catalog, schemas
from simulator.generation.factory import SEEDED_EPOCH, EventFactory
from simulator.generation.families.callbacks.clicks import targets, value_of
from simulator.generation.families.callbacks.legacy import legacy_request
from simulator.generation.families.im.world import ImWorld, Message, world_of
from simulator.rand import SimRandom
from simulator.verdicts.answers import AnswerKind
from tests.wire.test_legacy_card import request_validator

SEEDS = range(6)
PER_SEED = 200  # 2,400 clicks and 2,400 previews over two locales
LOCALES = ("zh_CN", "en_US")
TZ_SUFFIX = r"[+-]\d{4}"


def factory(seed: int, locale: str = "zh_CN") -> EventFactory:
    return EventFactory(rand=SimRandom(seed), locale=locale, clock=VirtualClock(SEEDED_EPOCH, scale=0))


@cache
def generated(event_type: str) -> tuple[tuple[EventFactory, dict[str, Any]], ...]:
    out = []
    for seed in SEEDS:
        for locale in LOCALES:
            f = factory(seed, locale)
            out += [(f, f.generate(event_type)) for _ in range(PER_SEED // 2)]
    return tuple(out)


def test_the_family_registers_two_callbacks_that_are_never_retried() -> None:
    assert [t for t in catalog.event_types() if catalog.get(t).family == "callbacks"] == [
        "card.action.trigger", "url.preview.get"]
    click, preview = catalog.get("card.action.trigger"), catalog.get("url.preview.get")
    assert click.callback is AnswerKind.CARD_ACTION and preview.callback is AnswerKind.URL_PREVIEW
    assert not click.retried and not preview.retried
    assert click.sdk_register == "register_p2_card_action_trigger"
    assert preview.sdk_register == "register_p2_url_preview_get"
    assert catalog.get("vc.meeting.share_ended_v1").retried  # events are
    assert catalog.find("card.action.trigger_v1") is None  # the legacy body is a rendering of a click


@pytest.mark.parametrize("event_type", ["card.action.trigger", "url.preview.get"])
def test_thousands_of_seeded_callbacks_are_schema_valid(event_type: str) -> None:
    v = schemas.validator(event_type)
    envs = generated(event_type)
    assert len(envs) == len(SEEDS) * PER_SEED
    for _, env in envs:
        assert [schemas.describe(e) for e in v.iter_errors(env)] == []


def test_thousands_of_legacy_bodies_are_schema_valid() -> None:
    v = request_validator("card.action.trigger_v1")
    for _, env in generated("card.action.trigger"):
        body = legacy_request(env)
        assert list(v.iter_errors(body)) == []
        assert list(body) == ["open_id", "user_id", "open_message_id", "open_chat_id", "tenant_key", "token",
                              "action"]
        ev = env["event"]
        assert body["action"] == ev["action"] and body["token"] == ev["token"]
        assert body["open_id"] == ev["operator"]["open_id"] and body["open_message_id"] == \
            ev["context"]["open_message_id"]


def test_the_legacy_rendering_takes_clicks_only() -> None:
    env = factory(1).generate("vc.meeting.share_ended_v1")
    with pytest.raises(UsageError, match=r"carries card\.action\.trigger clicks only"):
        legacy_request(env)


def test_a_click_lands_on_a_bot_card_in_a_chat_of_the_clicker() -> None:
    for f, env in generated("card.action.trigger"):
        ev = env["event"]
        world = f.world["im"]
        assert isinstance(world, ImWorld)
        message = world.message(ev["context"]["open_message_id"])
        assert message is not None and message.from_bot and message.message_type == "interactive"
        chat = world.chat(ev["context"]["open_chat_id"])
        assert chat is not None and chat.chat_id == message.chat_id
        clicker = world.person(open_id=ev["operator"]["open_id"])
        assert clicker is not None and chat.has(clicker) and clicker.user_type == 1
        assert ev["operator"] == {"tenant_key": env["header"]["tenant_key"], "user_id": clicker.user_id,
                                  "open_id": clicker.open_id(f.app.app_id), "union_id": clicker.union_id}
        assert re.fullmatch(r"c-[0-9a-f]{40}", ev["token"]) and ev["host"] == "im_message"
        _check_action(ev["action"], json.loads(message.content), [p.open_id(f.app.app_id) for p in chat.members])


def _check_action(action: dict[str, Any], card: dict[str, Any], members: list[str]) -> None:
    """The action is what a click on one of the card's components sends."""
    found = [t for t in targets(card) if t.tag == action["tag"] and t.element.get("name") == action.get("name")]
    assert len(found) == 1, (action, card)
    el = found[0].element
    assert action.get("value") == value_of(el)
    assert isinstance(action["value"], dict) and action["timezone"].startswith("Asia/")
    choices = [o["value"] for o in el.get("options", [])]
    tag = action["tag"]
    if tag in ("overflow", "select_static"):
        assert action["option"] in choices
    elif tag in ("multi_select_static", "select_img"):
        assert action["options"] and set(action["options"]) <= set(choices)
    elif tag == "multi_select_person":
        assert action["options"] and set(action["options"]) <= set(members)
    elif tag == "date_picker":
        assert re.fullmatch(rf"\d{{4}}-\d\d-\d\d {TZ_SUFFIX}", action["option"])
    elif tag == "picker_time":
        assert re.fullmatch(rf"\d\d:\d\d {TZ_SUFFIX}", action["option"])
    elif tag == "picker_datetime":
        assert re.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d {TZ_SUFFIX}", action["option"])
    elif tag == "input":
        assert action["input_value"]
    elif tag == "checker":
        assert action["checked"] is (not el.get("checked", False))
    if found[0].form is not None:
        assert set(action["form_value"]) == {f["name"] for f in found[0].form}
    else:
        assert "form_value" not in action


def test_every_component_kind_is_clicked() -> None:
    seen = Counter((env["event"]["action"]["tag"], "form_value" in env["event"]["action"])
                   for _, env in generated("card.action.trigger"))
    for tag in ("button", "overflow", "select_static", "multi_select_static", "multi_select_person", "date_picker",
                "picker_time", "picker_datetime", "input", "checker", "select_img"):
        assert seen[(tag, False)] > 0, tag
    assert seen[("button", True)] > 0  # form submits
    assert seen[("button", False)] > sum(seen.values()) / 4  # buttons are what people click most


def test_clicks_come_back_to_recent_cards_and_new_cards_join_the_world() -> None:
    f = factory(7)
    envs = [f.generate("card.action.trigger") for _ in range(200)]
    messages = Counter(e["event"]["context"]["open_message_id"] for e in envs)
    assert 20 < len(messages) < 150  # several clicks per card, and new cards keep coming
    world = f.world["im"]
    assert all(world.message(m) is not None for m in messages)


@pytest.mark.parametrize("tag", ["button", "overflow", "select_static", "multi_select_static", "date_picker",
                                 "picker_time", "picker_datetime", "input", "checker", "select_img",
                                 "multi_select_person"])
def test_the_tag_param_clicks_that_kind_of_component(tag: str) -> None:
    f = factory(3)
    for _ in range(10):
        env = f.generate("card.action.trigger", ctx=f.context(params={"tag": tag}))
        assert env["event"]["action"]["tag"] == tag
        assert schemas.errors(env) == []


def test_the_form_param_submits_a_form_and_value_replaces_the_value() -> None:
    f = factory(4)
    env = f.generate("card.action.trigger", ctx=f.context(params={"tag": "form"}))
    action = env["event"]["action"]
    assert action["tag"] == "button" and action["form_value"] and action["name"].startswith("Button_")
    env = f.generate("card.action.trigger", ctx=f.context(params={"value": {"approve": True}}))
    assert env["event"]["action"]["value"] == {"approve": True} and next(iter(env["event"]["action"])) == "value"
    env = f.generate("card.action.trigger", ctx=f.context(params={"value": "approve"}))
    assert env["event"]["action"]["value"] == "approve" and schemas.errors(env) == []  # the doc allows a string
    with pytest.raises(ConfigError, match="no generated card has a clickable 'select_person'"):
        f.generate("card.action.trigger", ctx=f.context(params={"tag": "select_person"}))


def test_an_operator_clicks_in_a_chat_they_are_in() -> None:
    f = factory(5)
    person = f.population.staff[3]
    for _ in range(20):
        env = f.generate("card.action.trigger", ctx=f.context(operator=person))
        assert env["event"]["operator"]["open_id"] == person.open_id(f.app.app_id)
        chat = f.world["im"].chat(env["event"]["context"]["open_chat_id"])
        assert chat.has(person)


CARD_FROM_THE_APP_V1 = {"config": {"wide_screen_mode": True}, "elements": [
    {"tag": "div", "text": {"tag": "lark_md", "content": "deploy?"}},
    {"tag": "action", "actions": [
        {"tag": "button", "text": {"tag": "plain_text", "content": "Go"}, "value": {"deploy": "v42"}},
        {"tag": "button", "text": {"tag": "plain_text", "content": "Docs"}, "url": "https://example.com"}]}]}
CARD_FROM_THE_APP_V2 = {"schema": "2.0", "body": {"elements": [
    {"tag": "column_set", "columns": [{"tag": "column", "elements": [
        {"tag": "button", "text": {"tag": "plain_text", "content": "Go"}, "name": "go",
         "behaviors": [{"type": "callback", "value": {"deploy": "v43"}}]},
        {"tag": "button", "text": {"tag": "plain_text", "content": "Docs"},
         "behaviors": [{"type": "open_url", "default_url": "https://example.com"}]}]}]},
    {"tag": "form", "name": "f", "elements": [
        {"tag": "input", "name": "why"}, {"tag": "checker", "name": "sure", "checked": False},
        {"tag": "button", "name": "send", "form_action_type": "submit"},
        {"tag": "button", "name": "clear", "form_action_type": "reset"}]}]}}


@pytest.mark.parametrize(("card", "expected"), [
    (CARD_FROM_THE_APP_V1, [("button", {"deploy": "v42"}, None)]),
    (CARD_FROM_THE_APP_V2, [("button", {"deploy": "v43"}, None), ("button", None, ["why", "sure"])]),
])
def test_clicks_read_any_card_json(card: dict[str, Any], expected: list[Any]) -> None:
    got = [(t.tag, value_of(t.element), None if t.form is None else [f["name"] for f in t.form])
           for t in targets(card)]
    assert got == expected


def test_a_card_the_app_sent_is_clicked_like_the_bots_own() -> None:
    """What the mock OpenAPI records when the app sends a card: a bot message in the world."""
    f = factory(6)
    world = world_of(f.world, f.rand, f.population, f.app.app_id)
    chat = world.pick_group()
    sent = world.record(Message(world.new_message_id(), chat.chat_id, 1772414000000, None, "interactive",
                                json.dumps(CARD_FROM_THE_APP_V2)))
    ctx = f.context()
    ctx.scene["message"] = sent
    env = f.generate("card.action.trigger", ctx=ctx)
    assert env["event"]["context"] == {"open_message_id": sent.message_id, "open_chat_id": chat.chat_id}
    action = env["event"]["action"]
    if "form_value" in action:
        assert set(action["form_value"]) == {"why", "sure"} and isinstance(action["form_value"]["sure"], bool)
    else:
        assert action["value"] == {"deploy": "v43"} and action["name"] == "go"


def test_link_previews() -> None:
    envs = generated("url.preview.get")
    temporary = [e for _, e in envs if "preview_token" not in e["event"]["context"]]
    assert 0.07 < len(temporary) / len(envs) < 0.25
    for e in temporary:
        assert e["event"]["context"]["open_message_id"] == "" == e["event"]["context"]["open_chat_id"]
    for f, env in envs:
        ev = env["event"]
        assert ev["host"] == "im_message" and set(ev["operator"]) == {"tenant_key", "user_id", "open_id"}
        assert re.fullmatch(r"https://[a-z]+\.[a-z0-9.-]+/\S+", ev["context"]["url"])
        if "preview_token" in ev["context"]:
            world = f.world["im"]
            message = world.message(ev["context"]["open_message_id"])
            assert message is not None and not message.from_bot
            assert json.loads(message.content) == {"text": ev["context"]["url"]}
            viewer = world.person(open_id=ev["operator"]["open_id"])
            assert viewer is not None and world.chat(message.chat_id).has(viewer)
    f = factory(2)
    env = f.generate("url.preview.get", ctx=f.context(params={"url": "https://x.example.com/a", "temporary": False}))
    assert env["event"]["context"]["url"] == "https://x.example.com/a" and env["event"]["context"]["preview_token"]


def test_the_same_seed_gives_the_same_callbacks() -> None:
    f, g = factory(12), factory(12)
    for event_type in ("card.action.trigger", "url.preview.get"):
        assert [f.generate(event_type) for _ in range(30)] == [g.generate(event_type) for _ in range(30)]


@pytest.mark.lark_sdk
def test_lark_parses_the_generated_callbacks() -> None:
    from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTrigger
    from lark_oapi.event.callback.model.p2_url_preview_get import P2URLPreviewGet

    for _, env in generated("card.action.trigger")[:300]:
        parsed = P2CardActionTrigger(copy.deepcopy(env))
        assert parsed.event.action.tag == env["event"]["action"]["tag"]
        assert parsed.event.action.value == env["event"]["action"]["value"]
        assert parsed.event.action.form_value == env["event"]["action"].get("form_value")
        assert parsed.event.context.open_message_id == env["event"]["context"]["open_message_id"]
    for _, env in generated("url.preview.get")[:300]:
        preview = P2URLPreviewGet(copy.deepcopy(env))
        assert preview.event.context.url == env["event"]["context"]["url"]

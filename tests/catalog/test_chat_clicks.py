"""The chat scenario's ``click`` step: a member clicks a card the bot sent earlier in the scenario, and the
``card.action.trigger`` callback it makes is schema-valid and names that card, its chat and the clicker as the
run's world knows them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from simulator.errors import ConfigError
from simulator.generation import scenarios, schemas
from simulator.generation.families.callbacks.cards import card_with
from simulator.generation.families.callbacks.clicks import targets, value_of
from simulator.generation.families.im.world import Message
from simulator.rand import SimRandom
from tests.catalog.chat_invariants import check_chat_sequence
from tests.catalog.helpers import factory
from tests.docs_examples import example

CLICKS = """\
[chat]
owner = "lin"
members = ["mo", "team"]

[people]
named = ["lin", "mo", "ning"]
crowds = { team = 6 }

[[step]]
id = "ask"
event = "message"
by = "mo"

[[step]]
id = "card"
event = "bot_message"
message_type = "interactive"
reply_to = "ask"

[[step]]
id = "approve"
event = "click"
on = "card"
by = "mo"
value = { action = "approve", request_id = "R-1" }

[[step]]
id = "form"
event = "card.action.trigger"
on = "card"
tag = "form"

[[step]]
id = "alerts"
event = "bot_message"
message_type = ["text", "interactive"]
count = 2

[[step]]
id = "latest"
event = "click"
by = "team"
count = 3
spread = "1m"
"""
TOKEN = re.compile(r"^c-[0-9a-f]{40}$")


def played(seed: int, text: str = CLICKS) -> tuple[list[dict[str, Any]], Any]:
    f = factory(seed, population_size=64)
    envs = scenarios.play(scenarios.loads(text), f, SimRandom(seed))
    check_chat_sequence(envs, f.world["im"].message)
    return envs, f.world["im"].message


def clicks(envs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in envs if e["header"]["event_type"] == "card.action.trigger"]


def card_of(lookup: Any, click: dict[str, Any]) -> tuple[Message, Any]:
    m = lookup(click["event"]["context"]["open_message_id"])
    assert m is not None and m.sender is None and m.message_type == "interactive"  # a card the bot sent
    return m, json.loads(m.content)


@pytest.mark.parametrize("seed", range(6))
def test_each_click_is_a_valid_callback_on_the_card_the_bot_sent(seed: int) -> None:
    envs, lookup = played(seed)
    (ask,) = [e for e in envs if e["header"]["event_type"] == "im.message.receive_v1"]
    chat_id, mo = ask["event"]["message"]["chat_id"], ask["event"]["sender"]["sender_id"]["open_id"]
    approve, form, *latest = clicks(envs)
    assert len(latest) == 3
    for click in (approve, form, *latest):
        schemas.validate(click, "card.action.trigger")  # schemas/callbacks/card.action.trigger.schema.json
        ev = click["event"]
        m, _ = card_of(lookup, click)
        assert ev["context"]["open_chat_id"] == chat_id == m.chat_id
        assert m.create_time_ms < int(click["header"]["create_time"])  # sent before the click
        assert TOKEN.match(ev["token"]) and ev["host"] == "im_message"
        assert ev["operator"]["tenant_key"] == click["header"]["tenant_key"]
    # on = "card": the card that replies to the question; by = "mo"; the value as the file sets it
    card_msg, card = card_of(lookup, approve)
    assert card_msg.parent_id == ask["event"]["message"]["message_id"]
    assert approve["event"]["operator"]["open_id"] == mo
    assert approve["event"]["action"]["value"] == {"action": "approve", "request_id": "R-1"}
    assert approve["event"]["action"]["tag"] == "button"
    # tag = "form": that card has a form (the play made it so), and the submit sends every field
    assert card_of(lookup, form)[0] is card_msg
    submits = [t for t in targets(card) if t.form is not None]
    assert submits and form["event"]["action"]["tag"] == "button"
    assert form["event"]["action"]["value"] == value_of(submits[0].element)
    assert set(form["event"]["action"]["form_value"]) == {f["name"] for f in submits[0].form or ()}
    # no on: the bot's latest card (the second message of step 'alerts'), its own value, by one of the team
    last = card_of(lookup, latest[0])[0]
    assert last is not card_msg and all(card_of(lookup, c)[0] is last for c in latest)
    values = [value_of(t.element) for t in targets(json.loads(last.content)) if t.tag == "button"]
    assert all(c["event"]["action"]["value"] in values for c in latest)


def test_the_bots_cards_are_clickable_card_json() -> None:
    envs, lookup = played(3)
    m, card = card_of(lookup, clicks(envs)[0])
    assert m.content == json.dumps(card, ensure_ascii=False, separators=(",", ":"))  # as the bot sent it
    assert card.get("schema") == "2.0" or "elements" in card
    assert any(t.tag == "button" for t in targets(card))


def test_a_click_by_a_crowd_is_one_of_it_each_time() -> None:
    seen: set[str] = set()
    for seed in range(6):
        f = factory(seed, population_size=64)
        envs = scenarios.play(scenarios.loads(CLICKS), f, SimRandom(seed))
        approve, *_, last = clicks(envs)
        chat = f.world["im"].chat(last["event"]["context"]["open_chat_id"])
        named = {approve["event"]["operator"]["open_id"], chat.owner.open_id(f.app.app_id)}  # mo, lin
        team = {p.open_id(f.app.app_id) for p in chat.members} - named
        assert len(team) == 6
        for c in clicks(envs)[2:]:
            assert c["event"]["operator"]["open_id"] in team
            seen.add(c["event"]["operator"]["open_id"])
    assert len(seen) > 3


def test_a_p2p_click_is_the_users() -> None:
    text = ('[chat]\ntype = "p2p"\nuser = "li"\n\n[people]\nnamed = ["li"]\n\n[[step]]\nevent = "message"\n\n'
            '[[step]]\nid = "card"\nevent = "bot_message"\nmessage_type = "interactive"\n\n[[step]]\nevent = "click"\n'
            'tag = "button"\n')
    envs, lookup = played(2, text)
    (click,) = clicks(envs)
    assert click["event"]["operator"]["open_id"] == envs[0]["event"]["sender"]["sender_id"]["open_id"]
    assert lookup(click["event"]["context"]["open_message_id"]).chat_id == envs[0]["event"]["message"]["chat_id"]


@pytest.mark.parametrize("tag", ["select_static", "checker", "input", "overflow", "multi_select_person", "select_img"])
def test_a_click_on_a_component_lands_on_one_of_that_kind(tag: str) -> None:
    text = CLICKS.replace('tag = "form"', f'tag = "{tag}"')
    for seed in range(3):
        envs, lookup = played(seed, text)
        form = clicks(envs)[1]
        assert form["event"]["action"]["tag"] == tag and "form_value" not in form["event"]["action"]
        assert any(t.tag == tag for t in targets(card_of(lookup, form)[1]))


def test_the_components_a_card_has_together() -> None:
    assert card_with([]) and card_with("button") and card_with(["form", "button"])
    assert card_with(["select_static", "button"]) and not card_with(["form", "select_img"])


def test_the_click_generator_takes_who_clicks_as_a_param() -> None:
    f = factory(4, population_size=64)
    world = f.world
    envs = scenarios.play(scenarios.loads(CLICKS), f, SimRandom(4))
    card = clicks(envs)[0]["event"]["context"]["open_message_id"]
    chat = world["im"].chat(clicks(envs)[0]["event"]["context"]["open_chat_id"])
    someone = chat.members[-1]
    for who in (someone, someone.open_id(f.app.app_id), someone.union_id):
        env = f.generate("card.action.trigger", ctx=f.context(params={"message": card, "operator": who}))
        assert env["event"]["operator"]["open_id"] == someone.open_id(f.app.app_id)
        assert env["event"]["context"] == {"open_message_id": card, "open_chat_id": chat.chat_id}
    outsider = next(p for p in f.population.staff if not chat.has(p))
    with pytest.raises(ConfigError, match="the clicker is not in it"):
        f.generate("card.action.trigger", ctx=f.context(params={"message": card, "operator": outsider}))


@pytest.mark.parametrize("seed", range(4))
def test_the_catalogue_click_example_plays(seed: int) -> None:
    block = example("scenario-chat-click")
    f = factory(seed)
    envs = scenarios.play(scenarios.loads(block.code, source=block.where), f, SimRandom(seed))
    assert check_chat_sequence(envs, f.world["im"].message) == {"message": 1, "click": 2}
    approve, submit = clicks(envs)
    for click in (approve, submit):
        schemas.validate(click, "card.action.trigger")
    expense = envs[0]["event"]
    assert card_of(f.world["im"].message, approve)[0].parent_id == expense["message"]["message_id"]
    assert approve["event"]["operator"]["open_id"] != expense["sender"]["sender_id"]["open_id"]  # lin, not mo
    assert approve["event"]["action"]["value"] == {"action": "approve", "request_id": "R-1"}
    assert submit["event"]["action"]["form_value"] and submit["event"]["action"]["tag"] == "button"
    assert card_of(f.world["im"].message, submit)[0] is not card_of(f.world["im"].message, approve)[0]

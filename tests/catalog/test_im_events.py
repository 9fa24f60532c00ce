"""Every catalogued IM type (and the bot menu): registered with its SDK handler, schema-valid over many
seeds, its message content valid per message_type, its mentions matching the content, deterministic per
seed, overridable with ``--set``, and its schema strict enough to reject the usual mistakes."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from typing import Any

import pytest

from simulator.cli import main
from simulator.errors import OverrideError
from simulator.generation import catalog, schemas
from simulator.generation.families.im.content import MESSAGE_TYPES
from tests.catalog.helpers import DELETE, at_path, factory, mutated
from tests.catalog.im_helpers import (
    ALL,
    IM_TYPES,
    PER_TYPE,
    RECEIVE,
    content_errors,
    mention_keys_in,
    parsed_content,
    world,
)

SEEDS = range(3)


@cache
def generated(event_type: str) -> list[dict[str, Any]]:
    out = []
    for seed in SEEDS:
        f = factory(seed)
        out += [f.generate(event_type) for _ in range(PER_TYPE // len(SEEDS))]
    return out


def test_the_family_has_the_thirteen_im_types_and_the_bot_menu() -> None:
    assert len(IM_TYPES) == 13 and len(ALL) == 14
    for et in ALL:
        spec = catalog.get(et)
        assert spec.sdk_register == "register_p2_" + et.replace(".", "_")
        assert spec.summary and schemas.schema_path(et).is_file()
    assert catalog.get("application.bot.menu_v6").family == "application"
    assert {p.name.removesuffix(".schema.json") for p in schemas.schema_path(RECEIVE).parent.glob("im.*.json")} \
        == set(IM_TYPES)


def test_only_receive_has_a_business_dedupe_key() -> None:
    env = factory(1).generate(RECEIVE)
    key = catalog.get(RECEIVE).dedupe_key
    assert key is not None and key(env["event"]) == env["event"]["message"]["message_id"]
    assert [t for t in catalog.event_types() if catalog.get(t).dedupe_key] == [RECEIVE]


@pytest.mark.parametrize("event_type", ALL)
def test_many_seeded_events_are_schema_valid(event_type: str) -> None:
    v = schemas.validator(event_type)
    envs = generated(event_type)
    assert len(envs) >= 99
    for env in envs:
        errors = [schemas.describe(e) for e in v.iter_errors(env)]
        assert errors == [], errors
        assert int(env["header"]["create_time"]) >= max(_times(env["event"]), default=0)


def _times(body: Any) -> list[int]:
    """Every ms time a body names (they must not be after the envelope's create_time)."""
    out: list[int] = []
    if isinstance(body, dict):
        for k, v in body.items():
            if k in ("create_time", "update_time", "action_time", "read_time", "recall_time",
                     "last_message_create_time", "timestamp"):
                out.append(int(v))
            elif k != "content":
                out += _times(v)
    elif isinstance(body, list):
        for v in body:
            out += _times(v)
    return out


def test_every_message_content_parses_and_matches_its_type() -> None:
    for env in generated(RECEIVE):
        m = env["event"]["message"]
        assert content_errors(m) == [], m
        if m["message_type"] != "merge_forward":
            assert m["content"] == json.dumps(parsed_content(m), ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("message_type", MESSAGE_TYPES)
def test_each_message_type_on_request(message_type: str) -> None:
    f = factory(4)
    for chat_type in ("p2p", "group"):
        for _ in range(8):
            env = f.generate(RECEIVE, ctx=f.context(params={"message_type": message_type, "chat_type": chat_type}))
            m = env["event"]["message"]
            assert m["message_type"] == message_type and m["chat_type"] == chat_type
            assert content_errors(m) == [] and schemas.errors(env) == []
    if message_type == "merge_forward":
        assert m["content"] == "Merged and Forwarded Message"  # plain text, not JSON
    if message_type == "share_chat":
        assert world(f).chat(parsed_content(m)["chat_id"]) is not None
    if message_type == "share_user":
        assert world(f).person(open_id=parsed_content(m)["user_id"]) is not None


def test_the_mix_is_realistic() -> None:
    f = factory(2)
    p2p = Counter(f.generate(RECEIVE, ctx=f.context(params={"chat_type": "p2p"}))["event"]["message"]["message_type"]
                  for _ in range(4000))
    assert set(p2p) == set(MESSAGE_TYPES)  # every documented type turns up
    assert p2p["text"] > 0.5 * 4000 and p2p.most_common(3)[0][0] == "text"
    lone = Counter(e["event"]["message"]["chat_type"] for e in generated(RECEIVE))
    assert 0.25 < lone["p2p"] / sum(lone.values()) < 0.55


def test_mention_keys_match_mentions_and_name_real_people() -> None:
    f = factory(9)
    for _ in range(600):
        env = f.generate(RECEIVE)
        w = world(f)
        m = env["event"]["message"]
        mentions = m.get("mentions", [])
        keys = [x["key"] for x in mentions]
        assert keys == [f"@_user_{i}" for i in range(1, len(keys) + 1)]
        assert mention_keys_in(m) == keys
        chat = w.chat(m["chat_id"])
        assert chat is not None
        for x in mentions:
            if x["mentioned_type"] == "bot":
                assert x["id"] == {"union_id": w.bot.union_id, "open_id": w.bot.open_id} and x["name"] == w.bot.name
            else:
                person = w.person(open_id=x["id"]["open_id"])
                assert person is not None and chat.has(person) and x["name"] == person.name
                assert x["id"] == person.user_id_json(f.app.app_id)
            assert x["tenant_key"] == env["header"]["tenant_key"]
        if m["chat_type"] == "p2p":
            assert not mentions  # the user and the bot only
        else:  # without the group-message scope, a group message reaches the bot only if it @s it
            assert [x["mentioned_type"] for x in mentions].count("bot") == 1
            assert m["message_type"] in ("text", "post")


def test_with_the_group_message_scope_most_group_messages_do_not_mention_the_bot() -> None:
    f = factory(3)
    envs = [f.generate(RECEIVE, ctx=f.context(params={"chat_type": "group", "group_msg_scope": True}))
            for _ in range(400)]
    at_bot = sum(any(x["mentioned_type"] == "bot" for x in e["event"]["message"].get("mentions", [])) for e in envs)
    assert 0.15 * 400 < at_bot < 0.45 * 400
    assert len({e["event"]["message"]["message_type"] for e in envs}) > 8


def test_same_seed_same_bytes_whatever_the_mix() -> None:
    def run(seed: int) -> str:
        f = factory(seed)
        return "\n".join(json.dumps(f.generate(t), ensure_ascii=False) for _ in range(20) for t in ALL)

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_cli_generate_is_byte_identical_per_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", RECEIVE, "--count", "30", "--seed", "5"]) == 0
    first = capsys.readouterr().out
    assert main(["generate", RECEIVE, "--count", "30", "--seed", "5"]) == 0
    assert capsys.readouterr().out == first and len(first.splitlines()) == 30


OVERRIDES = {
    RECEIVE: ("event.message.chat_id", "oc_" + "0" * 32),
    "im.message.reaction.created_v1": ("event.reaction_type.emoji_type", "SMILE"),
    "im.message.reaction.deleted_v1": ("event.reaction_type.emoji_type", "OK"),
    "im.message.message_read_v1": ("event.reader.read_time", "1772415000000"),
    "im.message.recalled_v1": ("event.recall_type", "group_owner"),
    "im.chat.member.bot.added_v1": ("event.name", "Release train"),
    "im.chat.member.bot.deleted_v1": ("event.external", True),
    "im.chat.member.user.added_v1": ("event.users.0.name", "张三"),
    "im.chat.member.user.deleted_v1": ("event.users.0.name", "李四"),
    "im.chat.member.user.withdrawn_v1": ("event.users.0.name", "王五"),
    "im.chat.updated_v1": ("event.operator_tenant_key", "736588c9260f175e"),
    "im.chat.disbanded_v1": ("event.name", "old group"),
    "im.chat.access_event.bot_p2p_chat_entered_v1": ("event.chat_id", "oc_" + "1" * 32),
    "application.bot.menu_v6": ("event.event_key", "daily_report"),
}


@pytest.mark.parametrize("event_type", ALL)
def test_one_override_per_type(event_type: str) -> None:
    path, value = OVERRIDES[event_type]
    env = factory(6).generate(event_type, overrides={path: value})
    assert at_path(env, path) == value
    with pytest.raises(OverrideError, match="break the schema"):
        factory(6).generate(event_type, overrides={"event.nonsense_key": 1})


MUTATIONS = [
    (RECEIVE, "event.message.create_time", 1772415000000),  # int64 travels as a string
    (RECEIVE, "event.message.content", {"text": "hi"}),  # content is a JSON *string*
    (RECEIVE, "event.message.message_id", "om_123"),
    (RECEIVE, "event.message.chat_type", "topic_group"),
    (RECEIVE, "event.message.message_type", "video"),
    (RECEIVE, "event.message.mentions", []),  # omitted when empty, never []
    (RECEIVE, "event.message.parent_id", "om_" + "a" * 32),  # a parent without a root
    (RECEIVE, "event.sender.sender_type", "bot"),
    (RECEIVE, "event.sender", DELETE),
    ("im.message.reaction.created_v1", "event.app_id", "cli_a1b2c3d4e5f60718"),  # user reaction with an app id
    ("im.message.reaction.created_v1", "event.action_time", 1772415000000),
    ("im.message.message_read_v1", "event.message_id_list", []),
    ("im.message.recalled_v1", "event.recall_type", "admin"),
    ("im.chat.member.user.added_v1", "event.users", []),
    ("im.chat.member.bot.added_v1", "event.external", "false"),
    ("im.chat.updated_v1", "event.after_change", {}),
    ("im.chat.access_event.bot_p2p_chat_entered_v1", "event.chat_id", "oc_" + "x" * 32),
    ("application.bot.menu_v6", "event.timestamp", "1772415000000"),  # the one int64 sent as a number
    ("application.bot.menu_v6", "event.event_key", "k" * 31),
]


@pytest.mark.parametrize(("event_type", "path", "value"), MUTATIONS,
                         ids=[f"{t.split('.', 1)[1]}:{p.removeprefix('event.')}" for t, p, _ in MUTATIONS])
def test_schema_rejects(event_type: str, path: str, value: Any) -> None:
    params = {"operator_type": "user"} if "reaction" in event_type else {}
    f = factory(1)
    env = f.generate(event_type, ctx=f.context(params=params))
    assert schemas.errors(env) == []
    assert schemas.errors(mutated(env, path, value), event_type) != []

"""The conversation scenarios: coherent for every seed (an independent checker, ``chat_invariants``), the
shapes they promise, the same bytes per seed; and the checker is not vacuous."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import SimConfig, Simulator
from simulator.generation import scenarios, schemas
from simulator.generation.factory import SEEDED_EPOCH
from tests.catalog.chat_invariants import Lookup, check_chat_sequence, short

CHATS = ["busy-group", "group-mention-thread", "p2p-conversation"]


def run(name: str, seed: int, **kw: Any) -> tuple[list[dict[str, Any]], Lookup]:
    sim = Simulator(SimConfig(seed=seed, start_time=SEEDED_EPOCH, time_scale=0))
    return sim.generate_scenario(name, **kw), sim.factory.world["im"].message


def checked(name: str, seed: int) -> tuple[list[dict[str, Any]], Lookup, dict[str, int]]:
    sc = scenarios.load(name)
    assert sc.chat is not None
    envs, lookup = run(name, seed)
    return envs, lookup, check_chat_sequence(envs, lookup, scope=sc.chat.group_msg_scope)


def messages(envs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["event"]["message"] for e in envs if short(e) == "message"]


def at_bot(m: dict[str, Any]) -> bool:
    return any(x.get("mentioned_type") == "bot" for x in m.get("mentions", []))


def test_the_chat_scenarios_are_shipped_and_listed() -> None:
    assert set(CHATS) <= set(scenarios.names())
    for name in CHATS:
        sc = scenarios.load(name)
        assert sc.is_chat and sc.chat is not None and sc.description


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CHATS), st.integers(0, 2**32 - 1))
def test_any_seed_plays_a_coherent_conversation(name: str, seed: int) -> None:
    checked(name, seed)


@pytest.mark.parametrize("name", CHATS)
def test_every_event_is_schema_valid(name: str) -> None:
    for seed in range(2):
        for env in run(name, seed)[0]:
            assert schemas.errors(env) == [], (env["header"]["event_type"], schemas.errors(env))


@pytest.mark.parametrize("name", CHATS)
def test_same_seed_same_bytes(name: str) -> None:
    a, b, c = (json.dumps(run(name, s)[0], ensure_ascii=False) for s in (11, 11, 12))
    assert a == b and a != c


def test_p2p_conversation_shape() -> None:
    for seed in range(8):
        envs, lookup, counts = checked("p2p-conversation", seed)
        assert counts == {"p2p_chat_entered": 1, "message": 6, "message_read": 2, "recalled": 1,
                          "reaction_created": 1}
        assert short(envs[0]) == "p2p_chat_entered"
        msgs = messages(envs)
        assert {m["chat_type"] for m in msgs} == {"p2p"}
        assert [m["message_type"] for m in msgs] == ["text", "image", "post", "text", "file", "sticker"]
        reads = [e["event"]["message_id_list"] for e in envs if short(e) == "message_read"]
        assert [len(r) for r in reads] == [1, 2]
        answer = lookup(reads[0][0])
        assert answer.sender is None and answer.parent_id == msgs[0]["message_id"]  # the bot's reply
        assert [lookup(mid).message_type for mid in reads[1]] == ["text", "interactive"]
        recall = next(e["event"] for e in envs if short(e) == "recalled")
        assert recall["message_id"] == msgs[4]["message_id"] and recall["recall_type"] == "message_owner"
        reaction = next(e["event"] for e in envs if short(e) == "reaction_created")
        assert reaction["message_id"] in reads[1] and reaction["reaction_type"] == {"emoji_type": "THUMBSUP"}


def test_group_mention_thread_shape() -> None:
    for seed in range(8):
        envs, lookup, counts = checked("group-mention-thread", seed)  # scope off: each message @s the bot
        assert short(envs[0]) == "bot_added"
        assert counts == {"bot_added": 1, "message": 6, "reaction_created": 1, "user_added": 1}
        msgs = messages(envs)
        ask = msgs[0]
        assert "parent_id" not in ask and sorted(x["mentioned_type"] for x in ask["mentions"]) == ["bot", "user"]
        thread = [m for m in msgs if m.get("root_id") == ask["message_id"]]
        assert len(thread) == 4 and len({m["thread_id"] for m in thread}) == 1
        parents = [lookup(m["parent_id"]) for m in thread]
        assert [p.sender is None for p in parents] == [True, False, True, True]  # answers by the bot
        newcomer = next(e["event"]["users"][0]["user_id"]["open_id"] for e in envs if short(e) == "user_added")
        assert [m in thread for m in msgs if sender_of(envs, m) == newcomer] == [True, True]
        assert "root_id" not in msgs[-1]  # a new question, outside the thread


def sender_of(envs: list[dict[str, Any]], m: dict[str, Any]) -> str:
    return str(next(e["event"]["sender"]["sender_id"]["open_id"] for e in envs
                    if short(e) == "message" and e["event"]["message"] is m))


def test_busy_group_shape() -> None:
    for seed in range(2):
        envs, lookup, counts = checked("busy-group", seed)  # scope on: most messages do not @ the bot
        msgs = messages(envs)
        assert counts == {"message": 370, "reaction_created": 60}
        assert len({sender_of(envs, m) for m in msgs}) >= 40  # dozens of people
        assert sum(map(at_bot, msgs)) == 4
        replies = [m for m in msgs if "parent_id" in m]
        assert len(replies) >= 30 and sum("thread_id" in m for m in replies) >= 10
        assert sum(lookup(m["parent_id"]).sender is None for m in replies) >= 1  # the thread on a bot answer
        hours = (int(envs[-1]["header"]["create_time"]) - int(envs[0]["header"]["create_time"])) / 3_600_000
        assert 2.9 < hours < 3.3


def test_runs_back_to_back_are_different_chats_in_time_order() -> None:
    envs, lookup = run("group-mention-thread", 5, runs=3)
    chats = list(dict.fromkeys(e["event"].get("chat_id") or e["event"]["message"]["chat_id"] for e in envs
                               if short(e) in ("bot_added", "message")))
    assert len(chats) == 3
    times = [int(e["header"]["create_time"]) for e in envs]
    assert times == sorted(times)
    for chat_id in chats:
        check_chat_sequence([e for e in envs if chat_id in json.dumps(e["event"])], lookup)


def test_on_the_real_clock_a_conversation_ends_now() -> None:
    sim = Simulator(SimConfig(seed=5))
    before = time.time()
    envs = sim.generate_scenario("p2p-conversation")
    last = int(envs[-1]["header"]["create_time"]) / 1000
    assert before - 1 <= last <= time.time() + 1
    check_chat_sequence(envs, sim.factory.world["im"].message)


# -- the checker is not vacuous ------------------------------------------------------------------------------
def mutated(name: str, mutate: Any) -> tuple[list[dict[str, Any]], Lookup]:
    envs, lookup, _ = checked(name, 7)
    envs = json.loads(json.dumps(envs))
    mutate(envs)
    return envs, lookup


def first(envs: list[dict[str, Any]], kind: str) -> int:
    return next(i for i, e in enumerate(envs) if short(e) == kind)


def _react_first(envs: list[dict[str, Any]]) -> None:
    envs.insert(1, envs.pop(first(envs, "reaction_created")))


def _recall_twice(envs: list[dict[str, Any]]) -> None:
    i = first(envs, "recalled")
    envs.insert(i + 1, json.loads(json.dumps(envs[i])))
    envs[i + 1]["header"]["event_id"] = "0" * 32


def _read_a_user_message(envs: list[dict[str, Any]]) -> None:
    envs[first(envs, "message_read")]["event"]["message_id_list"] = [messages(envs)[0]["message_id"]]


def _reply_to_a_later_message(envs: list[dict[str, Any]]) -> None:
    msgs = messages(envs)
    msgs[1]["parent_id"] = msgs[1]["root_id"] = msgs[-1]["message_id"]


def _leave_the_thread(envs: list[dict[str, Any]]) -> None:
    threaded = [m for m in messages(envs) if "thread_id" in m]
    threaded[-1]["thread_id"] = "omt_" + "0" * 16


def _no_mention(envs: list[dict[str, Any]]) -> None:
    m = [m for m in messages(envs) if m["message_type"] == "text"][-1]
    m["content"] = json.dumps({"text": "hello"})
    del m["mentions"]


def _time_goes_back(envs: list[dict[str, Any]]) -> None:
    envs[3]["header"]["create_time"] = envs[1]["header"]["create_time"]


def _react_to_the_recalled(envs: list[dict[str, Any]]) -> None:
    i, j = first(envs, "recalled"), first(envs, "reaction_created")
    envs[j]["event"]["message_id"] = envs[i]["event"]["message_id"]


@pytest.mark.parametrize(("name", "mutate"), [
    ("p2p-conversation", _react_first), ("p2p-conversation", _recall_twice),
    ("p2p-conversation", _read_a_user_message), ("p2p-conversation", _reply_to_a_later_message),
    ("p2p-conversation", _time_goes_back), ("p2p-conversation", _react_to_the_recalled),
    ("group-mention-thread", _leave_the_thread), ("group-mention-thread", _no_mention),
])
def test_the_checker_catches_broken_conversations(name: str, mutate: Any) -> None:
    envs, lookup = mutated(name, mutate)
    with pytest.raises(AssertionError):
        check_chat_sequence(envs, lookup)

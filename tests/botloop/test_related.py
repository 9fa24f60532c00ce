"""Which OpenAPI calls answer which event (``simulator.platform.openapi.related``), sans-IO: subjects of the
event shapes, match kinds, attribution among the events of one push, the bounded wait, the one-line rendering."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from simulator.platform.openapi.calls import ApiCall, CallLog
from simulator.platform.openapi.related import (
    CHAT,
    MESSAGE,
    Subject,
    attribute,
    await_answers,
    awaits_answer,
    describe,
    match,
    subject_of,
)
from simulator.verdicts.model import Attempt, Channel, Delivery, Outcome

IM = "/open-apis/im/v1"


def receive(message_id: str, chat_id: str, open_id: str = "ou_u") -> dict[str, Any]:
    return {"schema": "2.0", "header": {"event_id": f"e-{message_id}", "event_type": "im.message.receive_v1"},
            "event": {"sender": {"sender_id": {"open_id": open_id}},
                      "message": {"message_id": message_id, "chat_id": chat_id}}}


def delivered(envelope: dict[str, Any], sent_at: float, outcome: Outcome = Outcome.ACKED,
              origin: str = "event") -> Delivery:
    header = envelope["header"]
    d = Delivery(header["event_id"], header["event_type"], envelope, origin=origin)
    d.record(Attempt(header["event_id"], header["event_type"], 1, Channel.LONGCONN, outcome, sent_at, 1.0, 200))
    return d


def call(method: str, path: str, api: str, *, body: Any = None, query: dict[str, str] | None = None,
         time: float = 10.0, data: dict[str, Any] | None = None, code: int = 0) -> ApiCall:
    answer = {"code": code, "msg": "success" if not code else "refused", "data": data or {}}
    return ApiCall(seq=0, time=time, method=method, path=path, api=f"{method} {api}", query=query or {}, body=body,
                   status=200 if not code else 400, code=code, answer=answer)


def reply(message_id: str, time: float = 10.0, **kw: Any) -> ApiCall:
    return call("POST", f"{IM}/messages/{message_id}/reply", f"{IM}/messages/:message_id/reply", time=time, **kw)


def send(chat_id: str, time: float = 10.0, id_type: str = "chat_id") -> ApiCall:
    return call("POST", f"{IM}/messages", f"{IM}/messages", body={"receive_id": chat_id, "msg_type": "text",
                                                                "content": json.dumps({"text": "x"})},
                query={"receive_id_type": id_type}, time=time)


@pytest.mark.parametrize(("event", "want"), [
    ({"message": {"message_id": "om_1", "chat_id": "oc_1"}, "sender": {"sender_id": {"open_id": "ou_1"}}},
     Subject("om_1", "oc_1", "ou_1")),
    ({"message_id": "om_2", "user_id": {"open_id": "ou_2"}}, Subject("om_2", "", "ou_2")),  # a reaction
    ({"chat_id": "oc_3", "operator_id": {"open_id": "ou_3"}}, Subject("", "oc_3", "ou_3")),  # bot added, p2p entered
    ({"operator": {"operator_id": {"open_id": "ou_4"}}}, Subject(open_id="ou_4")),  # bot menu
    ({"token": "c-abc", "operator": {"open_id": "ou_5"},
      "context": {"open_message_id": "om_5", "open_chat_id": "oc_5"}}, Subject("om_5", "oc_5", "ou_5", "c-abc")),
    ({"meeting": {"id": "1"}}, Subject()),
])
def test_subject_of_each_event_shape(event: dict[str, Any], want: Subject) -> None:
    assert subject_of({"event": event}) == want


def test_match_kinds() -> None:
    s = Subject("om_1", "oc_1", "ou_1", "c-t")
    assert match(s, reply("om_1")) == MESSAGE
    assert match(s, call("PATCH", f"{IM}/messages/om_1", f"{IM}/messages/:message_id")) == MESSAGE
    assert match(s, call("POST", f"{IM}/messages/om_1/reactions", f"{IM}/messages/:message_id/reactions")) == MESSAGE
    assert match(s, call("POST", "/open-apis/interactive/v1/card/update", "/open-apis/interactive/v1/card/update",
                         body={"token": "c-t"})) == MESSAGE
    assert match(s, send("oc_1")) == CHAT and match(s, send("ou_1", id_type="open_id")) == CHAT
    assert match(s, reply("om_2")) == 0 and match(s, send("oc_2")) == 0
    assert match(s, call("GET", "/open-apis/bot/v3/info", "/open-apis/bot/v3/info")) == 0
    assert match(Subject(), send("oc_1")) == 0


def test_calls_before_the_event_answer_none_of_it() -> None:
    """The bot's card, sent into the chat before a click on it, does not answer the click."""
    env = receive("om_1", "oc_1")
    env["header"]["create_time"] = "5000"
    s = subject_of(env)
    assert s.since_ms == 5000
    assert match(s, send("oc_1", time=4.9)) == 0 and match(s, reply("om_1", time=4.9)) == 0
    assert match(s, send("oc_1", time=5.0)) == CHAT and match(s, reply("om_1", time=5.1)) == MESSAGE


def test_a_chat_send_goes_to_the_latest_event_of_the_chat_sent_before_it() -> None:
    a, b, c = (delivered(receive(f"om_{i}", "oc_g"), sent_at=float(i)) for i in (1, 2, 3))
    other = delivered(receive("om_9", "oc_other"), sent_at=1.5)
    calls = [send("oc_g", time=2.5), reply("om_1", time=2.6), send("oc_g", time=9.0), send("oc_x", time=9.0)]
    found = attribute([a, b, c, other], calls)
    assert [[x.time for x in f] for f in found] == [[2.6], [2.5], [9.0], []]


def test_duplicates_do_not_take_calls_from_their_original() -> None:
    env = receive("om_1", "oc_1")
    original, dup = delivered(env, 1.0), delivered(env, 2.0, origin="duplicate")
    found = attribute([original, dup], [reply("om_1", time=3.0)])
    assert [len(f) for f in found] == [1, 0]


def test_awaits_answer_needs_a_subject_and_a_reached_bot() -> None:
    assert awaits_answer(delivered(receive("om_1", "oc_1"), 1.0))
    assert awaits_answer(delivered(receive("om_1", "oc_1"), 1.0, Outcome.TIMEOUT))
    assert not awaits_answer(delivered(receive("om_1", "oc_1"), 1.0, Outcome.NOT_DELIVERED))
    assert not awaits_answer(delivered({"header": {"event_id": "e", "event_type": "vc"}, "event": {}}, 1.0))


def test_await_answers_ends_once_answered_and_quiet() -> None:
    log = CallLog()
    log.add(reply("om_0"))  # before the push: not looked at
    since = log.last_seq
    d = delivered(receive("om_1", "oc_1"), 1.0)

    async def run() -> tuple[list[list[ApiCall]], float]:
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, log.add, reply("om_1"))
        start = loop.time()
        found = await await_answers(log, [d], since=since, wait_s=5.0, settle_s=0.05)
        return found, loop.time() - start

    found, took = asyncio.run(run())
    assert [[c.path for c in f] for f in found] == [[f"{IM}/messages/om_1/reply"]]
    assert took < 2.0


def test_calls_made_during_delivery_need_no_settling() -> None:
    """A webhook bot answers before it acks: its calls are there when the wait starts, and it ends at once."""
    log = CallLog()
    d = delivered(receive("om_1", "oc_1"), 1.0)
    log.add(reply("om_1"))

    async def run() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        found = await await_answers(log, [d], since=0, wait_s=5.0, settle_s=3.0)
        assert len(found[0]) == 1
        return loop.time() - start

    assert asyncio.run(run()) < 2.0


def test_attribution_of_a_big_push_looks_each_call_up() -> None:
    deliveries = [delivered(receive(f"om_{i}", f"oc_{i % 50}"), float(i)) for i in range(3000)]
    calls = [reply(f"om_{i}", time=5000.0) for i in range(3000)] + [send("oc_7", time=5000.0)]
    found = attribute(deliveries, calls)
    assert all(len(f) == 1 for f in found[:2957]) and [c.path for c in found[2957]][-1] == f"{IM}/messages"
    assert sum(len(f) for f in found) == 3001


def test_await_answers_gives_up_at_the_bound() -> None:
    log = CallLog()
    d = delivered(receive("om_1", "oc_1"), 1.0)

    async def run() -> tuple[list[list[ApiCall]], float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        return await await_answers(log, [d], since=0, wait_s=0.1), loop.time() - start

    found, took = asyncio.run(run())
    assert found == [[]] and 0.1 <= took < 1.0


def test_describe() -> None:
    ok = reply("om_1", body={"msg_type": "text", "content": json.dumps({"text": "hi"}), "reply_in_thread": True},
               data={"message_id": "om_new"}).to_json()
    assert describe(ok) == "reply to om_1 in thread: text 'hi' -> ok om_new"
    refused = send("oc_1").to_json() | {"status": 400, "code": 230002,
                                        "answer": {"code": 230002, "msg": "Bot/User can NOT be out of the chat."}}
    assert describe(refused) == ("send to chat_id oc_1: text 'x' -> HTTP 400 code 230002 "
                                 "'Bot/User can NOT be out of the chat.'")
    card = call("PATCH", f"{IM}/messages/om_1", f"{IM}/messages/:message_id", body={"content": "{}"}).to_json()
    assert describe(card) == "update card om_1: interactive -> ok"
    info = call("GET", "/open-apis/bot/v3/info", "/open-apis/bot/v3/info").to_json()
    assert describe(info) == "GET /open-apis/bot/v3/info -> ok"

"""The official lark-oapi 1.7.5 SDK dispatches every IM type we generate, and the bot menu, to its typed
``register_p2_*`` handler -- encrypted and signed, and in plaintext -- and its typed model marshals back to
exactly the body we generated (nothing lost, renamed or retyped); every message_type arrives intact; a
mixed run pushed over HTTP to an SDK receiver is acknowledged event by event, in order."""

from __future__ import annotations

import json
from typing import Any

import lark_oapi as lark
import pytest

from simulator import AppProfile, SimConfig, Simulator
from simulator.generation import catalog
from simulator.generation.families.im.content import MESSAGE_TYPES
from simulator.servers import ThreadedServer
from tests.conformance.helpers import Recorder, as_dict, deliver, push_over_http
from tests.lark_receiver import lark_asgi

pytestmark = pytest.mark.lark_sdk

KEY = "im-family-encrypt-key"
TOKEN = "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV"
TYPES = sorted(t for t in catalog.event_types() if catalog.get(t).family in ("im", "application"))
RECEIVE = "im.message.receive_v1"
MODES = {"encrypted": AppProfile(encrypt_key=KEY, verification_token=TOKEN),
         "plaintext": AppProfile(verification_token=TOKEN)}


def model_name(event_type: str) -> str:
    """``im.chat.access_event.bot_p2p_chat_entered_v1`` -> ``P2ImChatAccessEventBotP2pChatEnteredV1``."""
    return "P2" + "".join(w.capitalize() for part in event_type.split(".") for w in part.split("_"))


def envelopes(app: AppProfile, event_type: str, count: int = 6) -> list[dict[str, Any]]:
    """A run of ``count`` events of the type after some messages, so the world has targets and history."""
    sim = Simulator(SimConfig(app=app, seed=21, start_time=1772415000, time_scale=0))
    sim.generate_many(RECEIVE, 10)
    return sim.generate_many(event_type, count)


def test_sdk_register_names_exist_on_the_builder() -> None:
    builder = lark.EventDispatcherHandler.builder(KEY, TOKEN)
    assert len(TYPES) == 14
    for event_type in TYPES:
        assert hasattr(builder, str(catalog.get(event_type).sdk_register)), event_type


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("event_type", TYPES)
def test_each_type_reaches_its_typed_handler_and_marshals_back_exactly(event_type: str, mode: str) -> None:
    app = MODES[mode]
    recorder = Recorder(TYPES, app.encrypt_key or "", TOKEN)  # each type's typed handler, nothing else
    sim = Simulator(SimConfig(app=app, seed=3))
    sent = envelopes(app, event_type)
    for env in sent:
        resp = deliver(recorder, sim, env)
        assert resp.status_code == 200 and json.loads(resp.content) == {"msg": "success"}, resp.content
    got = recorder.received[event_type]
    assert len(got) == len(sent) == sum(len(v) for v in recorder.received.values())
    for data, env in zip(got, sent, strict=True):
        assert type(data).__name__ == model_name(event_type)
        assert data.header.event_id == env["header"]["event_id"] and data.header.token == TOKEN
        assert as_dict(data.event) == env["event"]  # nothing lost, renamed or retyped by the typed model
        _spot_check(event_type, data.event, env["event"])


def _spot_check(event_type: str, typed: Any, ev: dict[str, Any]) -> None:
    """A few fields read the way a handler reads them."""
    if event_type == RECEIVE:
        m = typed.message
        assert m.message_id == ev["message"]["message_id"] and m.content == ev["message"]["content"]
        assert m.create_time == ev["message"]["create_time"] and isinstance(m.create_time, str)  # not coerced
        assert typed.sender.sender_id.open_id == ev["sender"]["sender_id"]["open_id"]
        for x, raw in zip(m.mentions or [], ev["message"].get("mentions", []), strict=True):
            assert (x.key, x.mentioned_type, x.id.open_id) == (raw["key"], raw["mentioned_type"], raw["id"]["open_id"])
    elif event_type.startswith("im.message.reaction."):
        assert typed.reaction_type.emoji_type == ev["reaction_type"]["emoji_type"]
        assert typed.operator_type == ev["operator_type"]
    elif event_type == "im.message.message_read_v1":
        assert typed.message_id_list == ev["message_id_list"] and typed.reader.read_time == ev["reader"]["read_time"]
    elif event_type == "application.bot.menu_v6":
        assert typed.event_key == ev["event_key"] and typed.timestamp == ev["timestamp"]
        assert isinstance(typed.timestamp, int) and typed.operator.operator_id.union_id == \
            ev["operator"]["operator_id"]["union_id"]
    elif "users" in ev:
        assert [u.user_id.open_id for u in typed.users] == [u["user_id"]["open_id"] for u in ev["users"]]
    elif event_type == "im.chat.updated_v1":
        assert as_dict(typed.after_change) == ev["after_change"]
    if "chat_id" in ev:
        assert typed.chat_id == ev["chat_id"]


def test_every_message_type_arrives_intact() -> None:
    app = MODES["encrypted"]
    sim = Simulator(SimConfig(app=app, seed=8, start_time=1772415000, time_scale=0))
    recorder = Recorder(TYPES, KEY, TOKEN)
    sent = []
    for message_type in MESSAGE_TYPES:
        for chat_type in ("p2p", "group"):
            ctx = sim.factory.context(params={"message_type": message_type, "chat_type": chat_type,
                                              "user_agent": chat_type == "p2p"})
            sent.append(sim.factory.generate(RECEIVE, ctx=ctx))
    for env in sent:
        assert deliver(recorder, sim, env).status_code == 200
    got = recorder.received[RECEIVE]
    assert [as_dict(g.event) for g in got] == [e["event"] for e in sent]
    assert {g.event.message.message_type for g in got} == set(MESSAGE_TYPES)


def test_a_mixed_run_pushed_over_http_is_acked_in_order() -> None:
    recorder = Recorder(TYPES, KEY, TOKEN)
    sim = Simulator(SimConfig(app=MODES["encrypted"], seed=12, time_scale=0, start_time=1772415000))
    envs = [env for _ in range(3) for et in TYPES for env in sim.generate_many(et, 1)]
    with ThreadedServer(lark_asgi(recorder.handler)) as server:
        deliveries = push_over_http(sim, server.url + "/webhook/event", envs)
    assert len(deliveries) == len(envs) == 42 and all(d.acked for d in deliveries)
    assert recorder.order == [e["header"]["event_id"] for e in envs]
    assert {k: len(v) for k, v in recorder.received.items()} == {t: 3 for t in TYPES}

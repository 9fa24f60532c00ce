"""The official lark-oapi 1.7.5 SDK dispatches every vc.meeting type we generate: the twelve with a typed
``register_p2_vc_meeting_*_v1`` handler to that handler, the other three through
``register_p2_customized_event`` (docs/protocol.md#vc-event-models-across-sdks), with the generated values; and a whole
scenario pushed
over HTTP to an SDK receiver is acknowledged event by event, in order."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import lark_oapi as lark
import pytest

from simulator import AppProfile, SimConfig, Simulator
from simulator.generation import catalog
from simulator.servers import ThreadedServer
from tests.conformance.helpers import Recorder, as_dict, deliver, push_over_http, raw_request
from tests.lark_receiver import lark_asgi

pytestmark = pytest.mark.lark_sdk

KEY = "vc-family-encrypt-key"
TOKEN = "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV"
APP = AppProfile(encrypt_key=KEY, verification_token=TOKEN)
TYPES = [t for t in catalog.event_types() if t.startswith("vc.meeting.")]  # this family; others test their own


@pytest.fixture(scope="module")
def envelopes() -> dict[str, list[dict[str, Any]]]:
    sim = Simulator(SimConfig(app=APP, seed=21, start_time=1772415000, time_scale=0))
    return {et: sim.generate_many(et, 4) for et in TYPES}


def test_sdk_register_names_match_the_sdk() -> None:
    builder = lark.EventDispatcherHandler.builder(KEY, TOKEN)
    for event_type in TYPES:
        spec = catalog.get(event_type)
        typed = f"register_p2_vc_meeting_{event_type.removeprefix('vc.meeting.')}"
        assert hasattr(builder, typed) == (spec.sdk_register is not None), event_type
        if spec.sdk_register is not None:
            assert spec.sdk_register == typed
    assert sum(catalog.get(t).sdk_register is None for t in TYPES) == 3


@pytest.mark.parametrize("event_type", TYPES)
def test_each_type_reaches_its_handler_with_the_generated_values(
        event_type: str, envelopes: dict[str, list[dict[str, Any]]]) -> None:
    recorder = Recorder(TYPES, KEY, TOKEN)  # a handler for each of the fifteen types
    sim = Simulator(SimConfig(app=APP, seed=3))
    sent = envelopes[event_type]
    for env in sent:
        resp = deliver(recorder, sim, env)
        assert resp.status_code == 200, resp.content
        assert json.loads(resp.content) == {"msg": "success"}
    got = recorder.received[event_type]
    assert len(got) == len(sent) and sum(len(v) for v in recorder.received.values()) == len(sent)
    typed = catalog.get(event_type).sdk_register is not None
    for data, env in zip(got, sent, strict=True):
        ev = env["event"]
        assert data.header.event_id == env["header"]["event_id"]
        assert data.header.event_type == event_type and data.header.token == TOKEN
        if not typed:
            assert isinstance(data, lark.CustomizedEvent)
            assert data.event == ev  # the raw dict, untouched
            continue
        assert type(data).__name__ == "P2VcMeeting" + "".join(
            w.capitalize() for w in event_type.removeprefix("vc.meeting.").removesuffix("_v1").split("_")) + "V1"
        assert as_dict(data.event) == ev  # nothing lost or renamed by the typed model
        m = data.event.meeting
        assert m.id == ev["meeting"]["id"] and isinstance(m.id, str)
        assert m.meeting_no == ev["meeting"]["meeting_no"]
        if "topic" in ev["meeting"]:
            assert m.topic == ev["meeting"]["topic"]
        if "operator" in ev:
            assert data.event.operator.id.open_id == ev["operator"]["id"]["open_id"]
            assert data.event.operator.user_role == ev["operator"]["user_role"]
        if event_type == "vc.meeting.leave_meeting_v1":
            assert data.event.leave_reason == ev["leave_reason"]
            assert data.event.leave_user.id.union_id == ev["leave_user"]["id"]["union_id"]
        if event_type == "vc.meeting.recording_ready_v1":
            assert data.event.url == ev["url"] and data.event.duration == ev["duration"]
            assert m.owner.id.open_id == ev["meeting"]["owner"]["id"]["open_id"]
        if event_type == "vc.meeting.participant_meeting_ended_v1":
            assert [u.open_id for u in data.event.subscriber_ids] == [u["open_id"] for u in ev["subscriber_ids"]]
    if event_type == "vc.meeting.send_meeting_im_v1":
        assert all(d.event["content"] == e["event"]["content"] for d, e in zip(got, sent, strict=True))
    if event_type in ("vc.meeting.participant_meeting_started_v1", "vc.meeting.participant_meeting_joined_v1"):
        assert all(d.event["subscriber_ids"] == e["event"]["subscriber_ids"] for d, e in zip(got, sent, strict=True))


def test_a_tampered_request_is_refused(envelopes: dict[str, list[dict[str, Any]]]) -> None:
    """The SDK dispatcher really checks: a flipped signature byte is a 500 and no dispatch."""
    recorder = Recorder(TYPES, KEY, TOKEN)
    sim = Simulator(SimConfig(app=APP, seed=3))
    env = envelopes["vc.meeting.join_meeting_v1"][0]
    req = raw_request(sim.sealer.seal(env, timestamp=1772415000))
    sig = req.headers["X-Lark-Signature"]
    req.headers["X-Lark-Signature"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert recorder.handler.do(req).status_code == 500
    assert not recorder.received


@pytest.mark.parametrize("scenario", ["share-and-record", "large-meeting"])
def test_a_whole_scenario_pushed_to_an_sdk_receiver_is_acked_in_order(scenario: str) -> None:
    recorder = Recorder(TYPES, KEY, TOKEN)
    sim = Simulator(SimConfig(app=APP, seed=8))
    envs = sim.generate_scenario(scenario)
    with ThreadedServer(lark_asgi(recorder.handler)) as server:
        deliveries = push_over_http(sim, server.url + "/webhook/event", envs)
    assert len(deliveries) == len(envs) and all(d.acked for d in deliveries)
    sim.assert_all_acked()
    assert recorder.order == [e["header"]["event_id"] for e in envs]  # scenario order, one by one
    by_type: dict[str, int] = defaultdict(int)
    for e in envs:
        by_type[e["header"]["event_type"]] += 1
    assert {k: len(v) for k, v in recorder.received.items()} == dict(by_type)

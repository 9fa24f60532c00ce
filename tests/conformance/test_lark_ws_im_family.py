"""Over the long connection: the unmodified ``lark.ws.Client`` (lark-oapi 1.7.5) connected to our platform
dispatches every IM type and the bot menu to its typed handler, whose model marshals back to exactly the
body the platform pushed, and acks each; a conversation arrives acked and in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulator import AppProfile, SimConfig, Simulator
from simulator.generation import catalog
from simulator.platform_server import PlatformServer
from tests.conformance.helpers import Recorder, as_dict, recording_over_the_long_connection

pytestmark = pytest.mark.lark_sdk

APP_ID, SECRET = "cli_b2c3d4e5f6071829", "ws-im-secret"
TYPES = sorted(t for t in catalog.event_types() if catalog.get(t).family in ("im", "application"))


@pytest.fixture(scope="module")
def connected() -> Iterator[tuple[PlatformServer, Recorder]]:
    with recording_over_the_long_connection(APP_ID, SECRET, TYPES, seed=23) as connection:
        yield connection


def test_every_im_type_reaches_its_typed_handler_over_the_long_connection(
        connected: tuple[PlatformServer, Recorder]) -> None:
    platform, rec = connected
    for event_type in TYPES:
        deliveries = platform.push(event_type, count=3, timeout=30)
        assert [d.acked for d in deliveries] == [True] * 3, [d.summary_line for d in deliveries]
        got = rec.received[event_type][-3:]
        assert [g.header.event_id for g in got] == [d.event_id for d in deliveries]
        for g, d in zip(got, deliveries, strict=True):
            assert g.header.event_type == event_type and g.header.token == ""
            assert as_dict(g.event) == d.envelope["event"]
            assert d.last is not None and d.last.status == 200


def test_a_conversation_arrives_acked_and_in_order(connected: tuple[PlatformServer, Recorder]) -> None:
    platform, rec = connected
    sim = Simulator(SimConfig(app=AppProfile(app_id=APP_ID), seed=4, time_scale=0, start_time=1772415000))
    f = sim.factory
    scene: dict[str, Any] = {}
    envs = [f.generate("im.chat.member.bot.added_v1", ctx=f.context(scene=scene), longconn=True)]
    for i in range(6):
        params = {"reply_to": scene["message"]} if i % 2 else {}
        envs.append(f.generate("im.message.receive_v1", ctx=f.context(scene=scene, params=params,
                                                                       now=1772415000 + 10 * i), longconn=True))
    envs.append(f.generate("im.message.reaction.created_v1", ctx=f.context(scene=scene, now=1772415100),
                           longconn=True))
    start = len(rec.order)
    deliveries = platform.push_envelopes(envs, timeout=60)
    assert all(d.acked for d in deliveries)
    assert rec.order[start:] == [e["header"]["event_id"] for e in envs]
    messages = [g.event.message for g in rec.received["im.message.receive_v1"][-6:]]
    assert len({m.chat_id for m in messages}) == 1
    assert [m.parent_id for m in messages[1::2]] == [m.message_id for m in messages[0::2]]

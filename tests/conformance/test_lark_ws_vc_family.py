"""Over the long connection: the unmodified ``lark.ws.Client`` (lark-oapi 1.7.5) connected to our platform
dispatches every vc.meeting type to its typed handler (or the customized-event registration for the three
without one) with the generated values, and acks each; a whole scenario arrives acked and in order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator import AppProfile, SimConfig, Simulator
from simulator.generation import catalog
from simulator.platform_server import PlatformServer
from tests.conformance.helpers import Recorder, as_dict, recording_over_the_long_connection

pytestmark = pytest.mark.lark_sdk

APP_ID, SECRET = "cli_a1b2c3d4e5f60718", "ws-family-secret"
TYPES = [t for t in catalog.event_types() if t.startswith("vc.meeting.")]  # this family; others test their own


@pytest.fixture(scope="module")
def connected() -> Iterator[tuple[PlatformServer, Recorder]]:
    with recording_over_the_long_connection(APP_ID, SECRET, TYPES, seed=17) as connection:
        yield connection


def test_every_type_reaches_its_handler_over_the_long_connection(connected: tuple[PlatformServer, Recorder]) -> None:
    platform, rec = connected
    for event_type in TYPES:
        deliveries = platform.push(event_type, count=2, timeout=30)
        assert [d.acked for d in deliveries] == [True, True], [d.summary_line for d in deliveries]
        got = rec.received[event_type][-2:]
        assert [g.header.event_id for g in got] == [d.event_id for d in deliveries]
        for g, d in zip(got, deliveries, strict=True):
            assert g.header.event_type == event_type and g.header.token == ""
            body = as_dict(g.event) if catalog.get(event_type).sdk_register else g.event
            assert body == d.envelope["event"]
            att = d.last
            assert att is not None and att.status == 200


def test_a_scenario_arrives_acked_and_in_order(connected: tuple[PlatformServer, Recorder]) -> None:
    platform, rec = connected
    sim = Simulator(SimConfig(app=AppProfile(app_id=APP_ID), seed=4, time_scale=0))
    envelopes = sim.generate_scenario("share-and-record", longconn=True)
    start = len(rec.order)
    deliveries = platform.push_envelopes(envelopes, timeout=60)
    assert all(d.acked for d in deliveries)
    assert rec.order[start:] == [e["header"]["event_id"] for e in envelopes]

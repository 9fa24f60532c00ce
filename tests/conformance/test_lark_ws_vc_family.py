"""Over the long connection: the unmodified ``lark.ws.Client`` (lark-oapi 1.7.5) connected to our platform
dispatches every vc.meeting type to its typed handler (or the customized-event registration for the three
without one) with the generated values, and acks each; a whole scenario arrives acked and in order."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import pytest

from simulator import AppProfile, SimConfig, Simulator
from simulator.generation import catalog
from simulator.platform_server import PlatformServer
from tests.longconn.lark_ws import LarkWsThread

pytestmark = pytest.mark.lark_sdk

APP_ID, SECRET = "cli_a1b2c3d4e5f60718", "ws-family-secret"
TYPES = [t for t in catalog.event_types() if t.startswith("vc.meeting.")]  # this family; others test their own


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: dict[str, list[Any]] = defaultdict(list)
        self.order: list[str] = []
        b = lark.EventDispatcherHandler.builder("", "", lark.LogLevel.CRITICAL)
        for event_type in TYPES:
            spec = catalog.get(event_type)
            fn = self._record(event_type)
            if spec.sdk_register:
                b = getattr(b, spec.sdk_register)(fn)
            else:
                b = b.register_p2_customized_event(event_type, fn)
        self.handler = b.build()

    def _record(self, event_type: str) -> Any:
        def record(data: Any) -> None:
            with self.lock:
                self.received[event_type].append(data)
                self.order.append(data.header.event_id)

        return record


@pytest.fixture(scope="module")
def connected() -> Iterator[tuple[PlatformServer, Recorder]]:
    platform = PlatformServer(app_id=APP_ID, app_secret=SECRET, seed=17).start()
    rec = Recorder()
    client = LarkWsThread(platform.domain, APP_ID, SECRET, rec.handler).start()
    try:
        platform.wait_for_clients(1, timeout=15)
        yield platform, rec
    finally:
        client.stop()
        platform.stop()


def test_every_type_reaches_its_handler_over_the_long_connection(connected: tuple[PlatformServer, Recorder]) -> None:
    platform, rec = connected
    for event_type in TYPES:
        deliveries = platform.push(event_type, count=2, timeout=30)
        assert [d.acked for d in deliveries] == [True, True], [d.summary_line() for d in deliveries]
        got = rec.received[event_type][-2:]
        assert [g.header.event_id for g in got] == [d.event_id for d in deliveries]
        for g, d in zip(got, deliveries, strict=True):
            assert g.header.event_type == event_type and g.header.token == ""
            body = json.loads(lark.JSON.marshal(g.event)) if catalog.get(event_type).sdk_register else g.event
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

"""The official Node SDK (@larksuiteoapi/node-sdk 1.74.0) as a webhook receiver of every IM type and the
bot menu: each sealed event reaches the handler registered for its type with the generated values. Node
flattens header and event into one object (docs/protocol.md#signature), so the values are compared key by key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.config import AppProfile, SimConfig
from simulator.engine.core import Simulator
from simulator.generation import catalog
from simulator.generation.families.im.content import MESSAGE_TYPES
from tests.conformance.helpers import push_over_http
from tests.conformance.test_node_webhook import KEY, TOKEN, NodeReceiver
from tests.node_runner import requires_node

TYPES = sorted(t for t in catalog.event_types() if catalog.get(t).family in ("im", "application"))

pytestmark = requires_node


@pytest.fixture
def node() -> Iterator[NodeReceiver]:
    r = NodeReceiver(TYPES)
    yield r
    r.kill()


def test_node_sdk_receives_every_im_type_with_equal_values(node: NodeReceiver) -> None:
    sim = Simulator(SimConfig(app=AppProfile(encrypt_key=KEY, verification_token=TOKEN), seed=14,
                              start_time=1772415000, time_scale=0))
    f = sim.factory
    envs = [env for _ in range(2) for et in TYPES for env in sim.generate_many(et, 1)]
    envs += [f.generate("im.message.receive_v1", ctx=f.context(params={"message_type": t, "user_agent": True}))
             for t in MESSAGE_TYPES]

    deliveries = push_over_http(sim, node.url, envs)
    assert all(d.acked for d in deliveries)
    got = node.received()
    assert [g["event_id"] for g in got] == [e["header"]["event_id"] for e in envs]  # none silently dropped
    for g, env in zip(got, envs, strict=True):
        header, ev = env["header"], env["event"]
        assert g["event_type"] == header["event_type"] and g["tenant_key"] == header["tenant_key"]
        for key, value in ev.items():
            assert g[key] == value, (header["event_type"], key)
        # app_id is the one name both levels use: a reaction's event.app_id would overwrite the header's;
        # ours is the receiving app itself (its own reaction), so the two agree.
        assert g["app_id"] == header["app_id"] == ev.get("app_id", header["app_id"])
    assert {g["message"]["message_type"] for g in got if "message" in g} == set(MESSAGE_TYPES)

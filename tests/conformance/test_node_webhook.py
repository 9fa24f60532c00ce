"""The official Node SDK (@larksuiteoapi/node-sdk 1.74.0) as a webhook receiver.

Node checks the signature over ``JSON.stringify(parsedBody)``, not the raw bytes (docs/protocol.md#signature), and on
failure answers 200 with an empty body and silently drops the event. So the test reads what the typed
handler actually received. Skipped when node or the package is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.config import AppProfile, SimConfig
from simulator.engine.core import Simulator
from simulator.wire.seal import AesCipher, sign
from tests.conformance.helpers import push_over_http
from tests.node_runner import NodeProcess, json_lines, requires_node

KEY, TOKEN = "node-key", "node-token"

pytestmark = requires_node


class NodeReceiver(NodeProcess):
    """``webhook_receiver.js`` in a subprocess, with a typed handler for each of ``types``."""

    def __init__(self, types: list[str] | None = None, *, key: str = KEY, token: str = TOKEN) -> None:
        super().__init__("webhook_receiver.js", key, token, *([",".join(types)] if types else []), quiet=False)
        self.url = f"http://127.0.0.1:{self.wait_for_port()}/webhook/event"

    def received(self) -> list[dict[str, Any]]:
        return [line["received"] for line in json_lines(self.stop(), "received")]


@pytest.fixture
def node() -> Iterator[NodeReceiver]:
    r = NodeReceiver()
    yield r
    r.kill()


def test_node_sdk_accepts_our_sealed_events(node: NodeReceiver) -> None:
    sim = Simulator(SimConfig(app=AppProfile(encrypt_key=KEY, verification_token=TOKEN), seed=5))

    # zh_CN topics: non-ASCII must stay unescaped for Node's re-serialisation to match.
    deliveries = push_over_http(sim, node.url, sim.generate_many("vc.meeting.share_ended_v1", 3))
    assert all(d.acked for d in deliveries)
    got = node.received()
    assert [g["event_id"] for g in got] == [d.event_id for d in deliveries]
    for g, d in zip(got, deliveries, strict=True):
        # Node flattens: header fields and event fields side by side.
        assert g["meeting"] == d.envelope["event"]["meeting"] and g["operator"] == d.envelope["event"]["operator"]


def test_node_sdk_drops_a_body_that_is_not_compact_json(node: NodeReceiver) -> None:
    """The negative control: the same event, signed over a body with spaces, is silently dropped by Node."""
    import httpx

    env = Simulator(SimConfig(app=AppProfile(verification_token=TOKEN), seed=6)).generate("vc.meeting.share_ended_v1")
    inner = json.dumps(env).encode()
    body = json.dumps({"encrypt": AesCipher(KEY).encrypt(inner, bytes(16))}).encode()  # ", " / ": " separators
    headers = {"Content-Type": "application/json", "X-Lark-Request-Timestamp": "1700000000",
               "X-Lark-Request-Nonce": "123456789", "X-Lark-Signature": sign("1700000000", "123456789", KEY, body)}
    r = httpx.post(node.url, content=body, headers=headers, trust_env=False)
    assert r.status_code == 200 and r.content == b""
    assert node.received() == []

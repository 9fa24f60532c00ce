"""The official Node SDK (@larksuiteoapi/node-sdk 1.74.0) as a webhook receiver.

Node checks the signature over ``JSON.stringify(parsedBody)``, not the raw bytes (protocol §1.3), and on
failure answers 200 with an empty body and silently drops the event. So the test reads what the typed
handler actually received. Skipped when node or the package is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.config import AppProfile, SimConfig
from simulator.engine.core import Simulator
from simulator.wire.seal import AesCipher, sign

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
MODULES = NODE_DIR / "node_modules"
KEY, TOKEN = "node-key", "node-token"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (MODULES / "@larksuiteoapi" / "node-sdk").is_dir(),
    reason="node or @larksuiteoapi/node-sdk not installed (npm install --prefix tests/node)",
)


class NodeReceiver:
    """``webhook_receiver.js`` in a subprocess, with a typed handler for each of ``types``."""

    def __init__(self, types: list[str] | None = None, *, key: str = KEY, token: str = TOKEN) -> None:
        env = {**os.environ, "NODE_PATH": str(MODULES)}
        argv = ["node", str(NODE_DIR / "webhook_receiver.js"), key, token] + ([",".join(types)] if types else [])
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        while line and not line.startswith("{"):  # the SDK logs to stdout too
            line = self.proc.stdout.readline()
        self.port = json.loads(line)["port"]
        self.url = f"http://127.0.0.1:{self.port}/webhook/event"

    def received(self) -> list[dict[str, Any]]:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        return [json.loads(line)["received"] for line in out.splitlines() if line.startswith('{"received"')]


@pytest.fixture
def node() -> Iterator[NodeReceiver]:
    r = NodeReceiver()
    yield r
    if r.proc.poll() is None:
        r.proc.kill()


def test_node_sdk_accepts_our_sealed_events(node: NodeReceiver) -> None:
    sim = Simulator(SimConfig(app=AppProfile(encrypt_key=KEY, verification_token=TOKEN), seed=5))

    async def go() -> list[Any]:
        ch = sim.webhook(node.url)
        try:
            # zh_CN topics: non-ASCII must stay unescaped for Node's re-serialisation to match.
            return await sim.push(ch, sim.generate_many("vc.meeting.share_ended_v1", 3))
        finally:
            await ch.aclose()

    deliveries = asyncio.run(go())
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

"""The official Node SDK's ``WSClient`` (@larksuiteoapi/node-sdk 1.74.0) against the platform.

Skipped when node or the package is missing (``.ci/run`` runs ``npm install --prefix tests/node``).
Node's ``start()`` silently refuses an app id not matching ``^cli_[0-9a-fA-F]{16}$``
(docs/protocol.md#websocket-url-and-query).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from simulator.platform.session import PongConfig
from simulator.platform_server import TEST_CLIENT_CONFIG, ClientConfig, PlatformServer
from simulator.verdicts.model import Outcome
from tests.node_runner import NODE_DIR, NodeProcess, json_lines, node_env, requires_node

APP_ID, SECRET = "cli_a1b2c3d4e5f60718", "node-secret"

pytestmark = requires_node


def test_node_wsclient_receives_and_acks() -> None:
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=11,
                        fragment_size=4096) as platform:
        node = NodeProcess("ws_client.js", platform.domain, APP_ID, SECRET)
        try:
            platform.wait_for_clients(1, timeout=15)
            deliveries = platform.push(count=3)
            topic = "大型会议" * 2000  # 24 KiB of UTF-8: 6+ fragments, reassembled by Node's DataCache
            big = platform.push(overrides={"event.meeting.topic": topic})
        finally:
            out = node.stop()
    received = [line["received"] for line in json_lines(out, "received")]
    for d in [*deliveries, *big]:
        att = d.last
        assert att is not None and att.outcome == Outcome.ACKED and att.status == 200
        assert att.response_body == '{"code":200}'  # Node's compact form
        # Node always sends it (start-end: 0 or negative, docs/protocol.md#acknowledgement-frames)
        assert "biz_rt" in att.extra
    assert big[0].last is not None and big[0].last.extra["fragments"] >= 6
    assert [r["event_id"] for r in received] == [d.event_id for d in [*deliveries, *big]]
    # Node hands the handler a flattened dict: header fields next to the event body.
    first = deliveries[0].envelope
    assert received[0]["meeting"] == first["event"]["meeting"]
    assert received[0]["event_type"] == "vc.meeting.share_ended_v1" and received[3]["meeting"]["topic"] == topic


@pytest.mark.parametrize("mode", [PongConfig.ALWAYS, PongConfig.CHANGED])
def test_node_wsclient_logs_no_pong_error_over_several_pongs(mode: PongConfig) -> None:
    """node-sdk parses every pong payload: with the complete ClientConfig in every pong (the default) it logs
    no error; with the empty pongs of ``changed`` it logs ``invalid pong payload`` each time (1.72 crashed)."""
    config = ClientConfig(reconnect_count=-1, reconnect_interval=1, reconnect_nonce=0, ping_interval=1)
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=config, seed=12, pong_config=mode) as platform:
        proc = subprocess.Popen(["node", str(NODE_DIR / "ws_client.js"), platform.domain, APP_ID, SECRET, "error"],
                                env=node_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            platform.wait_for_clients(1, timeout=15)
            deadline = time.monotonic() + 15
            while platform.connections()[0]["counters"]["pongs"] < 4 and time.monotonic() < deadline:
                time.sleep(0.1)
            counters = platform.connections()[0]["counters"]
            deliveries = platform.push(count=2)
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
    assert counters["pongs"] >= 4 and all(d.acked for d in deliveries)
    logged = [json.loads(line) for line in out.splitlines() if line.startswith('{"log"')]
    errors = [doc["msg"] for doc in logged if doc["log"] == "error"]
    if mode is PongConfig.ALWAYS:
        assert counters["pongs_with_config"] == counters["pongs"]
        assert errors == []
    else:  # the check above can fail: the empty pong is what node-sdk complains about
        assert any("invalid pong payload" in e for e in errors), errors

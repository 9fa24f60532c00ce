"""The official Node SDK's ``WSClient`` (@larksuiteoapi/node-sdk 1.74.0) against the platform.

Skipped when node or the package is missing (``.ci/run`` runs ``npm install --prefix tests/node``).
Node's ``start()`` silently refuses an app id not matching ``^cli_[0-9a-fA-F]{16}$``
(docs/protocol.md#websocket-url-and-query).
"""

from __future__ import annotations

from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from simulator.verdicts.model import Outcome
from tests.node_runner import NodeProcess, json_lines, requires_node

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

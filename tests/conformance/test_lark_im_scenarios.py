"""The conversation scenarios reach the official lark-oapi 1.7.5 SDK whole: pushed over HTTP to an
``EventDispatcherHandler`` (encrypted and signed) every event is acknowledged, in scenario order, by its typed
handler, whose model marshals back to exactly the generated body (replies and threads included); and
``feishu-sim push --platform --scenario`` delivers them to an unmodified ``lark.ws.Client``."""

from __future__ import annotations

import json
from collections import Counter

import lark_oapi as lark
import pytest

from simulator import SimConfig, Simulator
from simulator.cli import main
from simulator.platform_server import PlatformServer
from simulator.servers import ThreadedServer
from tests.conformance.helpers import Recorder, push_over_http
from tests.conformance.test_lark_im_family import KEY, MODES, TOKEN, TYPES
from tests.lark_receiver import lark_asgi
from tests.longconn.lark_ws import LarkWsThread

pytestmark = pytest.mark.lark_sdk

CHATS = ["busy-group", "group-mention-thread", "p2p-conversation"]


@pytest.mark.parametrize("name", CHATS)
def test_a_conversation_pushed_to_an_sdk_receiver_is_acked_in_order(name: str) -> None:
    dispatcher = Recorder(TYPES, KEY, TOKEN)
    sim = Simulator(SimConfig(app=MODES["encrypted"], seed=8))
    envs = sim.generate_scenario(name)
    with ThreadedServer(lark_asgi(dispatcher.handler)) as server:
        deliveries = push_over_http(sim, server.url + "/webhook/event", envs)
    assert len(deliveries) == len(envs) and all(d.acked for d in deliveries)
    sim.assert_all_acked()
    assert dispatcher.order == [e["header"]["event_id"] for e in envs]  # scenario order, one by one
    assert {k: len(v) for k, v in dispatcher.received.items()} == dict(Counter(e["header"]["event_type"] for e in envs))
    typed = {d.header.event_id: d for got in dispatcher.received.values() for d in got}
    for env in envs:
        data = typed[env["header"]["event_id"]]
        assert json.loads(lark.JSON.marshal(data.event)) == env["event"]  # nothing lost or renamed
    threaded = [d.event.message for d in dispatcher.received["im.message.receive_v1"] if d.event.message.thread_id]
    if name != "p2p-conversation":
        assert threaded and all(m.root_id and m.parent_id for m in threaded)


def test_push_platform_scenario_reaches_the_ws_client(capsys: pytest.CaptureFixture[str]) -> None:
    app_id, secret = "cli_c3d4e5f607182930", "ws-scenario-secret"
    platform = PlatformServer(app_id=app_id, app_secret=secret, seed=5).start()
    rec = Recorder(TYPES)
    client = LarkWsThread(platform.domain, app_id, secret, rec.handler).start()
    try:
        platform.wait_for_clients(1, timeout=15)
        code = main(["push", "--platform", platform.domain, "--scenario", "group-mention-thread", "--seed", "3",
                     "--json"])
        out = json.loads(capsys.readouterr().out)
    finally:
        client.stop()
        platform.stop()
    assert code == 0, out
    ids = [d["event_id"] for d in out["deliveries"]]
    assert out["summary"]["acked"] == len(ids) == 9
    assert out["deliveries"][0]["event_type"] == "im.chat.member.bot.added_v1"
    assert rec.order == ids  # in scenario order
    messages = [g.event.message for g in rec.received["im.message.receive_v1"]]
    assert len({m.chat_id for m in messages}) == 1 and sum(bool(m.thread_id) for m in messages) == 4

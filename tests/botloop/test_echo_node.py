"""The echo bot on the official Node SDK (``tests/node/echo_bot.js``: ``WSClient`` + ``client.im.message.reply`` /
``create``) against the platform: events in, replies recorded and asserted; a refusal reaches Node as the thrown
axios error with the platform's status, code and message.

Skipped when node or the package is missing (``.ci/run`` runs ``npm install --prefix tests/node``).
"""

from __future__ import annotations

from simulator.platform.openapi import codes
from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from tests.node_runner import NodeProcess, json_lines, requires_node

APP_ID, SECRET = "cli_0a1b2c3d4e5f6084", "node-echo-secret"  # Node refuses ids not matching ^cli_[0-9a-f]{16}$
RECEIVE = "im.message.receive_v1"
TEXT = {"message_type": "text", "mentions": []}

pytestmark = requires_node


def test_node_echo_bot_end_to_end() -> None:
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=TEST_CLIENT_CONFIG, seed=84) as server:
        bot = NodeProcess("echo_bot.js", server.domain, APP_ID, SECRET)
        try:
            server.wait_for_clients(1, timeout=15)
            [group] = server.push(RECEIVE, params={**TEXT, "chat_type": "group", "mention_bot": True, "text": "hi"})
            reply = server.api.wait_for_reply(group, timeout=10, text="收到你发送的消息：@_user_1 hi\n"
                                                                      "Received message: @_user_1 hi", in_thread=False)
            chat, root = (group.envelope["event"]["message"][k] for k in ("chat_id", "message_id"))
            [threaded] = server.push(RECEIVE, params={**TEXT, "chat": chat, "reply_to": root, "thread": True,
                                                      "mention_bot": True, "text": "more"})
            in_thread = server.api.wait_for_reply(threaded, timeout=10, in_thread=True)
            [p2p] = server.push(RECEIVE, params={**TEXT, "chat_type": "p2p", "text": "hello"})
            sent = server.api.wait_for_answer(p2p, timeout=10)
            server.api.fail("/open-apis/im/v1/messages/*/reply", code=codes.RECALLED)
            [refused] = server.push(RECEIVE, params={**TEXT, "chat_type": "group", "mention_bot": True, "text": "x"})
            call = server.api.wait_for_answer(refused, timeout=10)
        except BaseException:
            bot.kill()
            raise
        out = bot.stop()
    assert all(d.acked for d in (group, threaded, p2p, refused))
    assert in_thread["thread_id"] == threaded.envelope["event"]["message"]["thread_id"]
    assert sent.api == "POST /open-apis/im/v1/messages" and sent.data["chat_id"] == p2p.envelope["event"]["message"][
        "chat_id"]
    assert (call.status, call.code) == (400, codes.RECALLED)
    lines = json_lines(out, "ok", "error")
    assert [line["ok"]["message_id"] for line in lines[:3]] == [reply["message_id"], in_thread["message_id"],
                                                                sent.data["message_id"]]
    assert lines[3] == {"error": {"status": 400, "code": codes.RECALLED,
                                  "msg": codes.MESSAGES[codes.RECALLED] + " ext=injected fault"}}

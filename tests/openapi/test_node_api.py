"""The official Node SDK's API client (@larksuiteoapi/node-sdk 1.74.0) against the platform's OpenAPI: a reply in
thread, and a refusal thrown by axios with the platform's code (docs/openapi.md#sdk-client-behaviours).

Skipped when node or the package is missing (``.ci/run`` runs ``npm install --prefix tests/node``).
"""

from __future__ import annotations

from simulator.platform.openapi import codes
from simulator.platform_server import PlatformServer
from tests.node_runner import json_lines, requires_node, run_node
from tests.openapi.helpers import user_says

APP_ID, SECRET = "cli_0a1b2c3d4e5f6073", "node-api-secret"

pytestmark = requires_node


def test_node_client_replies_and_sees_the_platform_error() -> None:
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, seed=13) as server:
        asked = user_says(server, "hi node", mention_bot=True)
        out = run_node("bot_api.js", server.domain, APP_ID, SECRET, asked.message_id)
        reply = server.api.assert_replied(asked.message_id, text="hello from node", in_thread=True)
        token_calls = server.api.find("POST", "/open-apis/auth/v3/tenant_access_token/internal")
    # The SDK's own logger writes to stdout too: keep the script's lines.
    ok, refused = json_lines(out, "ok", "error")
    assert ok["code"] == 0 and ok["ok"]["message_id"] == reply["message_id"]
    assert ok["ok"]["thread_id"] == reply["thread_id"] and ok["ok"]["sender"]["sender_type"] == "app"
    assert refused["error"] == {"status": 400, "code": codes.INVALID_PARAM,
                                "msg": codes.MESSAGES[codes.INVALID_PARAM]
                                + " ext=message om_00000000000000000000000000000000 does not exist"}
    assert len(token_calls) == 1  # the Node client caches its token
    assert token_calls[0].body == {"app_id": APP_ID, "app_secret": "***"}

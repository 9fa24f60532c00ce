"""The transcript records the bot's OpenAPI calls as ``api_call`` lines of their own (no tenant token in them), in
order with the attempts; ``replay`` reads such a transcript and skips them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from simulator.platform_server import PlatformServer
from simulator.verdicts.transcript import TranscriptWriter, iter_lines, read_transcript

APP, SECRET = "cli_0a1b2c3d4e5f6082", "transcript-secret"


def test_api_calls_are_transcript_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.ndjson"
    with PlatformServer(app_id=APP, app_secret=SECRET, seed=82, transcript=TranscriptWriter(path)) as server:
        [d] = server.push("im.message.receive_v1", params={"chat_type": "group", "mention_bot": True})
        message_id = d.envelope["event"]["message"]["message_id"]
        token = httpx.post(f"{server.domain}/open-apis/auth/v3/tenant_access_token/internal",
                           json={"app_id": APP, "app_secret": SECRET}).json()["tenant_access_token"]
        answer = httpx.post(f"{server.domain}/open-apis/im/v1/messages/{message_id}/reply",
                            json={"msg_type": "text", "content": json.dumps({"text": "late, but here"})},
                            headers={"Authorization": f"Bearer {token}"}).json()
        assert answer["code"] == 0
    lines = [obj for _, obj in iter_lines(path)]
    assert [obj["kind"] for obj in lines] == ["attempt", "delivery", "api_call", "api_call"]
    token_call, reply = lines[2:]
    assert token_call["body"] == {"app_id": APP, "app_secret": "***"}
    assert token_call["answer"]["tenant_access_token"] == "***" and token not in path.read_text()
    assert reply["api"] == "POST /open-apis/im/v1/messages/:message_id/reply" and reply["code"] == 0
    assert reply["app_id"] == APP and reply["answer"]["data"]["parent_id"] == message_id
    assert [r.envelope for r in read_transcript(path)] == [d.envelope]  # replay skips the api_call lines

"""The official SDK's EventDispatcherHandler behind a WSGI app: typed events, a wrong key, a wrong token."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import lark_oapi as lark
import pytest

from simulator.testing import FeishuSim

ENCRYPT_KEY = "sdk-encrypt-key"
TOKEN = "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV"
received: list[Any] = []

handler = (
    lark.EventDispatcherHandler.builder(ENCRYPT_KEY, TOKEN, lark.LogLevel.CRITICAL)
    .register_p2_vc_meeting_share_ended_v1(received.append)
    .build()
)

# lark-oapi looks the three signature headers up case-sensitively: canonicalise them.
CANONICAL = {"HTTP_X_LARK_REQUEST_TIMESTAMP": "X-Lark-Request-Timestamp",
             "HTTP_X_LARK_REQUEST_NONCE": "X-Lark-Request-Nonce",
             "HTTP_X_LARK_SIGNATURE": "X-Lark-Signature"}


def app(environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any]) -> Iterable[bytes]:
    """A WSGI app around the SDK's EventDispatcherHandler.do()."""
    req = lark.RawRequest()
    req.uri = environ["PATH_INFO"]
    req.body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    req.headers = {CANONICAL.get(k, k): v for k, v in environ.items() if k.startswith("HTTP_")}
    resp = handler.do(req)
    start_response(f"{resp.status_code} X", list(resp.headers.items()))
    return [resp.content]


@pytest.fixture
def feishu_config() -> dict[str, Any]:
    return {"encrypt_key": ENCRYPT_KEY, "verification_token": TOKEN}


def test_sdk_dispatches_typed_event(feishu_sim: FeishuSim) -> None:
    d = feishu_sim.push(app, overrides={"event.meeting.topic": "SDK review"})
    assert d.acked and d.last is not None and d.last.response_body == '{"msg":"success"}'
    data = received[-1]
    assert isinstance(data, lark.vc.v1.P2VcMeetingShareEndedV1)
    assert data.header.event_id == d.event_id
    assert data.event.meeting.topic == "SDK review"
    assert data.event.meeting.id == d.envelope["event"]["meeting"]["id"]


def test_wrong_encrypt_key_is_refused(feishu_sim: FeishuSim) -> None:
    before = len(received)
    d = feishu_sim.push(app, encrypt_key="not-the-key", expect_rejected=True)
    assert d.last is not None and d.last.status == 500 and len(received) == before


@pytest.mark.feishu(verification_token="wrong-token")
def test_wrong_token_is_refused(feishu_sim: FeishuSim) -> None:
    d = feishu_sim.push(app, expect_rejected=True)
    assert not d.acked

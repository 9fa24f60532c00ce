"""The official lark-oapi 1.7.5 SDK, behind a real HTTP server, as the receiver of our pushes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import pytest

from simulator.config import AppProfile, SimConfig
from simulator.engine.core import Simulator
from simulator.rand import SimRandom
from simulator.servers import ThreadedServer
from simulator.verdicts.model import Delivery, Outcome
from simulator.verify import verify_url
from tests.conformance.helpers import as_dict, push_over_http
from tests.lark_receiver import lark_asgi

pytestmark = pytest.mark.lark_sdk

ET = "vc.meeting.share_ended_v1"
KEY = "sdk-encrypt-key"
TOKEN = "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV"


class SdkReceiver:
    def __init__(self, encrypt_key: str, token: str) -> None:
        self.received: list[Any] = []
        handler = (
            lark.EventDispatcherHandler.builder(encrypt_key, token, lark.LogLevel.CRITICAL)
            .register_p2_vc_meeting_share_ended_v1(self.received.append)
            .build()
        )
        self.server = ThreadedServer(lark_asgi(handler)).start()
        self.url = self.server.url + "/webhook/event"

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def sdk(request: pytest.FixtureRequest) -> Iterator[SdkReceiver]:
    key, token = getattr(request, "param", (KEY, TOKEN))
    r = SdkReceiver(key, token)
    yield r
    r.close()


def push(url: str, app: AppProfile, count: int = 1, *, envelopes: list[dict[str, Any]] | None = None,
         seed: int = 1) -> tuple[Simulator, list[Delivery]]:
    sim = Simulator(SimConfig(app=app, seed=seed))
    envs = envelopes if envelopes is not None else sim.generate_many(ET, count)
    return sim, push_over_http(sim, url, envs)


def test_encrypted_signed_events_reach_the_typed_handler_with_exact_values(sdk: SdkReceiver) -> None:
    _sim, deliveries = push(sdk.url, AppProfile(encrypt_key=KEY, verification_token=TOKEN), count=5)
    assert [d.last.outcome for d in deliveries if d.last] == [Outcome.ACKED] * 5
    assert all(d.last and d.last.status == 200 and d.last.response_body == '{"msg":"success"}' for d in deliveries)
    assert len(sdk.received) == 5
    for data, d in zip(sdk.received, deliveries, strict=False):
        assert isinstance(data, lark.vc.v1.P2VcMeetingShareEndedV1)
        assert data.header.event_id == d.event_id
        assert data.header.token == TOKEN
        assert as_dict(data.event) == d.envelope["event"]
        assert data.event.meeting.id == d.envelope["event"]["meeting"]["id"]  # a string, as the docs send it


@pytest.mark.parametrize("sdk", [("", TOKEN)], indirect=True)
def test_plaintext_events_with_token(sdk: SdkReceiver) -> None:
    _, deliveries = push(sdk.url, AppProfile(verification_token=TOKEN), count=2)
    assert all(d.acked for d in deliveries) and len(sdk.received) == 2


@pytest.mark.parametrize("sdk", [("", "")], indirect=True)
def test_plaintext_no_token_configured_anywhere(sdk: SdkReceiver) -> None:
    _, deliveries = push(sdk.url, AppProfile(), count=1)
    assert deliveries[0].acked and len(sdk.received) == 1


def test_wrong_encrypt_key_is_http_500_and_rejected(sdk: SdkReceiver) -> None:
    _, deliveries = push(sdk.url, AppProfile(encrypt_key="not-the-key", verification_token=TOKEN))
    att = deliveries[0].last
    assert att is not None and att.outcome is Outcome.REJECTED and att.status == 500
    assert "HTTP 500" in att.detail and not deliveries[0].acked and sdk.received == []


def test_wrong_token_is_rejected(sdk: SdkReceiver) -> None:
    _, deliveries = push(sdk.url, AppProfile(encrypt_key=KEY, verification_token="wrong-token"))
    att = deliveries[0].last
    assert att is not None and att.outcome is Outcome.REJECTED and att.status == 500
    assert "invalid verification_token" in att.response_body


def _envelope_without_token(app: AppProfile) -> dict[str, Any]:
    env = Simulator(SimConfig(app=app, seed=2)).generate(ET)
    del env["header"]["token"]
    return env


# docs/protocol.md#verification-token, the Python SDK's token rules, row by row.
@pytest.mark.parametrize(
    ("sdk", "app", "drop_token", "acked"),
    [
        # VT set, EK empty: tok must equal VT.
        (("", TOKEN), AppProfile(verification_token=TOKEN), False, True),
        (("", TOKEN), AppProfile(verification_token="other"), False, False),
        # VT set, EK set, tok absent: passes, the signature is the authenticator.
        ((KEY, TOKEN), AppProfile(encrypt_key=KEY, verification_token=TOKEN), True, True),
        # VT set, EK empty, tok absent: rejected.
        (("", TOKEN), AppProfile(verification_token=TOKEN), True, False),
        # VT empty, tok present and != VT: rejected (the surprise row).
        (("", ""), AppProfile(verification_token="abc"), False, False),
        # VT empty, tok "" or absent: passes.
        (("", ""), AppProfile(), False, True),
        (("", ""), AppProfile(), True, True),
    ],
    indirect=["sdk"],
)
def test_sdk_token_rules(sdk: SdkReceiver, app: AppProfile, drop_token: bool, acked: bool) -> None:
    envs = [_envelope_without_token(app)] if drop_token else None
    _, deliveries = push(sdk.url, app, envelopes=envs)
    assert deliveries[0].acked is acked


@pytest.mark.parametrize(("key", "token"), [(KEY, TOKEN), (None, TOKEN)])
def test_verify_url_passes_against_the_sdk(key: str | None, token: str) -> None:
    r = SdkReceiver(key or "", token)
    try:
        checks = asyncio.run(verify_url(r.url, token=token, encrypt_key=key, rand=SimRandom(4)))
    finally:
        r.close()
    assert [c.name for c in checks] == ["status", "json body", "challenge echoed", "within budget"]
    assert all(c.ok for c in checks), [c.line() for c in checks]


def test_verify_url_fails_with_a_wrong_token(sdk: SdkReceiver) -> None:
    checks = asyncio.run(verify_url(sdk.url, token="wrong", encrypt_key=KEY, rand=SimRandom(4)))
    by_name = {c.name: c for c in checks}
    assert not by_name["status"].ok and not by_name["challenge echoed"].ok


def test_cli_verify_url_against_the_sdk(sdk: SdkReceiver, capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli import main

    code = main(["verify-url", sdk.url, "--encrypt-key", KEY, "--verification-token", TOKEN])
    out = capsys.readouterr().out
    assert code == 0 and out.count("PASS") == 4

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from simulator.clock import VirtualClock
from simulator.config import AppProfile
from simulator.generation.factory import SEEDED_EPOCH, EventFactory
from simulator.rand import SimRandom
from simulator.receiver import ReferenceReceiver
from simulator.wire.envelope import challenge
from simulator.wire.seal import AesCipher, Sealer, canonical_json

KEY, TOKEN = "rk", "rtok"


class AsgiClient:
    """Synchronous calls into an ASGI app through httpx's ASGI transport (no sockets)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def _call(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://r") as c:
                return await c.request(method, url, **kw)

        return asyncio.run(go())

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self._call("POST", url, **kw)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self._call("GET", url, **kw)


@pytest.fixture
def receiver() -> ReferenceReceiver:
    return ReferenceReceiver(encrypt_key=KEY, verification_token=TOKEN)


def sealed_event(key: str = KEY, token: str = TOKEN) -> tuple[dict[str, object], bytes, dict[str, str]]:
    f = EventFactory(app=AppProfile(verification_token=token), rand=SimRandom(1), clock=VirtualClock(SEEDED_EPOCH))
    env = f.generate("vc.meeting.share_ended_v1")
    req = Sealer(key, SimRandom(2)).seal(env, timestamp=1700000000)
    return env, req.body, req.headers


def test_accepts_then_dedupes(receiver: ReferenceReceiver) -> None:
    _env, body, headers = sealed_event()
    client = AsgiClient(receiver.app())
    r1 = client.post("/webhook", content=body, headers=headers)
    r2 = client.post("/webhook", content=body, headers=headers)
    assert r1.status_code == r2.status_code == 200 and r1.json() == {"msg": "success"}
    assert [e.duplicate for e in receiver.state.events] == [False, True]
    assert len(receiver.state.unique) == 1
    assert client.get("/_sim/received").json()["events"][1]["duplicate"] is True


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda b, h: (b, {k: v for k, v in h.items() if "Signature" not in k}), 401),
        (lambda b, h: (b, {**h, "X-Lark-Signature": "0" * 64}), 401),
        (lambda b, h: (b[:-3] + b'A"}', h), 401),
        (lambda b, h: (b"not json", h), 400),
        (lambda b, h: (b'{"encrypt":"AAAA"}', h), 401),
        (lambda b, h: (b'{"encrypt":"AAAA"}', {"Content-Type": "application/json"}), 400),
        (lambda b, h: (b"x" * (2 * 1024 * 1024), h), 413),
    ],
)
def test_rejects_forgeries(receiver: ReferenceReceiver, mutate, status: int) -> None:  # type: ignore[no-untyped-def]
    _, body, headers = sealed_event()
    body, headers = mutate(body, headers)
    r = AsgiClient(receiver.app()).post("/webhook", content=body, headers=headers)
    assert r.status_code == status
    assert receiver.state.events == []


def test_wrong_key_and_wrong_token(receiver: ReferenceReceiver) -> None:
    client = AsgiClient(receiver.app())
    _, body, headers = sealed_event(key="other")
    r = client.post("/", content=body, headers=headers)
    assert r.status_code == 401 and "signature" in r.text
    _, body, headers = sealed_event(token="other")
    assert client.post("/", content=body, headers=headers).status_code == 401


def test_challenge_plain_and_encrypted(receiver: ReferenceReceiver) -> None:
    client = AsgiClient(receiver.app())
    plain = canonical_json(challenge("abc", TOKEN))
    assert client.post("/", content=plain).json() == {"challenge": "abc"}
    enc = canonical_json({"encrypt": AesCipher(KEY).encrypt(plain, bytes(16))})
    r = client.post("/", content=enc)
    assert r.status_code == 200 and r.content == b'{"challenge":"abc"}'
    bad = canonical_json(challenge("abc", "wrong"))
    r = client.post("/", content=bad)
    assert r.status_code == 401 and "abc" not in r.text


def test_plaintext_receiver_checks_token() -> None:
    rec = ReferenceReceiver(verification_token=TOKEN)
    env, _, _ = sealed_event()
    client = AsgiClient(rec.app())
    assert client.post("/", content=canonical_json(env)).status_code == 200
    env["header"]["token"] = "nope"  # type: ignore[index]
    assert client.post("/", content=json.dumps(env)).status_code == 401

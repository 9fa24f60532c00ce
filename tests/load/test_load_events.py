"""Fast sealed events: byte-exact envelopes, exact AES-CBC, unique, varied, schema-valid, SDK-accepted."""

from __future__ import annotations

import json

import pytest

from simulator.clock import VirtualClock
from simulator.config import AppProfile
from simulator.generation import schemas
from simulator.generation.factory import EventFactory
from simulator.load.events import EventSource
from simulator.rand import SimRandom
from simulator.wire.seal import AesCipher, canonical_json, sign

EVENT = "vc.meeting.share_ended_v1"
APP = AppProfile(encrypt_key="load-test-encrypt-key", verification_token="Vt0123456789abcdefABCDEFghijklmn")
NOW = 1772415000.0


def source(seed: int = 7, app: AppProfile = APP, **kwargs: int) -> EventSource:
    factory = EventFactory(app=app, rand=SimRandom(seed), clock=VirtualClock(NOW, scale=0))
    return EventSource(factory, EVENT, encrypt_key=app.encrypt_key, **kwargs)  # type: ignore[arg-type]


def test_plaintext_is_byte_identical_to_the_general_path() -> None:
    src = source()
    factory = EventFactory(app=APP, rand=SimRandom(1))
    for i in range(50):
        raw = src.plaintext(NOW + i)
        env = json.loads(raw)
        again = factory.wrap(EVENT, env["event"], now=NOW + i, event_id=env["header"]["event_id"])
        assert canonical_json(again) == raw
        assert env["header"]["create_time"] == str(int((NOW + i) * 1000))


def test_cbc_with_a_reused_encryptor_equals_a_fresh_cipher() -> None:
    src = source()
    ref = AesCipher(APP.encrypt_key or "")
    rng = SimRandom(3)
    for n in (1, 15, 16, 17, 1000, 1101):
        plain = rng.token_bytes(n)
        iv = rng.token_bytes(16)
        pad = 16 - len(plain) % 16
        ours = src._cbc(plain + bytes((pad,)) * pad, int.from_bytes(iv, "big"))
        import base64

        assert base64.b64encode(iv + ours).decode() == ref.encrypt(plain, iv)


def test_sealed_events_decrypt_verify_and_validate() -> None:
    src = source()
    cipher = AesCipher(APP.encrypt_key or "")
    for i in range(100):
        sealed = src.seal(NOW + i / 10)
        h = dict(sealed.headers)
        assert sign(h["X-Lark-Request-Timestamp"], h["X-Lark-Request-Nonce"], APP.encrypt_key or "", sealed.body) \
            == h["X-Lark-Signature"]
        assert h["X-Lark-Request-Nonce"].isdigit()
        assert len(h["X-Request-Id"]) == 36 and h["X-Request-Id"][14] == "4"
        env = json.loads(cipher.decrypt(json.loads(sealed.body)["encrypt"]))
        schemas.validate(env)
        assert env["header"]["token"] == APP.verification_token


def test_events_are_unique_and_varied() -> None:
    src = source(pool_size=64, refresh_every=4)
    ids: set[bytes] = set()
    bodies: set[str] = set()
    for i in range(20_000):
        raw = src.plaintext(NOW + i / 1000)
        ids.add(raw[39:71])
        if i % 10 == 0:
            bodies.add(json.dumps(json.loads(raw)["event"], sort_keys=True))
    assert len(ids) == 20_000
    # 2,000 sampled bodies: the pool of 64 is regenerated slot by slot, so far more than 64 distinct bodies
    assert len(bodies) > 500
    ivs = {src.seal(NOW).body[12:36] for _ in range(1000)}
    assert len(ivs) == 1000


def test_same_seed_same_stream() -> None:
    a, b = source(seed=11), source(seed=11)
    assert [a.seal(NOW + i).body for i in range(20)] == [b.seal(NOW + i).body for i in range(20)]
    assert source(seed=12).seal(NOW).body != source(seed=11).seal(NOW).body


def test_plaintext_mode_sends_no_signature() -> None:
    app = AppProfile()
    src = source(app=app)
    sealed = src.seal(NOW)
    assert dict(sealed.headers).keys() == {"X-Request-Id"}
    schemas.validate(json.loads(sealed.body))
    req = src.request(NOW, b"POST / HTTP/1.1\r\nHost: x\r\n")
    head, body = req.split(b"\r\n\r\n", 1)
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"X-Lark-Signature" not in head


def test_request_bytes_carry_the_same_seal() -> None:
    src = source()
    req = src.request(NOW, b"POST /hook HTTP/1.1\r\nHost: h\r\nContent-Type: application/json; charset=utf-8\r\n")
    head, body = req.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /hook HTTP/1.1"
    h = dict(line.split(": ", 1) for line in lines[1:])
    assert int(h["Content-Length"]) == len(body)
    assert sign(h["X-Lark-Request-Timestamp"], h["X-Lark-Request-Nonce"], APP.encrypt_key or "", body) \
        == h["X-Lark-Signature"]


@pytest.mark.lark_sdk
def test_official_sdk_dispatches_load_events() -> None:
    lark = pytest.importorskip("lark_oapi")
    src = source()
    seen: list[str] = []
    handler = (lark.EventDispatcherHandler.builder(APP.encrypt_key, APP.verification_token, lark.LogLevel.ERROR)
               .register_p2_vc_meeting_share_ended_v1(lambda data: seen.append(data.header.event_id)).build())
    import time

    for _ in range(10):
        sealed = src.seal(time.time())
        req = lark.RawRequest()
        req.uri = "/webhook/event"
        req.body = sealed.body
        req.headers = {"Content-Type": "application/json; charset=utf-8", **dict(sealed.headers)}
        resp = handler.do(req)
        assert resp.status_code == 200, resp.content
    assert len(set(seen)) == 10


def test_scenario_source_plays_coherent_meetings_in_order() -> None:
    from simulator.generation import scenarios
    from simulator.load.events import ScenarioSource

    factory = EventFactory(app=APP, rand=SimRandom(5), clock=VirtualClock(NOW, scale=0))
    src = ScenarioSource(factory, scenarios.load("plain-meeting"), encrypt_key=APP.encrypt_key)
    envs = [json.loads(src.plaintext(NOW)) for _ in range(60)]
    first_meeting = envs[0]["event"]["meeting"]["id"]
    n = next(i for i, e in enumerate(envs) if e["event"]["meeting"]["id"] != first_meeting)
    one = envs[:n]
    assert one[0]["header"]["event_type"] == "vc.meeting.meeting_started_v1"
    assert one[-1]["header"]["event_type"] == "vc.meeting.meeting_ended_v1"
    times = [int(e["header"]["create_time"]) for e in one]
    assert times == sorted(times) and times[-1] <= NOW * 1000
    assert len({e["header"]["event_id"] for e in envs}) == 60
    for e in envs[:20]:
        schemas.validate(e)

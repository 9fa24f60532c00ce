"""Sans-IO frame rules: required fields, data headers, fragmentation, lenient acks
(docs/protocol.md#the-pbbp2-frame-schema, docs/protocol.md#frame-headers-and-message-types,
docs/protocol.md#ping-and-pong, docs/protocol.md#data-frames-and-fragmentation,
docs/protocol.md#acknowledgement-frames)."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import ConfigError
from simulator.wire import frames as F


def one(payload: bytes = b'{"a":1}', **kw: Any) -> F.Frame:
    args: dict[str, Any] = {"service": 7, "message_id": "m-1", "trace_id": "t-1", "seq_id": 5, "log_id": 9}
    args.update(kw)
    return F.data_frames(payload, **args)[0]


def test_data_frame_sets_required_fields_and_headers() -> None:
    frame = F.decode(F.encode(one()))
    assert (frame.SeqID, frame.LogID, frame.service, frame.method) == (5, 9, 7, F.FrameType.DATA)
    assert [(h.key, h.value) for h in frame.headers] == [
        ("type", "event"), ("message_id", "m-1"), ("sum", "1"), ("seq", "0"), ("trace_id", "t-1")]
    assert frame.payload == b'{"a":1}'


def test_incomplete_frames_are_refused_both_ways() -> None:
    with pytest.raises(F.FrameError):
        F.encode(F.Frame(SeqID=1, LogID=1, service=1))  # no method
    # A frame without method (tag 0x20) on the wire: parseable protobuf, but not a usable frame.
    with pytest.raises(F.FrameError, match="method"):
        F.decode(bytes.fromhex("0801 1001 1801"))


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff", b"\x0a", b"not a frame at all", b"\x08"])
def test_garbage_is_a_frame_error(garbage: bytes) -> None:
    with pytest.raises(F.FrameError):
        F.decode(garbage)


def test_fragmentation_splits_into_even_non_empty_slices() -> None:
    payload = bytes(range(256)) * 40  # 10240 bytes
    frames = F.data_frames(payload, service=1, message_id="m", trace_id="t", seq_id=100, log_id=1,
                           fragment_size=4096)
    assert len(frames) == 3
    assert [F.header(f, "sum") for f in frames] == ["3"] * 3
    assert [F.header(f, "seq") for f in frames] == ["0", "1", "2"]
    assert [f.SeqID for f in frames] == [100, 101, 102]
    assert all(0 < len(f.payload) <= 4096 for f in frames)
    assert b"".join(f.payload for f in frames) == payload


def test_default_fragment_size_keeps_messages_under_the_python_limit() -> None:
    payload = b"x" * (F.MAX_CLIENT_MESSAGE * 2)
    frames = F.data_frames(payload, service=1, message_id="m" * 36, trace_id="t" * 32, seq_id=1, log_id=1)
    assert all(len(F.encode(f)) < F.MAX_CLIENT_MESSAGE for f in frames)
    assert len(F.encode(one(b"y" * F.DEFAULT_FRAGMENT_SIZE))) < F.MAX_CLIENT_MESSAGE


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(min_size=1, max_size=3000), size=st.integers(1, 700), order=st.randoms())
def test_reassembly_roundtrip_in_any_order(payload: bytes, size: int, order: random.Random) -> None:
    frames = F.data_frames(payload, service=1, message_id="m", trace_id="t", seq_id=1, log_id=1, fragment_size=size)
    assert all(f.payload for f in frames)
    order.shuffle(frames)
    r = F.Reassembler()
    results = [r.feed(F.decode(F.encode(f))) for f in frames]
    assert results[:-1] == [None] * (len(frames) - 1)
    assert results[-1] == payload
    assert len(r) == 0


def test_reassembler_drops_stale_partials() -> None:
    frames = F.data_frames(b"abcdef", service=1, message_id="m", trace_id="t", seq_id=1, log_id=1, fragment_size=2)
    r = F.Reassembler(ttl=5)
    assert r.feed(frames[0], now=0) is None
    assert r.feed(frames[1], now=100) is None  # the first slice expired meanwhile
    assert r.feed(frames[2], now=101) is None


@pytest.mark.parametrize(("payload", "code", "data"), [
    (b'{"code": 200}', 200, None),  # Python 1.7.5, spaced
    (b'{"code":200}', 200, None),  # Node
    (b'{"code":500}', 500, None),
    (b'{"code":200,"headers":null,"data":null}', 200, None),  # Go form
    (b'{"code": 200, "data": "' + base64.b64encode(b'{"toast":1}') + b'"}', 200, b'{"toast":1}'),
    (b'{"code":"200"}', 200, None),
])
def test_ack_parsing_is_lenient(payload: bytes, code: int, data: bytes | None) -> None:
    frame = one()
    frame.payload = payload
    frame.headers.add(key="biz_rt", value="-1")  # Node's start-end bug
    ack = F.parse_ack(F.decode(F.encode(frame)))
    assert (ack.message_id, ack.code, ack.data, ack.biz_rt_ms) == ("m-1", code, data, -1.0)
    assert ack.ok is (code == 200)


@pytest.mark.parametrize(("payload", "problems"), [
    (b"", ("payload is not JSON",)),
    (b"garbage", ("payload is not JSON",)),
    (b"\xff\xfe", ("payload is not JSON",)),
    (b"[1]", ("payload is not a JSON object",)),
    (b'{"code": true}', ("no integer code: True",)),
    (b'{"msg": "no code"}', ("no integer code: None",)),
    (b'{"code": 200, "data": "%%%"}', ("data is not base64",)),
    (b'{"code": "x", "data": "%%%"}', ("no integer code: 'x'", "data is not base64")),
])
def test_unreadable_acks_never_raise(payload: bytes, problems: tuple[str, ...]) -> None:
    frame = one()
    frame.payload = payload
    ack = F.parse_ack(frame)
    assert ack.problems == problems
    assert ack.data is None


@pytest.mark.parametrize(("headers", "message_id", "biz_rt", "problems"), [
    ([], "", None, ("no message_id header",)),
    ([("message_id", ""), ("message_id", "m-2")], "", None, ("no message_id header",)),  # the first one counts
    ([("message_id", "m-1"), ("biz_rt", "7"), ("biz_rt", "x")], "m-1", 7.0, ()),
    ([("biz_rt", "soon"), ("message_id", "m-1")], "m-1", None, ("biz_rt not a number: 'soon'",)),
])
def test_ack_headers(headers: list[tuple[str, str]], message_id: str, biz_rt: float | None,
                     problems: tuple[str, ...]) -> None:
    frame = F.Frame(payload=b'{"code":200}')
    for key, value in headers:
        frame.headers.add(key=key, value=value)
    ack = F.parse_ack(frame)
    assert (ack.message_id, ack.biz_rt_ms, ack.problems) == (message_id, biz_rt, problems)
    assert ack.code == 200  # a problem with the headers does not hide the code


def test_ack_frame_copies_the_frame() -> None:
    frame = one()
    ack = F.ack_frame(frame, code=200, biz_rt_ms=3, spaced=True)
    assert ack.payload == b'{"code": 200}'
    assert (ack.SeqID, ack.LogID, ack.service, ack.method) == (frame.SeqID, frame.LogID, frame.service, frame.method)
    assert F.headers_of(ack)["biz_rt"] == "3"


def test_client_config_is_always_complete() -> None:
    cfg = F.ClientConfig(ping_interval=5)
    assert json.loads(cfg.payload()) == {"ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 30,
                                         "PingInterval": 5}
    assert cfg.replace(PingInterval=1, reconnect_nonce=0) == F.ClientConfig(ping_interval=1, reconnect_nonce=0)
    assert F.ClientConfig.from_json({"PingInterval": 9}).to_json()["ReconnectCount"] == -1


@pytest.mark.parametrize("bad", [{"ping_interval": 0}, {"ping_interval": "5"}, {"reconnect_count": -2},
                                 {"reconnect_nonce": -1}, {"Nope": 1}, {"ping_interval": True}])
def test_client_config_rejects_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        F.ClientConfig().replace(**bad)

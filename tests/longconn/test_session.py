"""The per-connection state machine, without sockets: every input is bytes, every output is a value."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from simulator.platform.session import Acked, Pong, PongConfig, Problem, Session
from simulator.wire import frames as F

PING = F.encode(F.control_frame(F.MessageType.PING, service=42))


def session(**kw: Any) -> Session:
    return Session(service_id=42, config=F.ClientConfig(ping_interval=5), **kw)


def ack_for(data: bytes, payload: bytes = b'{"code": 200}', biz_rt: str | None = "4") -> bytes:
    frame = F.decode(data)
    frame.payload = payload
    if biz_rt is not None:
        frame.headers.add(key="biz_rt", value=biz_rt)
    return F.encode(frame)


def pong_of(events: Sequence[object]) -> F.Frame:
    assert len(events) == 1 and isinstance(events[0], Pong)
    frame = F.decode(events[0].data)
    assert (frame.method, frame.service, F.header(frame, "type")) == (0, 42, "pong")
    return frame


def test_ping_gets_an_empty_pong_while_the_client_config_is_current() -> None:
    s = session()
    assert pong_of(s.receive(PING, 0.0)).payload == b""
    assert (s.counters.pings, s.counters.pongs, s.counters.pongs_with_config) == (1, 1, 0)


def test_config_change_goes_out_complete_in_the_next_pong_only() -> None:
    s = session()
    s.set_config(F.ClientConfig(ping_interval=1, reconnect_nonce=0))
    first = pong_of(s.receive(PING, 1.0))
    assert json.loads(first.payload) == {"ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 0,
                                         "PingInterval": 1}
    assert pong_of(s.receive(PING, 2.0)).payload == b""


def test_pong_config_always_and_never() -> None:
    assert pong_of(session(pong_config=PongConfig.ALWAYS).receive(PING, 0)).payload
    s = session(pong_config=PongConfig.NEVER)
    s.set_config(F.ClientConfig(ping_interval=1))
    assert pong_of(s.receive(PING, 0)).payload == b""


def test_half_open_session_counts_unanswered_pings() -> None:
    s = session(answer_pings=False)
    assert s.receive(PING, 0.0) == []
    assert s.counters.pings_unanswered == 1
    assert list(s.ping_times) == [0.0]


def test_event_is_pending_until_its_ack() -> None:
    s = session()
    [data] = s.send_event(b'{"x":1}', message_id="m1", trace_id="t1", now=10.0, token="tok")
    frame = F.decode(data)
    assert F.headers_of(frame) == {"type": "event", "message_id": "m1", "sum": "1", "seq": "0", "trace_id": "t1"}
    assert s.pending == 1 and s.next_deadline() == 13.0
    [ev] = s.receive(ack_for(data), 10.5)
    assert isinstance(ev, Acked)
    assert (ev.pending.token, ev.ack.code, ev.ack.biz_rt_ms, ev.at) == ("tok", 200, 4.0, 10.5)
    assert s.pending == 0


def test_sequence_ids_grow_by_fragment() -> None:
    s = session(fragment_size=3)
    first = [F.decode(d).SeqID for d in s.send_event(b"abcdefg", message_id="a", trace_id="t", now=0)]
    second = [F.decode(d).SeqID for d in s.send_event(b"x", message_id="b", trace_id="t", now=0)]
    assert first == [1, 2, 3] and second == [4]
    with pytest.raises(ValueError):
        s.send_event(b"x", message_id="b", trace_id="t", now=0)


def test_expiry_and_late_ack() -> None:
    s = session()
    [data] = s.send_event(b"{}", message_id="m1", trace_id="t", now=0.0)
    assert s.expire(2.99) == []
    [expired] = s.expire(3.0)
    assert expired.pending.message_id == "m1" and s.counters.expired == 1
    [late] = s.receive(ack_for(data), 3.5)
    assert isinstance(late, Problem) and late.kind == "late_acks"


def test_unknown_ack_and_bad_input_are_counted_not_raised() -> None:
    s = session()
    stray = F.data_frames(b'{"code":200}', service=42, message_id="nobody", trace_id="t", seq_id=1, log_id=1)[0]
    kinds = []
    for msg in (F.encode(stray), "a text message", b"\x00\xffgarbage", F.encode(F.Frame(SeqID=1, LogID=1, service=1,
                                                                                     method=7)),
                F.encode(F.control_frame(F.MessageType.PONG, service=42))):
        [ev] = s.receive(msg, 0.0)
        assert isinstance(ev, Problem)
        kinds.append(ev.kind)
    assert kinds == ["unknown_acks", "non_binary", "malformed", "malformed", "unexpected"]
    c = s.counters
    assert (c.unknown_acks, c.non_binary, c.malformed, c.unexpected) == (1, 1, 2, 1)


def test_close_loses_every_pending_message() -> None:
    s = session()
    s.send_event(b"{}", message_id="a", trace_id="t", now=0)
    s.send_event(b"{}", message_id="b", trace_id="t", now=0)
    assert sorted(p.message_id for p in s.close()) == ["a", "b"]
    assert s.pending == 0


def test_ack_with_rejection_code() -> None:
    s = session()
    [data] = s.send_event(b"{}", message_id="m", trace_id="t", now=0)
    [ev] = s.receive(ack_for(data, b'{"code": 500}', biz_rt=None), 0.1)
    assert isinstance(ev, Acked) and ev.ack.code == 500 and not ev.ack.ok and ev.ack.biz_rt_ms is None

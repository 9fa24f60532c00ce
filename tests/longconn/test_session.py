"""The per-connection state machine, without sockets: every input is bytes, every output is a value."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from simulator.platform.session import TRANSITIONS, Acked, Lifecycle, Phase, Pong, PongConfig, Problem, Session
from simulator.wire import frames as F

PING = F.encode(F.control_frame(F.MessageType.PING, service=42))


def phase_of(s: Session) -> Phase:
    """The session's phase, read afresh (mypy would keep an earlier ``assert s.phase is ...`` narrowing)."""
    return s.phase


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


def test_every_pong_carries_the_complete_config_by_default() -> None:
    s = session()
    for t in range(3):
        assert json.loads(pong_of(s.receive(PING, float(t))).payload) == F.ClientConfig(ping_interval=5).to_json()
    s.set_config(F.ClientConfig(ping_interval=1))
    assert json.loads(pong_of(s.receive(PING, 3.0)).payload)["PingInterval"] == 1
    assert (s.counters.pings, s.counters.pongs, s.counters.pongs_with_config) == (4, 4, 4)


def test_changed_mode_pongs_are_empty_while_the_client_config_is_current() -> None:
    s = session(pong_config=PongConfig.CHANGED)
    assert pong_of(s.receive(PING, 0.0)).payload == b""
    assert (s.counters.pings, s.counters.pongs, s.counters.pongs_with_config) == (1, 1, 0)


def test_changed_mode_corrects_a_client_that_got_an_older_config_at_discovery() -> None:
    """The config changed between the client's discovery and its upgrade: its first pong carries the new one."""
    old, new = F.ClientConfig(ping_interval=5), F.ClientConfig(ping_interval=2)
    s = Session(service_id=42, config=new, client_config=old, pong_config=PongConfig.CHANGED)
    assert json.loads(pong_of(s.receive(PING, 0.0)).payload)["PingInterval"] == 2
    assert pong_of(s.receive(PING, 1.0)).payload == b""


def test_config_change_goes_out_complete_in_the_next_pong_only() -> None:
    s = session(pong_config=PongConfig.CHANGED)
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
    s = session()
    s.half_open(True)
    assert s.phase is Phase.HALF_OPEN and not s.answer_pings
    assert s.receive(PING, 0.0) == []
    assert s.counters.pings_unanswered == 1
    assert list(s.ping_times) == [0.0]
    s.half_open(False)
    assert phase_of(s) is Phase.OPEN and pong_of(s.receive(PING, 1.0))


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


# -- lifecycle -----------------------------------------------------------------------------------------

def test_lifecycle_follows_the_transition_table_and_refuses_anything_else() -> None:
    legal = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    for a in Phase:
        for b in Phase:
            life = Lifecycle(a)
            if (a, b) in legal:
                life.move(b)
                assert life.phase is b
            else:
                with pytest.raises(RuntimeError, match=f"illegal connection transition {a} -> {b}"):
                    life.move(b)
                assert life.phase is a
    assert not TRANSITIONS[Phase.CLOSED]  # closed is final


def test_a_closing_or_closed_session_sends_nothing_and_close_is_final() -> None:
    s = session()
    s.send_event(b"{}", message_id="a", trace_id="t", now=0)
    s.closing()
    with pytest.raises(RuntimeError, match="closing"):
        s.send_event(b"{}", message_id="b", trace_id="t", now=0)
    s.half_open(True)  # only a live connection changes
    assert s.phase is Phase.CLOSING
    assert [p.message_id for p in s.close()] == ["a"] and phase_of(s) is Phase.CLOSED
    with pytest.raises(RuntimeError, match="closed -> closed"):
        s.close()


# -- deadlines, on an injected clock -------------------------------------------------------------------

def test_next_deadline_is_the_oldest_pending_message_and_follows_acks() -> None:
    s = session(ack_budget_s=3.0)
    assert s.next_deadline() is None
    frames = [s.send_event(b"{}", message_id=m, trace_id="t", now=t)[0] for m, t in (("a", 1.0), ("b", 2.0),
                                                                                      ("c", 2.5))]
    assert s.next_deadline() == 4.0
    s.receive(ack_for(frames[0]), 2.6)  # the oldest is acked: the next one's deadline is next
    assert s.next_deadline() == 5.0
    s.receive(ack_for(frames[2]), 2.7)  # acked out of order: "b" is still the oldest
    assert s.next_deadline() == 5.0
    assert s.expire(4.99) == []
    assert [e.pending.message_id for e in s.expire(5.0)] == ["b"] and s.next_deadline() is None


def test_expire_takes_every_overdue_message_in_send_order() -> None:
    s = session(ack_budget_s=1.0)
    for i in range(5):
        s.send_event(b"{}", message_id=f"m{i}", trace_id="t", now=float(i))
    assert [e.pending.message_id for e in s.expire(3.5)] == ["m0", "m1", "m2"]
    assert s.next_deadline() == 4.0 and s.counters.expired == 3


def test_now_must_not_go_backwards() -> None:
    s = session()
    s.send_event(b"{}", message_id="a", trace_id="t", now=5.0)
    with pytest.raises(ValueError, match="backwards"):
        s.send_event(b"{}", message_id="b", trace_id="t", now=4.0)

"""``Delivery.to_json``: one serialisation of a delivery for ``push --json``, the platform's ``/_sim/push``
answer and the transcript's ``delivery`` lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.cli.push import render
from simulator.engine.core import Simulator
from simulator.platform.control import push_result_json
from simulator.verdicts.model import Attempt, Channel, Delivery, Outcome
from simulator.verdicts.transcript import TranscriptWriter

ENVELOPE = {"schema": "2.0", "header": {"event_id": "e1", "event_type": "vc.meeting.share_ended_v1"}, "event": {}}


def delivery() -> Delivery:
    d = Delivery("e1", "vc.meeting.share_ended_v1", ENVELOPE, origin="duplicate", duplicate_of="e0", seq=7)
    d.record(Attempt("e1", "vc.meeting.share_ended_v1", 1, Channel.WEBHOOK, Outcome.REJECTED, 1000.0, 12.34567,
                     status=500, detail="boom", target="http://h/x", request_body="secret body"))
    d.record(Attempt("e1", "vc.meeting.share_ended_v1", 2, Channel.WEBHOOK, Outcome.ACKED, 1015.0, 3.0, status=200,
                     target="http://h/x", extra={"k": 1}))
    d.close()
    return d


def test_shape() -> None:
    doc = delivery().to_json()
    assert list(doc) == ["event_id", "event_type", "final", "origin", "duplicate_of", "acked_at_attempt", "summary",
                         "attempts"]
    assert (doc["final"], doc["origin"], doc["duplicate_of"], doc["acked_at_attempt"]) == \
        ("acked", "duplicate", "e0", 2)
    assert doc["attempts"][0] == {"attempt": 1, "outcome": "rejected", "status": 500, "sent_at": 1000.0,
                                  "latency_ms": 12.346, "detail": "boom", "target": "http://h/x", "extra": {}}
    assert "secret body" not in json.dumps(doc)  # requests and responses stay in the transcript's attempt lines


def test_every_face_prints_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = delivery()
    render([d], Simulator(), as_json=True, target="http://h/x")
    assert json.loads(capsys.readouterr().out)["deliveries"] == [d.to_json()]
    assert push_result_json([d])["deliveries"] == [d.to_json()]
    path = tmp_path / "t.ndjson"
    with TranscriptWriter(path) as w:
        w.delivery(d)
    line = json.loads(path.read_text(encoding="utf-8"))
    reproducible = d.to_json(reproducible=True)
    history = reproducible.pop("attempts")
    assert line == {"kind": "delivery", **reproducible, "attempts": 2, "history": history, "delivery": 7,
                    "envelope": ENVELOPE}
    assert history == [{"attempt": 1, "outcome": "rejected", "status": 500, "sent_at": 1000.0},
                       {"attempt": 2, "outcome": "acked", "status": 200, "sent_at": 1015.0}]
    assert "summary" not in line  # latencies differ from run to run; the same seed gives the same transcript

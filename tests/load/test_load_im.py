"""Load tests with message events: every request carries a message of its own. A pooled body sent twice
would be the same message redelivered (same message_id), which a bot that dedupes correctly skips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.clock import VirtualClock
from simulator.config import AppProfile
from simulator.generation import schemas
from simulator.generation.factory import EventFactory
from simulator.load.events import EventSource
from simulator.rand import SimRandom

APP = AppProfile(encrypt_key="load-im-key", verification_token="Vt0123456789abcdefABCDEFghijklmn")
NOW = 1772415000.0


def source(event_type: str) -> EventSource:
    factory = EventFactory(app=APP, rand=SimRandom(3), clock=VirtualClock(NOW, scale=0))
    return EventSource(factory, event_type, encrypt_key=APP.encrypt_key, pool_size=64, refresh_every=16)


def test_every_message_event_is_a_new_message() -> None:
    src = source("im.message.receive_v1")
    envs = [json.loads(src.plaintext(NOW + i / 100)) for i in range(2000)]
    assert len({e["event"]["message"]["message_id"] for e in envs}) == 2000
    assert src.stats()["fresh_bodies"] is True
    for env in envs[::100]:
        assert schemas.errors(env) == []
        assert int(env["event"]["message"]["create_time"]) <= int(env["header"]["create_time"])


def test_types_without_a_business_key_still_use_the_pool() -> None:
    src = source("vc.meeting.share_ended_v1")
    bodies = [json.dumps(json.loads(src.plaintext(NOW))["event"]) for _ in range(500)]
    assert len(set(bodies)) < 200 and src.stats()["fresh_bodies"] is False


def test_a_message_load_against_the_reference_receiver_sees_no_duplicates(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    code = main(["load", "im.message.receive_v1", "--rate", "200", "--duration", "1", "--seed", "5",
                 "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(report.read_text())
    assert doc["counts"]["acked"] == 200 and doc["receiver"]["rejected"] == 0
    assert doc["receiver"]["duplicates_seen"] == 0  # it dedupes on message_id too: every message was new

"""The driver's per-request plumbing, without sockets."""

from __future__ import annotations

import json
import time

import pytest

from simulator.clock import VirtualClock
from simulator.config import AppProfile
from simulator.load.driver import LoadPlan
from simulator.load.platform_driver import PlatformDriver
from simulator.load.runner import driver_for
from simulator.load.schedule import Schedule
from simulator.load.webhook_driver import SEAL_AHEAD_MAX, WebhookDriver
from simulator.wire.seal import AesCipher

APP = AppProfile(encrypt_key="runner-test-key", verification_token="Vt0123456789abcdefABCDEFghijklmn")


def driver(rate: float) -> WebhookDriver:
    d = WebhookDriver(LoadPlan(url="http://127.0.0.1:9/hook", schedule=Schedule.constant(rate, 10), app=APP, seed=1),
               clock=VirtualClock(1772415000.0, scale=0))
    d.ol.start(time.perf_counter())
    return d


def event_of(request: bytes) -> dict[str, object]:
    body = request.split(b"\r\n\r\n", 1)[1]
    return json.loads(AesCipher(APP.encrypt_key or "").decrypt(json.loads(body)["encrypt"]))  # type: ignore[no-any-return]


def test_low_rates_seal_each_request_when_it_is_sent() -> None:
    d = driver(200)
    d._request()
    assert d._ahead == []


def test_high_rates_seal_a_few_ahead_in_order() -> None:
    d = driver(50_000)  # 2 ms of schedule = 100 requests, capped
    ids = []
    for _ in range(SEAL_AHEAD_MAX + 1):
        ids.append(event_of(d._request())["header"])
        assert len(d._ahead) < SEAL_AHEAD_MAX
    assert len({h["event_id"] for h in ids}) == SEAL_AHEAD_MAX + 1  # type: ignore[index]


@pytest.mark.parametrize(("batch", "path"), [(1, "/_sim/push"), (256, "/_sim/push/batch")])
def test_platform_mode_sends_push_requests(batch: int, path: str) -> None:
    d = driver_for(LoadPlan(url="x", platform="http://127.0.0.1:9001", schedule=Schedule.constant(10, 1),
                            control_token="tok", platform_batch=batch))
    assert isinstance(d, PlatformDriver)
    req = d._request()
    head, body = req.split(b"\r\n\r\n", 1)
    assert head.startswith(f"POST {path} HTTP/1.1\r\n".encode())
    assert b"Authorization: Bearer tok" in head
    assert json.loads(body) == {"event_type": "vc.meeting.share_ended_v1", "count": 1,
                                "app_id": "cli_a1b2c3d4e5f60718"}
    if batch > 1:
        assert json.loads(d._batch_request(7).split(b"\r\n\r\n", 1)[1])["count"] == 7
    assert d.source_stats() == {"generated_by": "platform"}


# -- worker errors cross the process boundary by type --------------------------------------------------------

def test_worker_errors_keep_their_type_not_their_wording() -> None:
    import pickle

    from simulator.errors import ConfigError, SimulatorError, TargetError, UnknownEventType
    from simulator.load.runner import error_from_wire, error_to_wire

    class MyConfigError(ConfigError):  # not ours: travels as its nearest class of ours
        pass

    cases = [
        (TargetError("cannot reach 127.0.0.1:9: refused"), TargetError, "cannot reach 127.0.0.1:9: refused"),
        (ConfigError("cannot reach this through wording"), ConfigError, "cannot reach this through wording"),
        (UnknownEventType("vc.nope", ["a"]), UnknownEventType, str(UnknownEventType("vc.nope", ["a"]))),
        (MyConfigError("bad rate"), ConfigError, "bad rate"),
        (ValueError("boom"), SimulatorError, "ValueError: boom"),
    ]
    for exc, cls, message in cases:
        wire = pickle.loads(pickle.dumps(error_to_wire(exc)))  # what the queue carries
        back = error_from_wire(*wire)
        assert type(back) is cls and str(back) == message
    assert type(error_from_wire("NoSuchError", "x")) is SimulatorError
    assert getattr(error_from_wire("TargetError", "x"), "exit_code", None) == 2  # a usage error: exit 2

"""``FeishuSim`` and in-process delivery, without pytester."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.delivery.inprocess import app_kind
from simulator.engine.faults import FaultSpec
from simulator.errors import ConfigError, NotAcked, OverrideError, TargetError, UnknownEventType, UsageError
from simulator.receiver import ReferenceReceiver
from simulator.testing import FeishuSim, settings_from
from simulator.verdicts.model import Outcome


@pytest.fixture
def sim() -> Iterator[FeishuSim]:
    with FeishuSim.from_options(seed=3) as s:
        yield s


async def _asgi_fn(scope: Any, receive: Any, send: Any) -> None:
    pass


def _wsgi_fn(environ: Any, start_response: Any) -> list[bytes]:
    return []


class _SyncAsgiWrapper:
    def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        return _asgi_fn(scope, receive, send)


@pytest.mark.parametrize(("obj", "kind"), [
    (Starlette(), "asgi"),
    (Flask("k"), "wsgi"),
    (_asgi_fn, "asgi"),
    (_wsgi_fn, "wsgi"),
    (_SyncAsgiWrapper(), "asgi"),
    (lambda: None, None),
    (42, None),
    ("http://x", None),
    (None, None),
    (object(), None),
])
def test_app_kind(obj: object, kind: str | None) -> None:
    assert app_kind(obj) == kind


def test_encrypted_push_into_the_reference_receiver_asgi() -> None:
    rr = ReferenceReceiver(encrypt_key="k", verification_token="t")
    with FeishuSim.from_options(encrypt_key="k", verification_token="t", seed=1) as s:
        d = s.push(rr.app(), overrides={"event.meeting.topic": "Q3 review"})
        assert d.acked and rr.state.events[-1].envelope["event"]["meeting"]["topic"] == "Q3 review"
        assert set(d.last.request_headers) >= {"X-Lark-Signature", "X-Lark-Request-Nonce"} if d.last else False
        bad = s.push(rr.app(), encrypt_key="other", expect_rejected=True)
        plain = s.push(rr.app(), encrypt_key=None, expect_rejected=True)
    assert bad.last is not None and bad.last.status == 401
    assert plain.last is not None and plain.last.status == 400
    assert "X-Lark-Signature" not in plain.last.request_headers
    assert json.loads(plain.last.request_body)["header"]["event_id"] == plain.event_id
    assert s.report() is None


def test_wsgi_app_runs_on_a_thread_and_is_judged_against_the_budget() -> None:
    done = []
    app = Flask("slow")

    @app.post("/webhook/event")
    def slow() -> dict[str, str]:
        time.sleep(0.6)
        done.append(True)
        return {"msg": "success"}

    with FeishuSim.from_options(timeout=0.2) as s:
        d = s.push(app, expect_rejected=True)
        assert done == [True]  # push returns once the handler finished its work
    assert d.last is not None and d.last.outcome is Outcome.TIMEOUT
    assert d.last.latency_ms < 550  # judged at the budget, not when the handler finished
    assert d.last.extra["late_answer"].startswith("HTTP 200 after ")
    assert d.last.detail.startswith("no complete response within 0.2 s; the app answered HTTP 200 after ")


def test_asgi_app_blocking_the_loop_is_still_judged_against_the_budget() -> None:
    async def blocking(request: Request) -> JSONResponse:
        time.sleep(0.4)  # a sync call in an async handler: the client's timer cannot fire meanwhile
        return JSONResponse({"msg": "success"})

    with FeishuSim.from_options(timeout=0.2) as s:
        d = s.push(Starlette(routes=[Route("/webhook/event", blocking, methods=["POST"])]), expect_rejected=True)
    assert d.last is not None and d.last.outcome is Outcome.TIMEOUT and d.last.status == 200
    assert "over the 0.2 s budget (does the app block the event loop?)" in d.last.detail


def test_asgi_app_exception_is_a_500_with_the_error_named(sim: FeishuSim) -> None:
    async def boom(request: Request) -> JSONResponse:
        raise LookupError("no such meeting")

    d = sim.push(Starlette(routes=[Route("/webhook/event", boom, methods=["POST"])]), expect_rejected=True)
    assert d.last is not None and d.last.status == 500
    assert d.last.detail.endswith("app raised LookupError: no such meeting")
    assert d.last.extra["app_exception"] == "LookupError: no such meeting"


def test_bare_wsgi_app_exception_is_a_500(sim: FeishuSim) -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        raise ValueError("broken")

    d = sim.push(app, expect_rejected=True)
    assert d.last is not None and d.last.status == 500 and "app raised ValueError: broken" in d.last.detail


def test_ready_envelope_is_sent_verbatim_and_count_repeats_it(sim: FeishuSim) -> None:
    env = sim.generate(overrides={"event.meeting.topic": "hand-made"})
    rr = ReferenceReceiver()
    ds = sim.push(rr.app(), env, count=2)
    assert [d.event_id for d in ds] == [env["header"]["event_id"]] * 2
    assert [e.duplicate for e in rr.state.events] == [False, True]
    with pytest.raises(ConfigError, match="overrides= applies to generated events"):
        sim.push(rr.app(), env, overrides={"event.meeting.topic": "x"})


def test_assertions(sim: FeishuSim) -> None:
    rr = ReferenceReceiver(verification_token="t")
    ok = sim.push(rr.app(), overrides={"header.token": "t"})
    bad = sim.push(rr.app(), expect_rejected=True)
    assert sim.assert_acked(ok.event_id) is ok
    assert sim.assert_rejected(bad.event_id) is bad
    with pytest.raises(NotAcked, match="1 of 2 deliveries not acked"):
        sim.assert_all_acked()
    with pytest.raises(NotAcked, match="expected a rejection, but the app acked it at attempt 1: acked "):
        sim.assert_rejected(ok.event_id)
    with pytest.raises(NotAcked, match=r"^not acked: exhausted .* status=401 "):
        sim.assert_acked(bad.event_id)
    # Asking about an event that was never pushed is the test's mistake, not the app's: a UsageError.
    with pytest.raises(UsageError) as info:
        sim.assert_rejected("unknown-id")
    assert not isinstance(info.value, NotAcked)
    assert str(info.value) == (f"assert_rejected: no delivery with event_id 'unknown-id' (its 2 pushed event(s): "
                               f"{ok.event_id!r}, {bad.event_id!r}); use the event_id of what push(...) returned")
    with pytest.raises(UsageError, match=r"^assert_acked: no delivery with event_id 'nope'"):
        sim.assert_acked("nope")
    assert [a.event_id for a in sim.attempts] == [ok.event_id, bad.event_id]
    assert sim.unexpected() == [] and sim.report() is None


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda s: s.push(Starlette(), "vc.meeting.nope"), UnknownEventType, "unknown event type 'vc.meeting.nope'"),
    (lambda s: s.push(Starlette(), overrides={"event.nope.x": 1}), OverrideError, "does not exist"),
    (lambda s: s.push(Starlette(), count=0), ConfigError, "count must be an int >= 1, got 0"),
    (lambda s: s.push(Starlette(), path="webhook"), ConfigError, "invalid path 'webhook'"),
    (lambda s: s.push(3.5), ConfigError, "target 3.5 (builtins.float) is neither"),
    (lambda s: s.push_scenario(Starlette(), "no-such-scenario"), UsageError, "no-such-scenario"),
    (lambda s: s.push_scenario(Starlette(), "plain-meeting", runs=0), ConfigError, "runs must be an int >= 1"),
    (lambda s: s.push("ftp://host/x"), ConfigError, "invalid URL 'ftp://host/x'"),
])
def test_bad_push_input(sim: FeishuSim, call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call(sim)
    assert sim.deliveries == []


@pytest.mark.parametrize(("options", "message"), [
    ({"encrypt_kye": "k"}, "unknown option 'encrypt_kye' (did you mean 'encrypt_key'?)"),
    ({"encrypt_key": ""}, "option 'encrypt_key' must be a non-empty string or None, got ''"),
    ({"seed": True}, "option 'seed' must be an int, got True (bool)"),
    ({"retries": -1}, "invalid retries -1: must be >= 0"),
    ({"retries": [15, "x"]}, "invalid option 'retries' 'x': expected a duration such as 10, 10s"),
    ({"retries": [1e400]}, "invalid option 'retries' inf: longer than the limit of 30 days"),
    ({"time_scale": -1}, "option 'time_scale' must be >= 0, got -1"),
    ({"timeout": 0}, "invalid option 'timeout' 0: must be more than 0"),
    ({"connect_timeout": "soon"}, "invalid option 'connect_timeout' 'soon': expected a duration"),
    ({"check_unacked": "no"}, "option 'check_unacked' must be True or False, got 'no' (str)"),
    ({"path": "x"}, "option 'path' must be a path starting with '/', got 'x' (str)"),
    ({"app_id": None}, "option 'app_id' must be a non-empty string, got None"),
    ({"faults": "dup=2"}, "invalid fault dup='2': probability must be in [0, 1]"),
    ({"faults": {"reorder": "x"}}, "invalid faults {'reorder': 'x'}"),
    ({"faults": {"dupe": 0.5}}, "unknown fault 'dupe' (known: dup, dup_new_id,"),
    ({"faults": 0.5}, "option 'faults' must be a fault spec such as 'dup=0.3', a FaultSpec or a dict, got 0.5"),
])
def test_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from(options)
    assert str(info.value).startswith(message)


def test_options_map_onto_the_engine_config() -> None:
    s = settings_from({"retries": [1, 2.5, "1m30s"], "time_scale": None, "app_id": "cli_0123456789abcdef",
                       "timeout": 1, "connect_timeout": "500ms", "accept_2xx": True, "path": "/x",
                       "check_unacked": False})
    assert s.config.retries.delays == (1.0, 2.5, 90.0) and s.config.time_scale is None
    assert s.config.budget.connect_s == 0.5
    assert s.config.app.app_id == "cli_0123456789abcdef" and s.config.budget.total_s == 1.0
    assert s.config.accept_2xx and s.path == "/x" and not s.check_unacked
    assert settings_from({}).config.time_scale == 0.0  # virtual time by default
    assert settings_from({"retries": "feishu"}).config.retries.delays == (15.0, 300.0, 3600.0, 21600.0)
    assert settings_from({"faults": "dup=0.5,reorder=3"}).config.faults == FaultSpec(dup=0.5, reorder=3)
    assert settings_from({"faults": {"drop": 0.25}}).config.faults == FaultSpec(drop=0.25)
    assert not settings_from({}).config.faults.active


def test_push_refuses_to_block_a_running_loop(sim: FeishuSim) -> None:
    async def inside() -> None:
        sim.push(Starlette())

    with pytest.raises(UsageError, match=r"use 'await feishu_sim.apush\(...\)'"):
        asyncio.run(inside())


def test_apush_and_push_share_one_record(sim: FeishuSim) -> None:
    rr = ReferenceReceiver()
    first = asyncio.run(sim.apush(rr.app(), count=2, concurrency=2))
    second = sim.push(rr.app())
    assert sim.deliveries == [*first, second]
    assert len({d.event_id for d in sim.deliveries}) == 3


def test_set_is_a_deprecated_alias_of_overrides(sim: FeishuSim) -> None:
    rr = ReferenceReceiver()
    with pytest.warns(DeprecationWarning, match="set= is deprecated, use overrides="):
        d = sim.push(rr.app(), set={"event.meeting.topic": "old spelling"})
    assert d.envelope["event"]["meeting"]["topic"] == "old spelling"
    with pytest.warns(DeprecationWarning):
        assert sim.generate(set={"event.meeting.topic": "x"})["event"]["meeting"]["topic"] == "x"
    with pytest.warns(DeprecationWarning), pytest.raises(UsageError, match="not both"):
        sim.push(rr.app(), overrides={"event.meeting.topic": "a"}, set={"event.meeting.topic": "b"})


def test_a_platform_that_is_not_running_is_named(sim: FeishuSim) -> None:
    from simulator.platform_server import PlatformServer

    platform = PlatformServer()  # never started
    try:
        with pytest.raises(TargetError, match="the long-connection platform is not running"):
            sim.push(platform)
    finally:
        platform.server.sock.close()
    assert sim.deliveries == []


def test_transcript_option_writes_a_replayable_ndjson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli import main
    from simulator.verdicts.transcript import iter_lines, read_transcript

    path = tmp_path / "feishu.ndjson"
    rr = ReferenceReceiver()
    with FeishuSim.from_options(name="t::x", transcript=path, retries=1, seed=5) as s:
        ok = s.push(rr.app())
        bad = s.push(rr.app(), overrides={"header.token": "unexpected"}, expect_rejected=True)
    kinds = [obj["kind"] for _, obj in iter_lines(path)]
    assert kinds == ["run", "attempt", "delivery", "attempt", "attempt", "delivery"]
    run_line = next(obj for _, obj in iter_lines(path))
    assert run_line["command"] == "pytest" and run_line["test"] == "t::x" and run_line["seed"] == 5
    assert [e.envelope["header"]["event_id"] for e in read_transcript(path)] == [ok.event_id, bad.event_id]
    # Replayed to the built-in receiver; replay re-seals with its own token, so both are taken now.
    assert main(["replay", str(path)]) == 0
    out = capsys.readouterr().out
    assert ok.event_id in out and bad.event_id in out


def test_transcript_option_must_be_a_path() -> None:
    with pytest.raises(ConfigError, match="option 'transcript' must be a file path, got 3"):
        settings_from({"transcript": 3})
    with pytest.raises(ConfigError, match="does not exist"):
        FeishuSim.from_options(transcript="/nonexistent-dir/t.ndjson")


@pytest.mark.parametrize(("keep", "token_in_file"), [(None, "[redacted]"), (False, "[redacted]"), (True, "tok-1")])
def test_transcript_secrets_option_keeps_the_token(tmp_path: Path, keep: bool | None, token_in_file: str) -> None:
    from simulator.verdicts.transcript import iter_lines

    path = tmp_path / "feishu.ndjson"
    options: dict[str, Any] = {"transcript": path, "verification_token": "tok-1", "seed": 5}
    if keep is not None:
        options["transcript_secrets"] = keep
    rr = ReferenceReceiver(verification_token="tok-1")
    with FeishuSim.from_options(**options) as s:
        assert s.push(rr.app()).acked
    lines = [obj for _, obj in iter_lines(path)]
    envelopes = [obj["envelope"] for obj in lines if "envelope" in obj]
    assert envelopes and {e["header"]["token"] for e in envelopes} == {token_in_file}
    assert ("tok-1" in path.read_text()) is (keep is True)
    with pytest.raises(ConfigError, match="option 'transcript_secrets' must be True or False, got 'yes'"):
        settings_from({"transcript_secrets": "yes"})


def test_transcript_secrets_without_a_transcript_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"transcript_secrets=True needs transcript=PATH"):
        settings_from({"transcript_secrets": True})

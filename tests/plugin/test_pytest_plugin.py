"""The pytest plugin, tested only through pytester: real example suites, run in process."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import flask  # noqa: F401
import pytest
import starlette.applications  # noqa: F401
import uvicorn.protocols.http.auto
import uvicorn.protocols.websockets.auto  # noqa: F401

import simulator.platform
import simulator.platform_server
import simulator.pytest_plugin
import simulator.receiver
import simulator.servers  # noqa: F401
from simulator.generation import catalog

try:  # the official SDK: ~2 s to import, so once here rather than in every in-process run
    import lark_oapi.adapter.flask
    import lark_oapi.ws.client  # noqa: F401

    HAVE_LARK = True
except ImportError:  # pragma: no cover - the test extra installs it
    HAVE_LARK = False
needs_lark = pytest.mark.skipif(not HAVE_LARK, reason="lark-oapi is not installed")

pytest_plugins = ["pytester"]

# The project is not necessarily installed: load the plugin explicitly (when it is installed as well, the
# plugin blocks its entry point's name so nothing is registered twice).
# pytester drops the modules first imported during a test (even outside its runs); the imports above keep the
# plugin, the web frameworks and the modules over C extensions that cannot be imported twice loaded once:
# cryptography's bindings, and uvicorn's httptools protocol (re-imported, it no longer catches the
# parser's upgrade exception and refuses every WebSocket upgrade).
# The event families register their types in the catalogue when imported: loaded here, once, so that a run that
# imports one of them directly (the platform's OpenAPI imports the IM family) does not register it again.
catalog.event_types()
# Hypothesis' plugin re-imports hypothesis on every in-process run (~0.7 s): the example suites don't use it.
# Nor do they use pytest-asyncio (only test_apush_under_pytest_asyncio does, configured for it): loaded without
# its options it warns at configure time in every run.
FASTER = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
QUIET = (*FASTER, "-p", "no:asyncio")
PLUGIN = ("-p", "simulator.pytest_plugin", *QUIET)
ROOT = Path(__file__).resolve().parents[2]
SUITES = Path(__file__).resolve().parent / "suites"  # real files, checked by ruff and mypy with the rest


def suite(name: str) -> str:
    """The example suite ``suites/suite_<name>.py``."""
    return (SUITES / f"suite_{name}.py").read_text(encoding="utf-8")


def run(pytester: pytest.Pytester, source: str, *args: str, name: str = "test_suite") -> pytest.RunResult:
    pytester.makepyfile(**{name: source})
    return pytester.runpytest_inprocess(*PLUGIN, *args)


def test_starlette_receiver_suite(pytester: pytest.Pytester) -> None:
    result = run(pytester, suite("starlette"))
    result.assert_outcomes(passed=8)


def test_flask_receiver_suite(pytester: pytest.Pytester) -> None:
    result = run(pytester, suite("flask"))
    result.assert_outcomes(passed=3)


@needs_lark
@pytest.mark.lark_sdk
def test_lark_sdk_receiver_suite(pytester: pytest.Pytester) -> None:
    result = run(pytester, suite("lark_sdk"))
    result.assert_outcomes(passed=3)


def test_live_url_suite(pytester: pytest.Pytester) -> None:
    result = run(pytester, suite("live_url"))
    result.assert_outcomes(passed=2)


def test_unexpected_deliveries_fail_the_test_and_say_why(pytester: pytest.Pytester) -> None:
    result = run(pytester, suite("failing"))
    result.assert_outcomes(passed=1, failed=4, errors=0)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*_ test_unacked_fails _*",
        "feishu_sim: 1 of 1 deliveries did not end as expected (seed=*):",
        "  not acked: exhausted * vc.meeting.share_ended_v1 attempts=1 last=rejected status=500 *"
        'HTTP 500: {"msg":"nope"}',
        "Mark negative tests with push(..., expect_rejected=True), or opt out with "
        "@pytest.mark.feishu(check_unacked=False).",
    ])
    result.stdout.fnmatch_lines([
        "*_ test_unexpected_ack_fails _*",
        "  expected a rejection, but it was acked: acked * attempts=1 last=acked status=200 *",
    ])
    result.stdout.fnmatch_lines(["*_ test_app_exception_is_named _*",
                                 "*last=rejected status=500 *app raised KeyError: 'meeting_id'"])
    # A test that failed on its own reports its own failure only.
    assert "AssertionError: the test's own failure" in out
    # Count in the failure reports only: the short summary repeats messages in full when CI is set.
    failures = out.split("short test summary info")[0]
    assert failures.count("did not end as expected") == 3


def test_same_seed_gives_the_same_events_run_after_run(pytester: pytest.Pytester) -> None:
    source = textwrap.dedent("""
        import pytest
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def ok(request):
            return JSONResponse({"msg": "success"})

        app = Starlette(routes=[Route("/webhook/event", ok, methods=["POST"])])

        def test_default_seed(feishu_sim):
            print("IDS", feishu_sim.seed, [d.event_id for d in feishu_sim.push(app, count=2)])

        @pytest.mark.feishu(seed=7)
        def test_given_seed(feishu_sim):
            print("IDS", feishu_sim.seed, [d.event_id for d in feishu_sim.push(app, count=2)])
    """)
    first = run(pytester, source, "-s")
    second = pytester.runpytest_inprocess(*PLUGIN, "-s")
    ids = [line[line.index("IDS"):] for line in first.stdout.lines if "IDS" in line]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert ids[1].startswith("IDS 7 ")
    assert ids == [line[line.index("IDS"):] for line in second.stdout.lines if "IDS" in line]


def test_transcript_secrets_from_the_marker_and_feishu_config(pytester: pytest.Pytester) -> None:
    """Redacted by default; ``transcript_secrets=True`` (marker or ``feishu_config``) keeps the token."""
    source = textwrap.dedent("""
        import pytest
        from simulator.receiver import ReferenceReceiver

        @pytest.fixture
        def feishu_config(tmp_path):
            return {"verification_token": "tok-2", "transcript": tmp_path / "t.ndjson"}

        def tokens(feishu_sim):
            assert feishu_sim.push(ReferenceReceiver(verification_token="tok-2").app()).acked
            return "tok-2" in open(feishu_sim.settings.transcript).read()

        def test_redacted(feishu_sim):
            assert not tokens(feishu_sim)

        @pytest.mark.feishu(transcript_secrets=True)
        def test_kept(feishu_sim):
            assert tokens(feishu_sim)
    """)
    run(pytester, source).assert_outcomes(passed=2)


def test_marker_is_registered_with_its_signature(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(*PLUGIN, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.feishu(encrypt_key=..., verification_token=..., app_id=...*"
                                 "seed=..., retries=..., faults=...*check_unacked=...): *"])


@pytest.mark.parametrize(("marker", "problem"), [
    ("encrpyt_key='k'", "unknown option 'encrpyt_key' (did you mean 'encrypt_key'?); known: encrypt_key, *"),
    ("retries='sometimes'", "invalid retries 'sometimes': expected feishu, none or a number"),
    ("seed='abc'", "option 'seed' must be an int, got 'abc' (str)"),
    ("faults='explode=1'", "unknown fault 'explode' (known: dup, *"),
    ("'positional'", "takes keywords only, got positional ('positional',)"),
])
def test_bad_marker_is_a_usage_error_naming_the_test(pytester: pytest.Pytester, marker: str, problem: str) -> None:
    source = f"""
        import pytest

        @pytest.mark.feishu({marker})
        def test_configured(feishu_sim):
            pass

        def test_other():
            pass
    """
    result = run(pytester, textwrap.dedent(source))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: test_suite.py::test_configured: @pytest.mark.feishu: {problem}"])
    result.assert_outcomes()


def test_bad_target_and_bad_config_name_the_test(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        def test_target(feishu_sim):
            feishu_sim.push(42)

        def test_not_a_url(feishu_sim):
            feishu_sim.push("localhost:8000/webhook")

        class TestBadConfig:
            @pytest.fixture
            def feishu_config(self):
                return {"encrypt-key": "k"}

            def test_config(self, feishu_sim):
                pass

        @pytest.mark.anyio
        async def test_blocking_push_in_async_test(feishu_sim):
            feishu_sim.push("http://127.0.0.1:9/x")
    """
    result = run(pytester, textwrap.dedent(source))
    result.assert_outcomes(failed=3, errors=1)
    result.stdout.fnmatch_lines([
        "E *simulator.errors.ConfigError: test_suite.py::test_target: target 42 (builtins.int) is neither an "
        "http(s) URL, an ASGI app (async callable (scope, receive, send)) nor a WSGI app (callable "
        "(environ, start_response))",
    ])
    result.stdout.fnmatch_lines(["E *simulator.errors.ConfigError: test_suite.py::test_not_a_url: target "
                                 "'localhost:8000/webhook' is not an http(s) URL*"])
    result.stdout.fnmatch_lines(["E *pytest.UsageError: test_suite.py::TestBadConfig::test_config: "
                                 "feishu_config fixture: unknown option 'encrypt-key' (did you mean 'encrypt_key'?)*"])
    result.stdout.fnmatch_lines(["E *simulator.errors.UsageError: "
                                 "test_suite.py::test_blocking_push_in_async_test[[]asyncio[]]: "
                                 "feishu_sim.push() blocks; inside a running event loop (an async test) use "
                                 "'await feishu_sim.apush(...)'"])


def test_apush_works_in_any_asyncio_loop(pytester: pytest.Pytester) -> None:
    """Not only under anyio's plugin: a bare runner (asyncio.run per test, as pytest-asyncio does)."""
    pytester.makeconftest("""
        import asyncio
        import inspect

        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_pyfunc_call(pyfuncitem):
            if inspect.iscoroutinefunction(pyfuncitem.obj):
                args = {n: pyfuncitem.funcargs[n] for n in pyfuncitem._fixtureinfo.argnames}
                asyncio.run(pyfuncitem.obj(**args))
                return True
            return None
    """)
    source = """
        from flask import Flask

        app = Flask(__name__)

        @app.post("/webhook/event")
        def ok():
            return {"msg": "success"}

        async def test_bare_asyncio(feishu_sim):
            ds = await feishu_sim.apush(app, count=3, concurrency=3)
            assert all(d.acked for d in ds)

        async def test_bare_asyncio_unacked(feishu_sim):
            await feishu_sim.apush(app, path="/missing")
    """
    result = run(pytester, textwrap.dedent(source), "-p", "no:anyio")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*not acked: exhausted * last=rejected status=404 *"])


def test_entry_point_and_explicit_plugin_do_not_clash(pytester: pytest.Pytester) -> None:
    """Installed (pytest11 entry point ``feishu_sim``) and also loaded with ``-p simulator.pytest_plugin``."""
    site = pytester.mkdir("site")
    dist = site / "feishu_sim-0.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: feishu-sim\nVersion: 0.0.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nfeishu_sim = simulator.pytest_plugin\n")
    pytester.makepyfile(test_installed="""
        def test_fixture_available(feishu_sim, request):
            names = [n for n, p in request.config.pluginmanager.list_name_plugin() if p is not None]
            print("PLUGINS", sorted(n for n in names if "feishu" in n or "simulator" in n))
    """)
    env_path = os.pathsep.join([str(site), str(ROOT)])
    pytester._monkeypatch.setenv("PYTHONPATH", env_path)
    explicit = pytester.runpytest_subprocess("-p", "simulator.pytest_plugin", *QUIET, "-s")
    explicit.assert_outcomes(passed=1)
    assert "PLUGINS ['simulator.pytest_plugin']" in explicit.stdout.str()
    auto = pytester.runpytest_subprocess(*QUIET, "-s")
    auto.assert_outcomes(passed=1)
    assert "PLUGINS ['feishu_sim']" in auto.stdout.str()
    disabled = pytester.runpytest_subprocess("-p", "no:feishu_sim", *QUIET)
    disabled.assert_outcomes(errors=1)
    assert sys.executable  # the subprocesses ran with this interpreter


def test_teardown_pushes_and_suite_wide_opt_out(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest
        from starlette.applications import Starlette

        APP = Starlette()  # no routes: every push is a 404

        @pytest.fixture
        def pushes_on_teardown(feishu_sim):
            yield
            feishu_sim.push(APP)
    """)
    source = """
        import pytest
        from conftest import APP

        def test_late_push_is_checked(pushes_on_teardown):
            pass

        class TestSuiteWideOptOut:
            @pytest.fixture
            def feishu_config(self):
                return {"check_unacked": False}

            def test_unacked_allowed(self, feishu_sim):
                assert not feishu_sim.push(APP).acked

            @pytest.mark.feishu(check_unacked=True)
            def test_marker_wins_over_config(self, feishu_sim):
                feishu_sim.push(APP)
    """
    result = run(pytester, textwrap.dedent(source))
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_late_push_is_checked*",
                                 "*not acked: exhausted * status=404 *"])
    result.stdout.fnmatch_lines(["FAILED test_suite.py::TestSuiteWideOptOut::test_marker_wins_over_config*"])


@needs_lark
@pytest.mark.lark_sdk
def test_lark_ws_client_against_feishu_platform(pytester: pytest.Pytester) -> None:
    result = run(pytester, suite("lark_ws"))
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines([
        "*_ test_crash_without_expectation_fails _*",
        "feishu_sim: 1 of 1 deliveries did not end as expected (seed=*):",
        "  not acked: exhausted * vc.meeting.share_ended_v1 attempts=1 last=rejected status=500 * ack code 500",
    ])


def test_apush_under_pytest_asyncio(pytester: pytest.Pytester) -> None:
    """The other common async plugin (a test dependency, not a dependency of the plugin)."""
    source = """
        import pytest
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def ok(request):
            return JSONResponse({"msg": "success"})

        app = Starlette(routes=[Route("/webhook/event", ok, methods=["POST"])])

        @pytest.mark.asyncio
        async def test_asyncio_marker(feishu_sim):
            ds = await feishu_sim.apush(app, count=3, concurrency=3)
            assert all(d.acked for d in ds)
    """
    pytester.makepyfile(test_suite=textwrap.dedent(source))
    # Installed, it is loaded by its entry point; configured as a project using it would configure it.
    pytester.makeini("[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_inprocess("-p", "simulator.pytest_plugin", *FASTER, "-W", "error")
    result.assert_outcomes(passed=1)

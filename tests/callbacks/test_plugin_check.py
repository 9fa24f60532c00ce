"""The plugin's after-test check covers callbacks: a click answered with an invalid body fails the test with
the answer's problem, unless the test expected it; ``assert_toast`` failures read as one line."""

from __future__ import annotations

import pytest
import starlette.applications  # noqa: F401  (imported once: pytester drops modules first imported in a run)

import simulator.pytest_plugin  # noqa: F401

pytest_plugins = ["pytester"]

SUITE = '''
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


def app(answer):
    async def endpoint(request):
        await request.body()
        return JSONResponse(answer)
    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])])


def test_good_click(feishu_sim):
    answer = feishu_sim.click(app({"toast": {"type": "success", "content": "Approved"}}), value={"approve": True})
    assert answer.toast["content"] == "Approved"
    feishu_sim.assert_toast(type="success", content="Approved")


def test_bad_click(feishu_sim):
    feishu_sim.click(app({"toast": {"type": "ok", "content": "Approved"}}))


def test_bad_click_expected(feishu_sim):
    answer = feishu_sim.click(app({"toast": {"type": "ok"}}), expect_rejected=True)
    assert not answer.valid


def test_wrong_toast(feishu_sim):
    feishu_sim.click(app({"toast": {"type": "info", "content": "x"}}))
    feishu_sim.assert_toast(type="success")
'''


def test_bad_answers_fail_the_test_with_their_problem(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_inprocess("-p", "simulator.pytest_plugin", "-p", "no:cacheprovider",
                                          "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*_ test_bad_click _*",
        "feishu_sim: 1 of 1 deliveries did not end as expected (seed=*):",
        "  not answered validly: bad_answer * card.action.trigger status=200 *ms "
        "toast.type 'ok' is not one of info|success|warning|error",
    ])
    result.stdout.fnmatch_lines(["*BadAnswer: expected a success toast, got info: toast info \"x\""])

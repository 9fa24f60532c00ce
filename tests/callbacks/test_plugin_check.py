"""The plugin's after-test check covers callbacks: a click answered with an invalid body fails the test with
the answer's problem, unless the test expected it; ``assert_toast`` failures read as one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin.test_pytest_plugin import PLUGIN

pytest_plugins = ["pytester"]

SUITE = Path(__file__).resolve().parent / "suites" / "suite_clicks.py"


def test_bad_answers_fail_the_test_with_their_problem(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE.read_text(encoding="utf-8"))
    result = pytester.runpytest_inprocess(*PLUGIN)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*_ test_bad_click _*",
        "feishu_sim: 1 of 1 deliveries did not end as expected (seed=*):",
        "  not answered validly: bad_answer * card.action.trigger status=200 *ms "
        "toast.type 'ok' is not one of info|success|warning|error",
    ])
    result.stdout.fnmatch_lines(["*BadAnswer: expected a success toast, got info: toast info \"x\""])

"""What a user sees when a test fails (failures that explain themselves), quoted from real runs of suites
written the way the README teaches (``suites/suite_explained.py``, ``suites/suite_subscribed.py``), with
pytester (in process)."""

from __future__ import annotations

import pytest

from tests.plugin.test_pytest_plugin import HAVE_LARK, run, suite

pytest_plugins = ["pytester"]


def test_each_failure_says_what_happened(pytester: pytest.Pytester) -> None:
    result = run(pytester, suite("explained"))
    result.assert_outcomes(passed=21, failed=6)
    out = result.stdout.str()
    # 1. The README's own assertion fails first: the Delivery's repr leads with the verdict, and the report
    #    section lists every delivery of the test.
    result.stdout.fnmatch_lines([
        "*_ test_the_readme_assertion_names_the_timeout _*",
        "E        +  where False = Delivery(timeout after 1 attempt: no complete response within 0.1 s; the app "
        "answered HTTP 200 after 3?? ms, too late, event_id='*', type='vc.meeting.share_ended_v1').acked",
        "*- feishu_sim deliveries -*",
        "feishu_sim: 1 delivery (seed=*, retries=none, faults=none); ! = not as expected",
        "!  1. * vc.meeting.share_ended_v1: timeout after 1 attempt: no complete response within 0.1 s; the app "
        "answered HTTP 200 after * ms, too late",
    ])
    # 2. Lost acks are the drop fault's doing, never the app's: shown, not failed.
    result.stdout.fnmatch_lines([
        "*_ test_own_failure_shows_the_lost_deliveries _*",
        "E       AssertionError: the test's own failure",
        "*- feishu_sim deliveries -*",
        "feishu_sim: 1 delivery (seed=1, retries=none, faults=drop=1); ! = not as expected",
        "   1. * vc.meeting.share_ended_v1: lost by the drop fault after 1 attempt (the app acked it; the platform "
        "lost the answer)",
    ])
    assert "test_a_correct_receiver_is_never_blamed_for_lost_acks" not in out
    # 4. Redeliveries and duplicates are named.
    result.stdout.fnmatch_lines([
        "*_ test_a_refused_duplicate_is_named _*",
        "feishu_sim: 1 of 2 deliveries did not end as expected (seed=*):",
        '  not acked: exhausted * attempts=1 last=rejected status=500 * HTTP 500: {"msg":"already handled"}',
        "    a redelivery of event *, already acked at attempt 1 (same event_id: the platform delivers at least once, "
        "fault dup); the app must answer 200 to a duplicate, and may skip its work",
    ])
    result.stdout.fnmatch_lines([
        "*_ test_a_refused_retry_after_a_lost_ack_is_named _*",
        "feishu_sim: * of 6 deliveries did not end as expected (seed=5):",
        "    attempt 2 was a redelivery of an event already acked at attempt 1 (the drop fault lost that ack); it "
        'ended rejected: HTTP 500: {"msg":"already handled"}',
    ])
    result.stdout.fnmatch_lines([
        "*_ test_asking_about_an_event_never_pushed _*",
        "E *simulator.errors.UsageError: test_suite.py::test_asking_about_an_event_never_pushed: assert_rejected: no "
        "delivery with event_id 'unknown-id' (its 1 pushed event(s): '*'); use the event_id of what push(...) returned",
    ])
    # The platform's own pushes are checked after the test, like feishu_sim's.
    result.stdout.fnmatch_lines([
        "*_ test_the_platform_pushes_are_checked_too _*",
        "feishu_platform: 1 of 1 deliveries did not end as expected (seed=*):",
        "  not acked: exhausted * last=not_delivered * no connection of app cli_* online",
        "For negative tests push with feishu_sim.push(feishu_platform, ..., expect_rejected=True), or opt out with "
        "@pytest.mark.feishu(check_unacked=False).",
    ])
    # A failure that is the check itself lists the deliveries once, not again in a section.
    failures = out.split("short test summary info")[0]
    assert failures.count("- feishu_sim deliveries -") == 3  # the timeout, the own failure, the unknown id


@pytest.mark.skipif(not HAVE_LARK, reason="lark-oapi is not installed")
@pytest.mark.lark_sdk
def test_the_official_clients_and_subscribed_types(pytester: pytest.Pytester) -> None:
    result = run(pytester, suite("subscribed"))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*_ test_a_whole_scenario_to_an_app_that_subscribes_to_two_types _*",
        "feishu_sim: 10 of 12 deliveries did not end as expected (seed=*):",
        '  not acked: exhausted * vc.meeting.join_meeting_v1 attempts=1 last=rejected status=500 * HTTP 500: '
        '{"msg":"processor not found, type: vc.meeting.join_meeting_v1"}',
        "    the app registered no handler for this type (lark-oapi's answer): push_scenario(..., only=[...]) limits "
        "a scenario to the types the app subscribes to",
    ])

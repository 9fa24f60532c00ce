"""The one ack rule (``simulator.verdicts.ack``), and the faces that judge answers with it."""

from __future__ import annotations

import pytest

from simulator.audit import Answer
from simulator.verdicts.ack import code_acked, http_acked, judge_status
from simulator.verdicts.model import Outcome
from simulator.wire.frames import Ack

STATUSES = [100, 199, 200, 201, 204, 299, 300, 302, 400, 404, 500, 503]


@pytest.mark.parametrize("status", STATUSES)
def test_http_200_only_unless_accept_2xx(status: int) -> None:
    assert http_acked(status) is (status == 200)
    assert http_acked(status, accept_2xx=True) is (200 <= status < 300)
    for accept_2xx in (False, True):
        expected = Outcome.ACKED if http_acked(status, accept_2xx=accept_2xx) else Outcome.REJECTED
        assert judge_status(status, accept_2xx=accept_2xx) is expected


@pytest.mark.parametrize(("code", "acked"), [(200, True), (0, False), (201, False), (500, False), (None, False)])
def test_long_connection_ack_code(code: int | None, acked: bool) -> None:
    assert code_acked(code) is acked
    assert Ack(message_id="m", code=code).ok is acked


@pytest.mark.parametrize("status", [*STATUSES, None])
def test_audit_reads_answers_with_the_same_rule(status: int | None) -> None:
    a = Answer(Outcome.REJECTED, status=status)
    assert a.acked is (status is not None and http_acked(status))
    assert a.accepted is (status is not None and http_acked(status, accept_2xx=True))

"""The security audit of a webhook receiver (``feishu-sim audit``): ``cases`` builds the requests and how each
answer is graded, ``redelivery`` the business-key redelivery case, ``run`` sends them and writes the report."""

from __future__ import annotations

from simulator.audit.cases import Answer, Case, CaseBuilder, CaseResult, Grade, Report
from simulator.audit.redelivery import HandledProbe
from simulator.audit.run import run_audit

__all__ = ["Answer", "Case", "CaseBuilder", "CaseResult", "Grade", "HandledProbe", "Report", "run_audit"]

"""``feishu-sim audit URL``: a security report card for a webhook receiver (see ``simulator/audit.py``).

Exit 0 when no case FAILs (ADVISORY cases do not fail the audit), 1 otherwise, 2 on bad input or an
unreachable URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from simulator import constants as C
from simulator.audit import Grade, run_audit
from simulator.cli._common import Parser, add_app_options, add_budget_options, app_profile, seed_int
from simulator.cli.push import probe
from simulator.config import Budget
from simulator.delivery.webhook import check_url
from simulator.errors import ConfigError
from simulator.generation import catalog


def add_parser(sub: Any) -> None:
    p: Parser = sub.add_parser(
        "audit", help="grade a webhook receiver's security (forged, malformed and replayed requests; callbacks' "
                      "answers)",
        description="Send a valid event, forged and malformed requests, a challenge with a wrong token, stale, "
                    "replayed and duplicate requests; grade each PASS / FAIL / ADVISORY. Exit 0 iff nothing FAILs.")
    p.add_argument("url", metavar="URL")
    p.add_argument("--event-type", default=C.DEFAULT_EVENT_TYPE,
                   help=f"event type of the valid events (default {C.DEFAULT_EVENT_TYPE}); a callback "
                        "(card.action.trigger, url.preview.get) also grades its answers: validity, size, latency")
    p.add_argument("--legacy-card", action="store_true",
                   help="audit a legacy card request URL: SHA-1 signature cases (another token, the event "
                        "algorithm, none, a tampered body), its challenge, and its answers")
    add_budget_options(p, connect=False)
    p.add_argument("--seed", type=seed_int, default=None, help="seed for the generated events, nonces and IVs")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_app_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_url(args.url)
    catalog.get(args.event_type)
    app = app_profile(args)
    if args.legacy_card and not app.verification_token:
        raise ConfigError("audit --legacy-card needs --verification-token (what the receiver is configured with)")
    if not args.legacy_card and (not app.encrypt_key or not app.verification_token):
        raise ConfigError("audit needs --encrypt-key and --verification-token (what the receiver is configured with)")
    budget = Budget(connect_s=min(C.WEBHOOK_CONNECT_BUDGET_S, args.timeout), total_s=args.timeout)

    async def main() -> Any:
        await probe(args.url, budget.connect_s)
        return await run_audit(args.url, app, event_type=args.event_type, seed=args.seed, budget=budget,
                               legacy_card=args.legacy_card)

    report = asyncio.run(main())
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for r in report.results:
            print(r.line())
        print(report.summary_line(), file=sys.stderr)
    return 0 if report.count(Grade.FAIL) == 0 else 1

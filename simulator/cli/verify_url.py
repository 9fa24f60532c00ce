"""``feishu-sim verify-url URL``: send the URL-verification challenge and check the answer."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from simulator import constants as C
from simulator.cli._common import Parser, add_app_options, app_profile, positive_duration, seed_int
from simulator.cli.push import probe
from simulator.delivery.webhook import check_url
from simulator.rand import SimRandom
from simulator.verify import Check, verify_url


def add_parser(sub: Any) -> None:
    p: Parser = sub.add_parser("verify-url", help="send the URL-verification challenge and check the reply",
                               description="Send {challenge, token, type: url_verification} (encrypted when an "
                                           "encrypt key is given) and check HTTP 200, the echoed challenge "
                                           "and the 1 s budget.")
    p.add_argument("url", metavar="URL")
    p.add_argument("--seed", type=seed_int, default=None, help="seed for the challenge value, nonce and IV")
    p.add_argument("--timeout", type=positive_duration, default=C.WEBHOOK_TOTAL_BUDGET_S,
                   help=f"how long to wait for an answer: seconds, or a duration such as 500ms (default "
                        f"{C.WEBHOOK_TOTAL_BUDGET_S:g}; the check still wants one within {C.CHALLENGE_BUDGET_S:g} s)")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.add_argument("--legacy-card", action="store_true",
                   help="a legacy card request URL: its plaintext challenge {challenge, type, token}")
    add_app_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_url(args.url)
    app = app_profile(args)

    async def main() -> list[Check]:
        # A receiver that cannot be reached at all is exit 2 with one line, as for push, audit and load.
        await probe(args.url, min(C.WEBHOOK_CONNECT_BUDGET_S, args.timeout))
        return await verify_url(args.url, token=app.verification_token, encrypt_key=app.encrypt_key,
                                rand=SimRandom(args.seed), timeout_s=args.timeout,
                                legacy_card=args.legacy_card)

    checks = asyncio.run(main())
    if args.json:
        print(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        for c in checks:
            print(c.line())
    return 0 if all(c.ok for c in checks) else 1

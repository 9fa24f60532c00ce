"""``feishu-sim verify-url URL``: send the URL-verification challenge and check the answer."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from simulator.cli._common import Parser, add_app_options, app_profile, seed_int
from simulator.delivery.webhook import check_url
from simulator.rand import SimRandom
from simulator.verify import verify_url


def add_parser(sub: Any) -> None:
    p: Parser = sub.add_parser("verify-url", help="send the URL-verification challenge and check the reply",
                               description="Send {challenge, token, type: url_verification} (encrypted when an "
                                           "encrypt key is given) and check HTTP 200, the echoed challenge "
                                           "and the 1 s budget.")
    p.add_argument("url", metavar="URL")
    p.add_argument("--seed", type=seed_int, default=None)
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.add_argument("--legacy-card", action="store_true",
                   help="a legacy card request URL: its plaintext challenge {challenge, type, token}")
    add_app_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_url(args.url)
    app = app_profile(args)
    checks = asyncio.run(verify_url(args.url, token=app.verification_token, encrypt_key=app.encrypt_key,
                                    rand=SimRandom(args.seed), legacy_card=args.legacy_card))
    if args.json:
        print(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        for c in checks:
            print(c.line())
    return 0 if all(c.ok for c in checks) else 1

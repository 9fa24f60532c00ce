"""``feishu-sim receive``: run the reference receiver in the foreground."""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from simulator.cli._common import (
    Parser,
    app_profile,
    check_output_dir,
    eprint,
    port_number,
    positive_duration,
    positive_int,
    write_ready_file,
)
from simulator.http_limits import DEFAULT_HEADER_TIMEOUT_S, MAX_CONNECTIONS
from simulator.receiver import DEFAULT_MAX_BODY


def add_parser(sub: Any) -> None:
    p: Parser = sub.add_parser("receive", help="run the built-in reference receiver",
                               description="A correct Feishu webhook receiver: decrypts, verifies the signature "
                                           "and token, answers the challenge, dedupes on event_id.")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=9000, help="listen port, 0 for a free one (default 9000)")
    p.add_argument("--encrypt-key", default=None, help="default: $FEISHU_ENCRYPT_KEY")
    p.add_argument("--verification-token", default=None, help="default: $FEISHU_VERIFICATION_TOKEN")
    p.add_argument("--ready-file", default=None, help="write the base URL to this file once listening")
    p.add_argument("--max-body", type=positive_int, default=DEFAULT_MAX_BODY, metavar="BYTES",
                   help="refuse larger bodies with 413 as soon as they exceed it (default: %(default)s)")
    p.add_argument("--header-timeout", type=positive_duration, default=DEFAULT_HEADER_TIMEOUT_S, metavar="DURATION",
                   help="close a connection whose request headers are not complete within it: seconds or e.g. 500ms "
                        "(default: %(default)s)")
    p.add_argument("--max-connections", type=positive_int, default=None, metavar="N",
                   help=f"open connections at most; over it the one waiting longest for its headers is closed "
                        f"(default: {MAX_CONNECTIONS}, or fewer as the open-files limit requires)")
    p.set_defaults(func=run, app_id=None, tenant_key=None)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from simulator.http_limits import DoorLimits
    from simulator.receiver import ReferenceReceiver
    from simulator.servers import serving

    app = app_profile(args)
    if args.ready_file:
        check_output_dir(args.ready_file, "--ready-file")
    receiver = ReferenceReceiver(encrypt_key=app.encrypt_key, verification_token=app.verification_token,
                                 max_body=args.max_body, verbose=True)
    limits = DoorLimits(header_timeout_s=args.header_timeout, max_connections=args.max_connections)

    async def main() -> None:
        async with serving(receiver.app(), args.host, args.port, limits=limits) as url:
            if args.ready_file:
                write_ready_file(args.ready_file, url + "\n")
            eprint(f"reference receiver listening on {url} (POST any path)")
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0

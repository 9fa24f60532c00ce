"""``feishu-sim replay TRANSCRIPT [URL]``: resend the events a transcript recorded.

Each recorded delivery is re-sealed at the current time -- new timestamp, nonce, IV and signature, the
way the platform's own retries are -- and pushed again through the engine (retries and faults as for
``push``). The event_id stays the same, so a receiver sees exactly what a late platform retry looks like,
unless ``--new-event-ids`` asks for fresh ones. Like the seal, ``header.token`` belongs to the app given
on this command line (``--verification-token`` / ``$FEISHU_VERIFICATION_TOKEN``; empty without one, as
for ``push``), so a transcript recorded against one app configuration can be replayed against another.
Without a URL the reference receiver (configured with the same keys) receives them.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

from simulator import constants as C
from simulator.cli._common import Parser, add_app_options, seed_int
from simulator.cli.push import add_delivery_options, deliver_all, delivery_config
from simulator.delivery.webhook import check_url
from simulator.engine import runtime
from simulator.engine.core import Simulator
from simulator.errors import UsageError
from simulator.verdicts.transcript import TranscriptWriter, read_transcript


def add_parser(sub: Any) -> None:
    p: Parser = sub.add_parser(
        "replay", help="re-seal and resend the events recorded in a transcript",
        description="Resend every delivery recorded in an NDJSON transcript (push --transcript), sealed afresh at "
                    "the current time. Without a URL the built-in reference receiver receives them.")
    p.add_argument("transcript_path", metavar="TRANSCRIPT", help="an NDJSON transcript written by push --transcript")
    p.add_argument("url", nargs="?", default=None, metavar="URL", help="target URL (default: reference receiver)")
    p.add_argument("--new-event-ids", action="store_true",
                   help="give every replayed event a fresh event_id (default: keep the recorded one)")
    p.add_argument("--seed", type=seed_int, default=None, help="seed for nonces, IVs and new event ids")
    add_app_options(p)
    add_delivery_options(p)
    p.set_defaults(func=run, locale=C.DEFAULT_LOCALE, no_validate=True)


def prepare(envelopes: list[dict[str, Any]], sim: Simulator, *, new_ids: bool, token: str,
            app_id: str | None = None, tenant_key: str | None = None) -> list[dict[str, Any]]:
    """Copies of the recorded envelopes addressed to the current app (``app_id`` / ``tenant_key`` only
    when given explicitly)."""
    out = []
    for env in envelopes:
        env = copy.deepcopy(env)
        header = env.setdefault("header", {})
        if new_ids:
            header["event_id"] = sim.factory.new_event_id()
        header["token"] = token
        if app_id is not None:
            header["app_id"] = app_id
        if tenant_key is not None:
            header["tenant_key"] = tenant_key
        out.append(env)
    return out


def run(args: argparse.Namespace) -> int:
    if args.url is not None:
        check_url(args.url)
    if args.transcript and Path(args.transcript).resolve() == Path(args.transcript_path).resolve():
        raise UsageError("--transcript must not be the transcript being replayed")
    config = delivery_config(args)  # bad options first, then the file
    recorded = read_transcript(args.transcript_path)
    transcript = TranscriptWriter(args.transcript) if args.transcript else None
    return runtime.run(_run(args, config, [r.envelope for r in recorded], transcript))


async def _run(args: argparse.Namespace, config: Any, envelopes: list[dict[str, Any]],
               transcript: TranscriptWriter | None) -> int:
    sim = Simulator(config, transcript=transcript)
    envs = prepare(envelopes, sim, new_ids=args.new_event_ids, token=config.app.verification_token or "",
                   app_id=args.app_id, tenant_key=args.tenant_key)
    return await deliver_all(args, args.url, sim, envs, transcript, replayed_from=str(args.transcript_path),
                             count=len(envs))

"""``feishu-sim push``: generate, seal and deliver events; print a verdict line per event."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any
from urllib.parse import urlsplit

from simulator import __version__
from simulator import constants as C
from simulator.cli._common import (
    Parser,
    add_app_options,
    add_budget_options,
    add_generation_options,
    eprint,
    non_negative_duration,
    non_negative_float,
    overrides,
    positive_int,
    sim_config,
)
from simulator.cli._scenario import add_scenario_options, list_scenarios, load_scenario
from simulator.cli.generate import parse_time
from simulator.config import RetryPolicy, SimConfig
from simulator.delivery import DeliveryChannel
from simulator.delivery.legacy_card import LegacyCardChannel
from simulator.delivery.webhook import check_url
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.errors import TargetError, UsageError
from simulator.generation import catalog
from simulator.generation.families.callbacks.legacy import CLICK, LEGACY_TYPE, legacy_request
from simulator.generation.overrides import parse_assignments
from simulator.verdicts.model import Delivery
from simulator.verdicts.transcript import TranscriptWriter

DEFAULT_WAIT_REPLIES = 2.0  # seconds; the wait ends early once every event has an answer and the bot is quiet


def add_delivery_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("delivery")
    g.add_argument("--concurrency", "-c", type=positive_int, default=1, help="events in flight at once (default 1)")
    add_budget_options(g)
    g.add_argument("--accept-2xx", action="store_true", help="count any 2xx as acked (the platform wants 200)")
    g.add_argument("--retries", default=None, metavar="feishu|none|N",
                   help="retry ladder: feishu (15 s, 5 min, 1 h, 6 h), none (default: one attempt per event), "
                        "or the first N steps of the ladder")
    g.add_argument("--time-scale", type=non_negative_float, default=None,
                   help="virtual clock: 0 runs the retry ladder instantly, 0.001 compresses it, 1 is real time "
                        "(default: 0 when --retries or --faults make the platform wait, else real time)")
    g.add_argument("--at", type=parse_time, default=None, metavar="TIME",
                   help="platform time of the run's start (epoch seconds or ISO 8601; default now); with --seed "
                        "and --time-scale 0 the transcript is then the same on every run")
    g.add_argument("--faults", default=None, metavar="SPEC",
                   help="seeded delivery faults, e.g. dup=0.1,dup_new_id=0.05,reorder=5,delay=200ms..2s,drop=0.1,"
                        "burst=50 (see docs/faults.md); --seed makes them repeatable")
    g.add_argument("--legacy-card", action="store_true",
                   help="deliver card.action.trigger clicks to a legacy card request URL: the flat body signed "
                        "with SHA-1 and the verification token, answered with the replacement card "
                        "(card.action.trigger_v1 as the event type means the same)")
    g.add_argument("--json", action="store_true", help="print a machine-readable summary instead of lines")
    g.add_argument("--transcript", default=None, metavar="FILE", help="write every attempt as NDJSON to FILE")
    g = p.add_argument_group("long connection")
    g.add_argument("--platform", default=None, metavar="DOMAIN",
                   help="push through a running `feishu-sim serve` platform (e.g. http://127.0.0.1:9001) to its "
                        "connected SDK clients; with a URL too, the platform makes the events from its world and "
                        "delivers them to that webhook (a bot whose OpenAPI base is the platform can answer them)")
    g.add_argument("--wait-replies", type=non_negative_duration, default=DEFAULT_WAIT_REPLIES, metavar="DURATION",
                   help="with --platform: wait up to this long for the bot's OpenAPI calls about the events and "
                        "print them under each verdict (default 2s; 0: only those already made)")
    g.add_argument("--control-token", default=None,
                   help="the platform's control token (default $FEISHU_SIM_CONTROL_TOKEN)")


def add_parser(sub: Any) -> None:
    p: Parser = sub.add_parser(
        "push", help="push events to a webhook receiver (the built-in reference receiver when no URL)",
        description="Push sealed events to a webhook URL. Without a URL the built-in reference receiver is "
                    "started on a free loopback port and receives them.")
    p.add_argument("args", nargs="*", metavar="[URL] [EVENT_TYPE]",
                   help=f"target URL and/or event type (default {C.DEFAULT_EVENT_TYPE})")
    add_generation_options(p)
    p.add_argument("--param", dest="params", action="append", default=[], metavar="NAME=VALUE",
                   help="an input of the event's generator (JSON-typed like --set), e.g. --param chat_type=group "
                        "--param mention_bot=true --param text=hi for im.message.receive_v1 (docs/events.md)")
    add_scenario_options(p)
    add_app_options(p)
    add_delivery_options(p)
    p.set_defaults(func=run)


def split_positionals(items: list[str]) -> tuple[str | None, str]:
    url: str | None = None
    event_type: str | None = None
    for item in items:
        if "://" in item or item.startswith(("localhost", "127.")):
            if url is not None:
                raise UsageError(f"more than one URL given: {url!r} and {item!r}")
            url = item
        else:
            if event_type is not None:
                raise UsageError(f"more than one event type given: {event_type!r} and {item!r}")
            event_type = item
    return url, event_type or C.DEFAULT_EVENT_TYPE


async def probe(url: str, timeout: float = C.WEBHOOK_CONNECT_BUDGET_S) -> None:
    """Fail fast (exit 2) when the target cannot be reached at all."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except asyncio.TimeoutError:
        raise TargetError(f"cannot reach {host}:{port}: connect timed out after {timeout:g} s") from None
    except OSError as exc:
        raise TargetError(f"cannot reach {host}:{port}: {exc.strerror or exc}") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def legacy_card_mode(args: argparse.Namespace, event_type: str) -> str:
    """``card.action.trigger_v1`` is ``card.action.trigger --legacy-card``; ``--legacy-card`` takes clicks only,
    over a webhook. Returns the event type to generate."""
    if event_type == LEGACY_TYPE:
        args.legacy_card = True
        event_type = CLICK
    if getattr(args, "legacy_card", False):
        if getattr(args, "platform", None) is not None:
            raise UsageError("--legacy-card needs a webhook URL: the long connection does not carry the legacy "
                             "card request")
        if getattr(args, "scenario", None) is not None or event_type != CLICK:
            raise UsageError(f"--legacy-card delivers {CLICK} clicks, not {args.scenario or event_type}")
    return event_type


def check_legacy(envelopes: list[dict[str, Any]]) -> None:
    """Every envelope is a click (what a legacy card request can carry): else exit 2 before any request."""
    for env in envelopes:
        legacy_request(env)


def render(deliveries: list[Delivery], sim: Simulator, *, as_json: bool, target: str) -> None:
    """Every delivery of the run (fault-injected duplicates included), then the summary."""
    if as_json:
        doc = {
            "target": target,
            "seed": sim.rand.seed,
            "summary": sim.summary().to_json(),
            "deliveries": [d.to_json() for d in deliveries],
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        for d in deliveries:
            suffix = "" if d.origin == "event" else f" ({d.origin} of {d.duplicate_of})"
            print(d.summary_line + suffix)
        s = sim.summary()
        dups = f", {s.duplicates} duplicates" if s.duplicates else ""
        print(f"{s.acked}/{s.total} acked ({s.attempts} attempts{dups}) -> {target}", file=sys.stderr)


def effective_time_scale(args: argparse.Namespace) -> float | None:
    """``--time-scale`` if given; otherwise instant virtual time when the run has waits in it (a retry
    ladder or faults), else real time."""
    if args.time_scale is not None:
        return float(args.time_scale)
    waits = RetryPolicy.parse(args.retries).delays or FaultSpec.parse(args.faults).active
    return 0.0 if waits else None


def delivery_config(args: argparse.Namespace) -> SimConfig:
    return sim_config(args, time_scale=effective_time_scale(args), start_time=args.at)


def run_info(args: argparse.Namespace, config: SimConfig, sim: Simulator, target: str, **extra: Any) -> dict[str, Any]:
    """The transcript's first line: what is needed to understand (and repeat) the run; no secrets."""
    return {"tool": f"feishu-sim {__version__}", "command": args.command, "target": target, "channel": "webhook",
            "seed": sim.rand.seed, "retries": list(config.retries.delays), "faults": str(config.faults),
            "time_scale": config.time_scale, "start": sim.clock.now(), "app_id": config.app.app_id,
            "encrypted": config.app.encrypt_key is not None, **extra}


async def deliver_all(args: argparse.Namespace, url: str | None, sim: Simulator, envelopes: list[dict[str, Any]],
                      transcript: TranscriptWriter | None, **info: Any) -> int:
    """Push ``envelopes`` to ``url`` (or to a reference receiver started here), render, return the exit code."""
    from simulator.receiver import ReferenceReceiver
    from simulator.servers import serving

    config = sim.config
    legacy = bool(getattr(args, "legacy_card", False))
    if legacy:
        check_legacy(envelopes)
        info["legacy_card"] = True
    try:
        if url is None:
            receiver = ReferenceReceiver(encrypt_key=config.app.encrypt_key,
                                         verification_token=config.app.verification_token)
            async with serving(receiver.app()) as base:
                target = base + ("/webhook/card" if legacy else C.DEFAULT_WEBHOOK_PATH)
                eprint(f"no URL given: pushing to the built-in reference receiver at {target}")
                if transcript is not None:
                    transcript.run(run_info(args, config, sim, target, **info))
                await _push(sim, target, envelopes, args.concurrency, legacy=legacy)
        else:
            await probe(url, config.budget.connect_s)
            target = url
            if transcript is not None:
                transcript.run(run_info(args, config, sim, target, **info))
            await _push(sim, target, envelopes, args.concurrency, legacy=legacy)
    finally:
        if transcript is not None:
            transcript.close()
    render(sim.deliveries, sim, as_json=args.json, target=target)
    return 0 if all(d.acked for d in sim.deliveries) else 1


def run(args: argparse.Namespace) -> int:
    url, event_type = split_positionals(args.args)
    event_type = legacy_card_mode(args, event_type)
    if args.list_scenarios:
        return list_scenarios()
    load_scenario(args, next((a for a in args.args if a != url), None))  # bad scenario -> exit 2, before any I/O
    if args.platform is not None:
        from simulator.cli.push_platform import run_platform

        return run_platform(args, event_type, url)
    catalog.get(event_type)
    if url is not None:
        check_url(url)
    config = delivery_config(args)
    ov = overrides(args)
    sim_probe = Simulator(config)
    # Validate overrides (and everything else) before touching the network or the transcript file.
    params = parse_assignments(args.params) or None
    sim_probe.generate(event_type, overrides=ov, params=params)
    transcript = TranscriptWriter(args.transcript) if args.transcript else None
    return asyncio.run(_run(args, url, event_type, ov, config, transcript, params))


async def _run(args: argparse.Namespace, url: str | None, event_type: str, ov: dict[str, Any], config: SimConfig,
               transcript: TranscriptWriter | None, params: dict[str, Any] | None = None) -> int:
    sim = Simulator(config, transcript=transcript)
    if args.scenario is not None:  # in scenario order; --concurrency may still overlap deliveries
        envelopes = sim.generate_scenario(args.scenario, runs=args.count)
    else:
        envelopes = sim.generate_many(event_type, args.count, overrides=ov, params=params)
    return await deliver_all(args, url, sim, envelopes, transcript, event_type=event_type, count=args.count)


async def _push(sim: Simulator, url: str, envelopes: list[dict[str, Any]], concurrency: int, *,
                legacy: bool = False) -> list[Delivery]:
    async with sim.webhook(url) as inner:
        channel: DeliveryChannel = LegacyCardChannel(inner, sim.config.app.verification_token) if legacy else inner
        return await sim.push(channel, envelopes, concurrency=concurrency)

"""``feishu-sim push``: generate, seal and deliver events; print a verdict line per event."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Iterable, Iterator
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
    overrides,
    positive_int,
    sim_config,
    time_scale,
)
from simulator.cli._interrupt import Stop, run_interruptible
from simulator.cli._scenario import add_scenario_options, list_scenarios, load_scenario
from simulator.cli.generate import parse_time
from simulator.clock import is_instant
from simulator.config import RetryPolicy, SimConfig
from simulator.delivery import DeliveryChannel
from simulator.delivery.legacy_card import LegacyCardChannel
from simulator.delivery.webhook import check_url
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.engine.sources import Released, Source
from simulator.errors import SimulatorError, TargetError, UsageError
from simulator.generation import catalog
from simulator.generation.families.callbacks.legacy import CLICK, LEGACY_TYPE, legacy_request
from simulator.generation.overrides import parse_assignments
from simulator.verdicts.model import Delivery, DeliveryLog
from simulator.verdicts.transcript import TranscriptWriter

DEFAULT_WAIT_REPLIES = 2.0  # seconds; the wait ends early once every event has an answer and the bot is quiet


def add_delivery_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("delivery")
    g.add_argument("--concurrency", "-c", type=positive_int, default=None,
                   help="events in flight at once (default 1; with --platform 16 per connected client, at most 1024)")
    add_budget_options(g)
    g.add_argument("--accept-2xx", action="store_true", help="count any 2xx as acked (the platform wants 200)")
    g.add_argument("--retries", default=None, metavar="feishu|none|N",
                   help="retry ladder: feishu (15 s, 5 min, 1 h, 6 h), none (default: one attempt per event), "
                        "or the first N steps of the ladder")
    g.add_argument("--time-scale", type=time_scale, default=None,
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
    g.add_argument("--transcript", default=None, metavar="FILE",
                   help="write every attempt as NDJSON to FILE (the verification token is redacted)")
    g.add_argument("--transcript-secrets", action="store_true",
                   help="keep the verification token in the transcript's envelopes and request bodies")
    g.add_argument("--keep-deliveries", type=positive_int, default=100_000, metavar="N",
                   help="with --json: list the newest N deliveries only (default 100,000); the summary counts "
                        "every delivery and the transcript records them all")
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


def check_legacy(envelopes: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every envelope is a click (what a legacy card request can carry), checked as it is made."""
    for env in envelopes:
        legacy_request(env)
        yield env


class Verdicts:
    """Prints each delivery's verdict line as it ends (text mode) and the summary at the end, also when
    the run is interrupted or fails half-way."""

    def __init__(self, sim: Simulator, *, as_json: bool) -> None:
        self.sim = sim
        self.as_json = as_json
        if not as_json:
            sim.on_delivery.append(self.ended)

    def ended(self, d: Delivery) -> None:
        suffix = "" if d.origin == "event" else f" ({d.origin} of {d.duplicate_of})"
        print(d.summary_line + suffix, flush=_interactive())

    def finish(self, target: str, *, interrupted: bool = False) -> None:
        sim = self.sim
        s = sim.summary()
        if self.as_json:
            doc: dict[str, Any] = {"target": target, "seed": sim.rand.seed, "summary": s.to_json()}
            if interrupted:
                doc["interrupted"] = True
            if sim.deliveries.dropped:
                doc["deliveries_dropped"] = sim.deliveries.dropped  # the newest --keep-deliveries are listed
            doc["deliveries"] = [d.to_json() for d in sim.deliveries]
            print(json.dumps(doc, ensure_ascii=False, indent=2), flush=True)
            return
        sys.stdout.flush()
        dups = f", {s.duplicates} duplicates" if s.duplicates else ""
        pending = f", {s.pending} pending" if s.pending else ""
        head = "interrupted: " if interrupted else ""
        eprint(f"{head}{s.acked}/{s.total} acked ({s.attempts} attempts{dups}{pending}) -> {target}")


def _interactive() -> bool:
    try:
        return sys.stdout.isatty()
    except (ValueError, OSError):
        return False


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


async def deliver_all(args: argparse.Namespace, url: str | None, sim: Simulator, envelopes: Source,
                      transcript: TranscriptWriter | None, stop: Stop, **info: Any) -> int:
    """Push ``envelopes`` to ``url`` (or to a reference receiver started here), printing each verdict as it
    is judged; return the exit code. On ``stop`` (Ctrl-C) nothing new starts, what is in flight finishes,
    and the summary covers what happened (exit 130); the transcript gets a ``pending`` delivery line for
    each delivery cut short. A failure half-way (the transcript cannot be written) still reports what was
    judged before its one line."""
    run = _Run(args, sim, transcript, info)
    stop.on_stop(sim.stop)
    try:
        if url is None:
            await run.to_reference_receiver(envelopes)
        else:
            await probe(url, sim.config.budget.connect_s)
            await run.push(url, envelopes)
    except SimulatorError:
        if run.started:
            _report_cut_short(sim, transcript)
            run.verdicts.finish(run.target, interrupted=True)
        raise
    finally:
        if stop.requested:
            _report_cut_short(sim, transcript)
        if transcript is not None:
            transcript.close()
    if stop.requested:
        run.verdicts.finish(run.target, interrupted=True)
        return stop.exit_code
    run.verdicts.finish(run.target)
    summary = sim.summary()
    return 0 if summary.acked == summary.total else 1


class _Run:
    """One push run: where it goes, whether it started, its verdict printer."""

    def __init__(self, args: argparse.Namespace, sim: Simulator, transcript: TranscriptWriter | None,
                 info: dict[str, Any]) -> None:
        self.args, self.sim, self.transcript, self.info = args, sim, transcript, info
        self.legacy = bool(getattr(args, "legacy_card", False))
        if self.legacy:
            info["legacy_card"] = True
        self.verdicts = Verdicts(sim, as_json=args.json)
        self.target = "the built-in reference receiver"
        self.started = False

    async def to_reference_receiver(self, envelopes: Source) -> None:
        from simulator.receiver import ReferenceReceiver
        from simulator.servers import serving

        app = self.sim.config.app
        receiver = ReferenceReceiver(encrypt_key=app.encrypt_key, verification_token=app.verification_token)
        async with serving(receiver.app()) as base:
            await self.push(base + ("/webhook/card" if self.legacy else C.DEFAULT_WEBHOOK_PATH), envelopes,
                            announce=True)

    async def push(self, target: str, envelopes: Source, *, announce: bool = False) -> None:
        self.target = target
        if self.transcript is not None:  # first: a transcript that cannot be written stops the run here
            self.transcript.run(run_info(self.args, self.sim.config, self.sim, target, **self.info))
        if announce:
            eprint(f"no URL given: pushing to the built-in reference receiver at {target}")
        self.started = True
        if self.legacy and not isinstance(envelopes, Released):  # clicks, never a scenario
            envelopes = check_legacy(envelopes)
        await _push(self.sim, target, envelopes, self.args.concurrency or 1, legacy=self.legacy)


def _report_cut_short(sim: Simulator, transcript: TranscriptWriter | None) -> None:
    if transcript is None:
        return
    for d in sim.open_deliveries():
        try:
            transcript.delivery(d)  # final: pending
        except SimulatorError:
            return


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
    transcript = open_transcript(args, config)
    return run_interruptible(lambda stop: _run(args, url, event_type, ov, config, transcript, stop, params))


def open_transcript(args: argparse.Namespace, config: SimConfig) -> TranscriptWriter | None:
    """``--transcript``, checked writable now; the verification token redacted unless
    ``--transcript-secrets``."""
    if not args.transcript:
        return None
    secrets = () if args.transcript_secrets else (config.app.verification_token,)
    return TranscriptWriter(args.transcript, secrets=secrets)


def new_simulator(args: argparse.Namespace, config: SimConfig, transcript: TranscriptWriter | None) -> Simulator:
    """The run's engine, its record of deliveries bounded: the transcript is the full record, the summary
    counts every delivery, and ``--json`` lists the newest ``--keep-deliveries``."""
    sim = Simulator(config, transcript=transcript)
    sim.deliveries = DeliveryLog(args.keep_deliveries if args.json else 1)
    return sim


async def _run(args: argparse.Namespace, url: str | None, event_type: str, ov: dict[str, Any], config: SimConfig,
               transcript: TranscriptWriter | None, stop: Stop, params: dict[str, Any] | None = None) -> int:
    sim = new_simulator(args, config, transcript)
    envelopes: Source
    if args.scenario is not None:  # in scenario order; --concurrency may still overlap deliveries
        if is_instant(sim.clock):  # each run made when the push reaches it, and pushed once it has ended
            envelopes = Released.runs(sim.scenario_runs(args.scenario, runs=args.count))
        else:  # the real clock: the last run ends now; a scaled one: pushed after the last run, as there
            envelopes = sim.generate_scenario(args.scenario, runs=args.count)
    else:
        # Made as the run reaches them (memory stays flat), all at the run's start time: on an instant
        # clock the retry ladder's gaps stay exact. Without overrides or params, bodies after the 512th come
        # from a refreshed pool (engine/pool.py): the same shapes at a fraction of Faker's cost.
        if ov or params or config.validate_all:
            envelopes = sim.iter_many(event_type, args.count, overrides=ov, spread=False, params=params)
        else:
            envelopes = sim.iter_pooled(event_type, args.count, spread=False)
    what = {"scenario": str(args.scenario), "runs": args.count} if args.scenario is not None else \
        {"event_type": event_type, "count": args.count}
    return await deliver_all(args, url, sim, envelopes, transcript, stop, **what)


async def _push(sim: Simulator, url: str, envelopes: Source, concurrency: int, *,
                legacy: bool = False) -> None:
    async with sim.webhook(url) as inner:
        channel: DeliveryChannel = LegacyCardChannel(inner, sim.config.app.verification_token) if legacy else inner
        await sim.stream(channel, envelopes, concurrency=concurrency)

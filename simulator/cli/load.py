"""``feishu-sim load``: an open-loop load test; every request a freshly generated, sealed event."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from simulator import constants as C
from simulator.cli._common import (
    Parser,
    add_app_options,
    add_budget_options,
    add_locale_option,
    app_profile,
    eprint,
    positive_int,
    seed_int,
)
from simulator.cli._scenario import add_scenario_options, list_scenarios, load_scenario
from simulator.cli.push import probe, split_positionals
from simulator.config import AppProfile, Budget
from simulator.delivery.webhook import check_url
from simulator.durations import parse_duration
from simulator.errors import ConfigError
from simulator.generation import catalog
from simulator.load import html as html_report
from simulator.load.driver import PLATFORM_BATCH_MAX, LoadPlan
from simulator.load.http import Target
from simulator.load.recorder import Interval
from simulator.load.report import LoadResult, check_writable, progress_line, summary_lines, write_csv, write_json
from simulator.load.runner import run_in_process, run_workers
from simulator.load.schedule import Schedule, parse_rate, parse_stages
from simulator.loops import new_event_loop
from simulator.rand import SimRandom

MAX_WORKERS = 64


def add_parser(sub: Any) -> None:
    p: Parser = sub.add_parser(
        "load", help="open-loop load test: fresh sealed events at a fixed arrival rate",
        description="Send freshly generated, AES-encrypted and signed events at a constant arrival rate (or "
                    "ramp stages), whatever the receiver does, and report latency measured from each "
                    "request's intended send time. Without a URL the built-in reference receiver is started "
                    "on a free loopback port.")
    p.add_argument("args", nargs="*", metavar="[URL] [EVENT_TYPE]",
                   help=f"target URL (http only) and/or event type (default {C.DEFAULT_EVENT_TYPE})")
    g = p.add_argument_group("load")
    g.add_argument("--rate", "-r", default=None, help="arrival rate, requests per second (required without "
                                                      "--stages; with --stages, the rate the first ramp starts at)")
    g.add_argument("--duration", "-d", default="10s", help="run length: 30, 30s, 500ms, 2m, 1m30s (default 10s)")
    g.add_argument("--connections", "-c", type=positive_int, default=32,
                   help="keep-alive connections, the most requests in flight (default 32)")
    g.add_argument("--stages", default=None, metavar="FILE",
                   help='ramp stages, JSON: [{"duration": "30s", "rate": 1000}, ...] (each ramps linearly from '
                        'the previous rate; replaces --duration)')
    g.add_argument("--workers", "-w", type=positive_int, default=1,
                   help="processes sharing the rate and the connections (default 1)")
    add_budget_options(g)
    g.add_argument("--accept-2xx", action="store_true", help="count any 2xx as acked (the platform wants 200)")
    g.add_argument("--seed", type=seed_int, default=None, help="seed: the same seed gives the same events")
    add_locale_option(g)
    g.add_argument("--platform", default=None, metavar="DOMAIN",
                   help="load a running `feishu-sim serve` platform (e.g. http://127.0.0.1:9001) instead of a webhook: "
                        "each due event is pushed to a connected long-connection client and its judged ack "
                        "waited for; due events are pushed together, see --platform-batch")
    g.add_argument("--platform-batch", type=positive_int, default=PLATFORM_BATCH_MAX, metavar="N",
                   help=f"with --platform: at most N due events per control-API call (default {PLATFORM_BATCH_MAX}; "
                        "1: one call per event)")
    g.add_argument("--control-token", default=None,
                   help="the platform's control token (default $FEISHU_SIM_CONTROL_TOKEN)")
    g.add_argument("--service-time", action="store_true",
                   help="also report latency from the actual send time (uncorrected, as a closed loop sees it)")
    g.add_argument("--pool-size", type=positive_int, default=512, help="event bodies kept ready (default 512)")
    g.add_argument("--refresh-every", type=int, default=16, metavar="N",
                   help="regenerate one pooled body every N events (default 16; 0 never)")
    o = p.add_argument_group("output")
    o.add_argument("--report", default=None, metavar="FILE.json", help="write the full result as JSON")
    o.add_argument("--csv", default=None, metavar="FILE", help="write one row per second as CSV")
    o.add_argument("--html", default=None, metavar="FILE", help="write a self-contained HTML report with charts")
    o.add_argument("--quiet", "-q", action="store_true", help="no progress line even on a terminal")
    add_app_options(p)
    add_scenario_options(p)
    p.set_defaults(func=run)


def build_schedule(args: argparse.Namespace) -> Schedule:
    if args.stages:
        start = parse_rate(args.rate, allow_zero=True) if args.rate is not None else None
        return parse_stages(args.stages, start_rate=start)
    if args.rate is None:
        raise ConfigError("--rate is required (or give --stages)")
    rate = parse_rate(args.rate)
    duration = parse_duration(args.duration, what="--duration", positive=True)
    return Schedule.constant(rate, duration)


def build_plan(args: argparse.Namespace, url: str, event_type: str, app: AppProfile, schedule: Schedule) -> LoadPlan:
    token = args.control_token or os.environ.get("FEISHU_SIM_CONTROL_TOKEN") or None
    return LoadPlan(url=url, platform=args.platform, control_token=token if args.platform else None,
                    schedule=schedule, connections=args.connections, event_type=event_type, app=app,
                    seed=args.seed, locale=args.locale,
                    budget=Budget(connect_s=args.connect_timeout, total_s=args.timeout),
                    accept_2xx=args.accept_2xx, pool_size=args.pool_size, refresh_every=args.refresh_every,
                    service_time=args.service_time, scenario=args.scenario, platform_batch=args.platform_batch)


def run(args: argparse.Namespace) -> int:
    if args.list_scenarios:
        return list_scenarios()
    url, event_type = split_positionals(args.args)
    scenario = load_scenario(args, next((a for a in args.args if a != url), None))  # bad scenario: exit 2 now
    if args.platform is not None:
        if url is not None:
            raise ConfigError(f"give a webhook URL or --platform, not both ({url!r})")
        if scenario is not None:
            raise ConfigError("--scenario cannot be combined with --platform (the platform generates lone events)")
        check_url(args.platform)
        Target(args.platform)
    catalog.get(event_type)
    if scenario is not None:
        event_type = f"scenario:{scenario.name}"
    schedule = build_schedule(args)
    if args.workers > MAX_WORKERS:
        raise ConfigError(f"--workers {args.workers}: at most {MAX_WORKERS}")
    if args.workers > args.connections:
        raise ConfigError(f"--workers {args.workers} needs at least as many --connections (got {args.connections})")
    if args.refresh_every < 0:
        raise ConfigError("--refresh-every must be >= 0")
    for path, what in ((args.report, "--report"), (args.csv, "--csv"), (args.html, "--html")):
        check_writable(path, what)
    if args.html:
        html_report.check_available()
    app = app_profile(args)
    if url is not None:
        check_url(url)
        Target(url)
    elif app.encrypt_key is None and args.platform is None:
        # The built-in receiver is configured with the same secrets: every event encrypted and signed.
        keys = SimRandom(args.seed).fork("load-keys")
        app = AppProfile(app_id=app.app_id, tenant_key=app.tenant_key, encrypt_key=keys.alnum(32),
                         verification_token=app.verification_token or keys.alnum(32))
    loop = new_event_loop()
    try:
        result = loop.run_until_complete(_run(args, url, event_type, app, schedule))
    finally:
        loop.close()
    return _finish(args, result)


async def _run(args: argparse.Namespace, url: str | None, event_type: str, app: AppProfile,
               schedule: Schedule) -> LoadResult:
    from simulator.receiver import ReferenceReceiver
    from simulator.servers import serving

    if args.platform is not None:
        await probe(args.platform, args.connect_timeout)
        return await _drive(args, build_plan(args, args.platform, event_type, app, schedule), embedded=False)
    if url is not None:
        await probe(url, args.connect_timeout)
        if app.encrypt_key is None:
            eprint("feishu-sim: no --encrypt-key (or $FEISHU_ENCRYPT_KEY): events are sent in plaintext, unsigned")
        return await _drive(args, build_plan(args, url, event_type, app, schedule), embedded=False)
    receiver = ReferenceReceiver(encrypt_key=app.encrypt_key, verification_token=app.verification_token)
    async with serving(receiver.app()) as base:
        target = base + C.DEFAULT_WEBHOOK_PATH
        if not args.quiet and sys.stderr.isatty():
            eprint(f"no URL given: loading the built-in reference receiver at {target}")
        result = await _drive(args, build_plan(args, target, event_type, app, schedule), embedded=True)
    st = receiver.state
    result.receiver = {"rejected": len(st.rejected), "rejections": sorted({m for _, m in st.rejected})[:5],
                       "duplicates_seen": sum(1 for e in st.events if e.duplicate)}
    return result


async def _drive(args: argparse.Namespace, plan: LoadPlan, *, embedded: bool) -> LoadResult:
    show = not args.quiet and sys.stderr.isatty()
    started = time.time()
    t_start = time.perf_counter()
    errors = 0

    def on_interval(iv: Interval) -> None:
        nonlocal errors
        errors += iv.counts.error + iv.counts.timeout + iv.counts.non_200
        if show:
            line = progress_line(iv, elapsed=time.perf_counter() - t_start, duration=plan.schedule.duration,
                                 errors=errors)
            sys.stderr.write("\r" + line + "\x1b[K")
            sys.stderr.flush()

    try:
        if args.workers > 1:
            agg, stats = await run_workers(plan, args.workers, on_interval)
        else:
            agg, stats = await run_in_process(plan, on_interval)
    finally:
        if show:
            sys.stderr.write("\n")
    return LoadResult(plan=plan, aggregate=agg, workers=stats, target=plan.url, embedded_receiver=embedded,
                      started_at=started, elapsed_s=time.perf_counter() - t_start)


def _finish(args: argparse.Namespace, result: LoadResult) -> int:
    doc = result.to_json()
    if args.report:
        write_json(args.report, doc)
    if args.csv:
        write_csv(args.csv, result.aggregate.rows)
    if args.html:
        from simulator.load.report import write_atomic

        write_atomic(args.html, html_report.render(doc))
    for line in summary_lines(result):
        print(line)
    return 0 if result.all_acked else 1


__all__ = ["add_parser", "run"]

"""``feishu-sim generate``: NDJSON envelopes on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from simulator import constants as C
from simulator.cli._common import Parser, add_app_options, add_generation_options, overrides, sim_config
from simulator.cli._scenario import add_scenario_options, list_scenarios, load_scenario
from simulator.errors import ConfigError, UsageError
from simulator.generation import catalog
from simulator.generation.factory import SEEDED_EPOCH
from simulator.generation.families.callbacks.legacy import CLICK, LEGACY_TYPE, legacy_request


def parse_time(text: str) -> float:
    """Epoch seconds, or an ISO 8601 time (with offset; naive means UTC)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected epoch seconds or an ISO 8601 time, got {text!r}") from None
    if dt.tzinfo is None:
        from datetime import timezone

        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def add_parser(sub: Any) -> None:
    p: Parser = sub.add_parser("generate", help="print generated events as NDJSON envelopes",
                               description="Generate v2.0 event envelopes (one JSON object per line).")
    p.add_argument("event_type", nargs="?", default=None, metavar="EVENT_TYPE",
                   help=f"event type (default {C.DEFAULT_EVENT_TYPE}); see --list")
    p.add_argument("--list", action="store_true", help="list the event types and exit")
    add_scenario_options(p)
    p.add_argument("--at", type=parse_time, default=None,
                   help="platform time of the first event (epoch seconds or ISO 8601); with --seed the default "
                        "is a fixed time so output is byte-identical")
    p.add_argument("--longconn", action="store_true", help="shape for the long connection (empty header.token)")
    p.add_argument("--legacy-card", action="store_true",
                   help="card.action.trigger clicks as legacy card request bodies (the flat card.action.trigger_v1 "
                        "body; card.action.trigger_v1 as the event type means the same)")
    add_generation_options(p)
    add_app_options(p, keys=False)
    p.set_defaults(func=run)


def print_catalogue() -> None:
    """The event types grouped by family: a heading per family, then one line per type with its summary."""
    by_family: dict[str, list[catalog.EventSpec]] = {}
    for et in catalog.event_types():
        spec = catalog.get(et)
        by_family.setdefault(spec.family or "other", []).append(spec)
    width = max(len(et) for et in catalog.event_types())
    for i, (family, specs) in enumerate(sorted(by_family.items())):
        print(("\n" if i else "") + f"{family} ({len(specs)} types)")
        for spec in specs:
            print(f"  {spec.event_type:<{width}}  {spec.summary}")


def run(args: argparse.Namespace) -> int:
    from simulator.engine.core import Simulator

    if args.list:
        print_catalogue()
        return 0
    if args.list_scenarios:
        return list_scenarios()
    scenario = load_scenario(args, args.event_type)
    args.event_type = args.event_type or C.DEFAULT_EVENT_TYPE
    if args.event_type == LEGACY_TYPE or args.legacy_card:
        if scenario is not None or args.longconn or args.event_type not in (LEGACY_TYPE, CLICK):
            raise UsageError(f"--legacy-card renders {CLICK} clicks (by webhook), not {args.event_type}")
        args.event_type, args.legacy_card = CLICK, True
    catalog.get(args.event_type)  # unknown type -> exit 2 before any output
    start = args.at if args.at is not None else (SEEDED_EPOCH if args.seed is not None else None)
    config = sim_config(args, time_scale=0.0 if start is not None else None, start_time=start)
    sim = Simulator(config)
    ov = overrides(args)
    # Generate everything first: a bad override fails before anything is written.
    try:
        if scenario is not None:
            events = sim.generate_scenario(scenario, runs=args.count, longconn=args.longconn)
        else:
            events = sim.generate_many(args.event_type, args.count, overrides=ov, longconn=args.longconn)
    except RecursionError:  # pragma: no cover - defensive
        raise ConfigError("override too deeply nested") from None
    out = sys.stdout
    for env in events:
        env = legacy_request(env) if args.legacy_card else env
        out.write(json.dumps(env, ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()
    return 0

"""``--scenario NAME|FILE`` for ``generate``, ``push`` and ``load``: a whole meeting's or conversation's life
instead of lone events."""

from __future__ import annotations

import argparse

from simulator.errors import UsageError
from simulator.generation import scenarios
from simulator.generation.scenarios import Scenario


def add_scenario_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scenario")
    g.add_argument("--scenario", default=None, metavar="NAME|FILE",
                   help="a coherent meeting or conversation instead of lone events: a shipped scenario (see "
                        "--list-scenarios) or a .toml scenario file; --count runs it N times back to back")
    g.add_argument("--list-scenarios", action="store_true", help="list the shipped scenarios and exit")


def list_scenarios() -> int:
    for name in scenarios.names():
        print(f"{name}\t{scenarios.load(name).description}")
    return 0


def load_scenario(args: argparse.Namespace, event_type: str | None) -> Scenario | None:
    """The loaded (and checked) scenario, or None; conflicting options are usage errors."""
    if args.scenario is None:
        return None
    if event_type is not None:
        raise UsageError(f"give either an event type ({event_type!r}) or --scenario, not both")
    if getattr(args, "overrides", None):
        raise UsageError("--set cannot be combined with --scenario (a scenario mixes event types)")
    return scenarios.load(args.scenario)

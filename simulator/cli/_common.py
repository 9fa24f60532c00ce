"""Argument parsing shared by the commands. Bad input raises ``UsageError`` (one line, exit 2)."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from typing import Any, NoReturn

from simulator import constants as C
from simulator.config import AppProfile, Budget, RetryPolicy, SimConfig
from simulator.durations import parse_duration
from simulator.engine.faults import FaultSpec
from simulator.errors import ConfigError, UsageError
from simulator.generation.overrides import parse_assignments


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        prefix = self.prog.removeprefix("feishu-sim").strip()
        raise UsageError(f"{prefix}: {message}" if prefix else message)


# The most events one command generates or pushes (--count): far more than any run needs, small enough that
# a mistyped count is an error rather than a run that never ends.
MAX_COUNT = 1_000_000_000
# --time-scale: 0 is instant, 1 real time; above this a retry gap would outlast any test run.
MAX_TIME_SCALE = 1000.0


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def count_int(text: str) -> int:
    """``--count``: 1 to ``MAX_COUNT``."""
    value = positive_int(text)
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_COUNT:,} events, got {text!r}")
    return value


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return value


def seed_int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_duration(text: str) -> float:
    """Seconds > 0, in the one duration grammar (``simulator.durations``: ``3``, ``500ms``, ``1m30s``...)."""
    try:
        return parse_duration(text, what="duration", positive=True)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def non_negative_duration(text: str) -> float:
    """Seconds >= 0, in the one duration grammar (``0``, ``2s``, ``500ms``...)."""
    try:
        return parse_duration(text, what="duration")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def non_negative_float(text: str) -> float:
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def time_scale(text: str) -> float:
    """``--time-scale``: 0 (instant) to ``MAX_TIME_SCALE``."""
    value = non_negative_float(text)
    if value > MAX_TIME_SCALE:
        raise argparse.ArgumentTypeError(f"expected a time scale from 0 to {MAX_TIME_SCALE:g}, got {text!r}")
    return value


def add_app_options(p: argparse.ArgumentParser, *, keys: bool = True) -> None:
    g = p.add_argument_group("app")
    g.add_argument("--app-id", default=None, help=f"app id (default {C.DEFAULT_APP_ID})")
    g.add_argument("--tenant-key", default=None, help=f"tenant key (default {C.DEFAULT_TENANT_KEY})")
    g.add_argument("--verification-token", default=None,
                   help="verification token put in header.token (default: $FEISHU_VERIFICATION_TOKEN, else empty)")
    if keys:
        g.add_argument("--encrypt-key", default=None,
                       help="encrypt key: AES-encrypt and sign (default: $FEISHU_ENCRYPT_KEY, else plaintext)")


def add_locale_option(g: argparse._ActionsContainer) -> None:
    g.add_argument("--locale", default=C.DEFAULT_LOCALE,
                   help=f"Faker locale for names and topics: {C.DEFAULT_LOCALE} (default), en_US, ja_JP, ... "
                        "(any Faker locale)")


def add_budget_options(g: argparse._ActionsContainer, *, connect: bool = True) -> None:
    """``--timeout`` (and ``--connect-timeout``): the webhook budget, in the one duration grammar."""
    g.add_argument("--timeout", type=positive_duration, default=C.WEBHOOK_TOTAL_BUDGET_S,
                   help=f"budget per request: seconds, or a duration such as 500ms "
                        f"(default {C.WEBHOOK_TOTAL_BUDGET_S:g})")
    if connect:
        g.add_argument("--connect-timeout", type=positive_duration, default=C.WEBHOOK_CONNECT_BUDGET_S,
                       help=f"TCP connect budget (default {C.WEBHOOK_CONNECT_BUDGET_S:g})")


def add_generation_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("generation")
    g.add_argument("--count", "-n", type=count_int, default=1,
                   help=f"number of events (default 1, at most {MAX_COUNT:,})")
    g.add_argument("--seed", type=seed_int, default=None, help="seed: the same seed gives the same events")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. --set event.meeting.topic='Q3 review' (JSON-typed values)")
    add_locale_option(g)
    v = g.add_mutually_exclusive_group()
    v.add_argument("--validate-all", action="store_true",
                   help="validate every event against its schema, not only those changed by --set (slow)")
    v.add_argument("--no-validate", action="store_true",
                   help="do not validate against the schema (for deliberately broken payloads)")


def app_profile(args: argparse.Namespace, *, keys: bool = True) -> AppProfile:
    for name in ("encrypt_key", "verification_token", "app_id", "tenant_key"):
        value = getattr(args, name, None)
        if value is not None and value == "":
            raise ConfigError(f"--{name.replace('_', '-')} must not be empty")
    return AppProfile.from_env(
        app_id=args.app_id, tenant_key=args.tenant_key, verification_token=args.verification_token,
        encrypt_key=getattr(args, "encrypt_key", None) if keys else None,
    )


def sim_config(args: argparse.Namespace, **extra: Any) -> SimConfig:
    values: dict[str, Any] = {
        "app": app_profile(args),
        "seed": getattr(args, "seed", None),
        "locale": getattr(args, "locale", C.DEFAULT_LOCALE),
        "validate": not getattr(args, "no_validate", False),
        "validate_all": getattr(args, "validate_all", False),
        "accept_2xx": getattr(args, "accept_2xx", False),
    }
    if hasattr(args, "timeout"):
        values["budget"] = Budget(connect_s=args.connect_timeout, total_s=args.timeout)
    if getattr(args, "retries", None) is not None:
        values["retries"] = RetryPolicy.parse(args.retries)
    if getattr(args, "time_scale", None) is not None:
        values["time_scale"] = args.time_scale
    if getattr(args, "faults", None) is not None:
        values["faults"] = FaultSpec.parse(args.faults)
    values.update(extra)
    return SimConfig(**values)


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    return parse_assignments(args.overrides)


def eprint(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def check_output_dir(path: str, what: str) -> None:
    """Before anything starts: ``path``'s directory exists and can be written, and ``path`` is no directory."""
    import os
    from pathlib import Path

    p = Path(path)
    parent = p.parent
    if p.is_dir():
        raise ConfigError(f"{what} {path!r} is a directory")
    if not parent.is_dir():
        raise ConfigError(f"cannot write {what} {path!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {what} {path!r}: directory {str(parent)!r} is not writable")


def write_ready_file(path: str, text: str) -> None:
    """Write a ready file whole (a temporary file in the same directory renamed over it, so a watcher
    never reads half a URL); ``ConfigError`` with one line when it cannot be written."""
    import os
    from pathlib import Path

    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        tmp.replace(p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"cannot write --ready-file {path!r}: {exc.strerror or exc}") from None

"""``feishu-sim push --platform DOMAIN``: push through a running platform's control API (``feishu-sim serve``).

The platform generates the events (plain JSON, empty ``header.token``) from its world, delivers each to one
connected client of the app and judges the ack; with a URL (``push URL --platform DOMAIN``) it delivers them to
that webhook instead, sealed with the keys given here, so a webhook bot whose OpenAPI base is the platform
gets events about the chats and messages the platform knows. This command prints one verdict line per event
and, under it, the bot's OpenAPI calls that answer the event (waiting up to ``--wait-replies`` for them).
Exit 0 iff every event was acked, 1 otherwise, 2 for bad input or an unreachable platform.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx
import orjson

from simulator import constants as C
from simulator.cli._common import app_profile, eprint
from simulator.delivery.webhook import check_url
from simulator.errors import ConfigError, TargetError, UsageError
from simulator.generation import catalog
from simulator.generation.overrides import parse_assignments
from simulator.platform.openapi.related import describe

# Options of a push that the platform decides for itself: refuse them rather than ignore them.
_SERVER_SIDE = {"retries": "--retries", "faults": "--faults", "time_scale": "--time-scale",
                "transcript": "--transcript"}
# Options that only mean something for a webhook push through the platform.
_WEBHOOK_ONLY = {"encrypt_key": "--encrypt-key", "verification_token": "--verification-token"}


def _check_options(args: argparse.Namespace, url: str | None) -> None:
    for name, flag in _SERVER_SIDE.items():
        if getattr(args, name, None) is not None:
            raise UsageError(f"{flag} does not apply to --platform (set it on `feishu-sim serve`)")
    if url is None:
        for name, flag in _WEBHOOK_ONLY.items():
            if getattr(args, name, None) is not None:
                raise UsageError(f"{flag} applies to a webhook push (push URL --platform DOMAIN); the long "
                                 "connection is never encrypted")


def request_body(args: argparse.Namespace, event_type: str, url: str | None) -> dict[str, Any]:
    """The ``/_sim/push`` request of this command line."""
    body: dict[str, Any] = {"event_type": event_type, "count": args.count, "seed": args.seed,
                            "overrides": parse_assignments(args.overrides), "concurrency": args.concurrency,
                            "wait_replies": args.wait_replies, "params": parse_assignments(args.params)}
    if args.app_id:
        body["app_id"] = args.app_id
    if args.scenario is not None:  # loaded (and checked) by the platform, which generates the events
        body["scenario"] = str(args.scenario)
    if url is not None:
        app = app_profile(args)  # the keys, from the options or $FEISHU_ENCRYPT_KEY / $FEISHU_VERIFICATION_TOKEN
        body["webhook"] = {"url": url, "encrypt_key": app.encrypt_key, "verification_token": app.verification_token,
                           "timeout_s": args.timeout, "connect_timeout_s": args.connect_timeout,
                           "accept_2xx": args.accept_2xx}
    return body


def _post(domain: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # Each event may take the ack budget (and the platform's retry ladder): no overall read timeout.
    timeout = httpx.Timeout(None, connect=5.0)
    try:
        resp = httpx.post(f"{domain}{C.CONTROL_PREFIX}/push", json=body, headers=headers, timeout=timeout,
                          trust_env=False)
    except httpx.HTTPError as exc:
        raise TargetError(f"cannot reach platform {domain}: {exc or type(exc).__name__}") from None
    try:
        doc = orjson.loads(resp.content)  # a 100,000-event answer is tens of MB: ~3x faster than json
    except ValueError:
        raise TargetError(f"{domain} is not a feishu-sim platform (HTTP {resp.status_code})") from None
    if resp.status_code in (400, 401):
        raise ConfigError(f"platform refused the push: {doc.get('error', doc)}")
    if resp.status_code != 200 or not isinstance(doc, dict) or "deliveries" not in doc:
        reason = doc.get("error") if isinstance(doc, dict) else None
        raise TargetError(f"{domain} answered HTTP {resp.status_code}: {str(reason or doc)[:300]}")
    return doc


def render(doc: dict[str, Any], target: str) -> None:
    """A verdict line per event, the bot's calls about it indented under it, the summary on stderr."""
    calls = refused = 0
    lines: list[str] = []  # written at once: a 100,000-event push prints in one write, not 100,000 prints
    for d in doc["deliveries"]:
        lines.append(f"{d['summary']}\n")
        for call in d.get("api_calls", []):
            calls += 1
            refused += call.get("status") != 200 or call.get("code") != 0
            lines.append(f"    api: {describe(call)}\n")
    sys.stdout.write("".join(lines))
    sys.stdout.flush()
    s = doc["summary"]
    bot = f"; the bot made {calls} API call(s) about them" + (f", {refused} refused" if refused else "") \
        if calls else ""
    eprint(f"{s['acked']}/{s['total']} acked ({s['attempts']} attempts) -> {target}{bot}")


def run_platform(args: argparse.Namespace, event_type: str, url: str | None = None) -> int:
    domain = check_url(args.platform).rstrip("/")
    if url is not None:
        check_url(url)
    _check_options(args, url)
    catalog.get(event_type)
    body = request_body(args, event_type, url)
    doc = _post(domain, body, args.control_token or os.environ.get("FEISHU_SIM_CONTROL_TOKEN"))
    target = f"{url} (webhook, events from {domain})" if url else f"{domain} (long connection)"
    if args.json:
        print(json.dumps({"target": url or domain, **doc}, ensure_ascii=False, indent=2))
    else:
        render(doc, target)
    deliveries = doc["deliveries"]
    return 0 if deliveries and all(d["final"] == "acked" for d in deliveries) else 1

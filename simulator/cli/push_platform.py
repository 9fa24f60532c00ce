"""``feishu-sim push --platform DOMAIN``: push through a running long-connection platform's control API.

The platform generates the events (plain JSON, empty ``header.token``), delivers each to one connected
client of the app and judges the ack; this command prints one verdict line per event. Exit 0 iff every
event was acked, 1 otherwise, 2 for bad input or an unreachable platform.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import httpx

from simulator import constants as C
from simulator.cli._common import eprint
from simulator.delivery.webhook import check_url
from simulator.errors import ConfigError, TargetError, UsageError
from simulator.generation import catalog
from simulator.generation.overrides import parse_assignments

# Options of a webhook push that the platform decides for itself: refuse them rather than ignore them.
_SERVER_SIDE = {"retries": "--retries", "faults": "--faults", "time_scale": "--time-scale",
                "encrypt_key": "--encrypt-key", "transcript": "--transcript"}


def run_platform(args: argparse.Namespace, event_type: str) -> int:
    domain = check_url(args.platform).rstrip("/")
    for name, flag in _SERVER_SIDE.items():
        if getattr(args, name, None) is not None:
            raise UsageError(f"{flag} does not apply to --platform (set it on `feishu-sim serve`; the long "
                             "connection is never encrypted)" if flag == "--encrypt-key" else
                             f"{flag} does not apply to --platform (set it on `feishu-sim serve`)")
    catalog.get(event_type)
    overrides = parse_assignments(args.overrides)
    body: dict[str, Any] = {"event_type": event_type, "count": args.count, "seed": args.seed,
                            "overrides": overrides, "concurrency": args.concurrency}
    if args.app_id:
        body["app_id"] = args.app_id
    if args.scenario is not None:  # loaded (and checked) by the platform, which generates the events
        body["scenario"] = str(args.scenario)
    token = args.control_token or os.environ.get("FEISHU_SIM_CONTROL_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # Each event may take the 3 s ack budget (and the platform's retry ladder): no overall read timeout.
    timeout = httpx.Timeout(None, connect=5.0)
    try:
        resp = httpx.post(f"{domain}{C.CONTROL_PREFIX}/push", json=body, headers=headers, timeout=timeout,
                          trust_env=False)
    except httpx.HTTPError as exc:
        raise TargetError(f"cannot reach platform {domain}: {exc or type(exc).__name__}") from None
    try:
        doc = resp.json()
    except ValueError:
        raise TargetError(f"{domain} is not a feishu-sim platform (HTTP {resp.status_code})") from None
    if resp.status_code in (400, 401):
        raise ConfigError(f"platform refused the push: {doc.get('error', doc)}")
    if resp.status_code != 200 or not isinstance(doc, dict) or "deliveries" not in doc:
        reason = doc.get("error") if isinstance(doc, dict) else None
        raise TargetError(f"{domain} answered HTTP {resp.status_code}: {str(reason or doc)[:300]}")
    deliveries = doc["deliveries"]
    if args.json:
        print(json.dumps({"target": domain, **doc}, ensure_ascii=False, indent=2))
    else:
        for d in deliveries:
            print(d["summary"])
        s = doc["summary"]
        eprint(f"{s['acked']}/{s['total']} acked ({s['attempts']} attempts) -> {domain} (long connection)")
    return 0 if deliveries and all(d["final"] == "acked" for d in deliveries) else 1

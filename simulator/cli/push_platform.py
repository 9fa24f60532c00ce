"""``feishu-sim push --platform DOMAIN``: push through a running platform's control API (``feishu-sim serve``).

The platform generates the events (plain JSON, empty ``header.token``) from its world, delivers each to one
connected client of the app and judges the ack; with a URL (``push URL --platform DOMAIN``) it delivers them to
that webhook instead, sealed with the keys given here, so a webhook bot whose OpenAPI base is the platform
gets events about the chats and messages the platform knows. This command prints one verdict line per event
and, under it, the bot's OpenAPI calls that answer the event (waiting up to ``--wait-replies`` for them), as
the platform streams them (``/_sim/push`` with ``"stream": true``): nothing is kept per event on either side
but what ``--json`` collects into its one document.
Exit 0 iff every event was acked, 1 otherwise, 2 for bad input or an unreachable platform.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from typing import Any

import httpx
import orjson

from simulator import constants as C
from simulator.cli._common import app_profile, eprint
from simulator.cli._interrupt import Stop, run_interruptible
from simulator.delivery.webhook import check_url
from simulator.errors import ConfigError, TargetError, UsageError
from simulator.generation import catalog
from simulator.generation.overrides import parse_assignments
from simulator.platform.openapi.related import describe
from simulator.platform.push_stream import NDJSON

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


class Verdicts:
    """The streamed answer as it arrives: a verdict line per event with the bot's calls about it indented under
    it (``--json``: collected into one document, what was asked for), the summary on stderr at the end."""

    def __init__(self, target: str, *, as_json: bool) -> None:
        self.target, self.as_json = target, as_json
        self.deliveries: list[dict[str, Any]] = []  # --json only
        self.total = self.acked = self.attempts = self.calls = self.refused = 0
        self.final: dict[str, Any] | None = None

    def lines(self, raw: list[bytes]) -> None:
        out: list[str] = []  # written at once: a chunk of many lines is one write, not one print each
        for line in raw:
            if not line.strip():
                continue
            d = orjson.loads(line)
            if "event_id" not in d:  # the last line: the summary
                self.final = d
                continue
            self.total += 1
            self.acked += d["final"] == "acked"
            self.attempts += len(d["attempts"])
            calls = d.get("api_calls", [])
            self.calls += len(calls)
            self.refused += sum(c.get("status") != 200 or c.get("code") != 0 for c in calls)
            if self.as_json:
                self.deliveries.append(d)
                continue
            out.append(f"{d['summary']}\n")
            out.extend(f"    api: {describe(call)}\n" for call in calls)
        if out:
            sys.stdout.write("".join(out))
            sys.stdout.flush()

    async def read(self, resp: httpx.Response) -> None:
        rest = b""
        async for chunk in resp.aiter_bytes():
            *raw, rest = (rest + chunk).split(b"\n")
            self.lines(raw)
        self.lines([rest])

    def finish(self, domain: str, *, interrupted: bool = False) -> int:
        """Print the summary (or the document); the exit code."""
        final = self.final or {}
        if not interrupted and "error" in final:  # the platform was stopped: it says how far it got
            raise TargetError(str(final["error"]))
        if not interrupted and "summary" not in final:
            raise TargetError(f"{domain} ended the push without its summary, after {self.total} deliveries")
        summary = final.get("summary") or {"total": self.total, "acked": self.acked, "attempts": self.attempts}
        if self.as_json:
            doc = {"target": self.target, **({"interrupted": True} if interrupted else {}), "summary": summary,
                   "deliveries": self.deliveries}
            print(json.dumps(doc, ensure_ascii=False, indent=2), flush=True)
        else:
            bot = f"; the bot made {self.calls} API call(s) about them" + (
                f", {self.refused} refused" if self.refused else "") if self.calls else ""
            head, tail = ("interrupted: ", "; the platform finishes those in flight") if interrupted else ("", "")
            eprint(f"{head}{summary['acked']}/{summary['total']} acked ({summary['attempts']} attempts) -> "
                   f"{self.target}{bot}{tail}")
        return 0 if self.total and self.acked == self.total else 1


def _refused(domain: str, status: int, content: bytes) -> TargetError | ConfigError:
    try:
        doc = orjson.loads(content)
    except ValueError:
        return TargetError(f"{domain} is not a feishu-sim platform (HTTP {status})")
    reason = doc.get("error", doc) if isinstance(doc, dict) else doc
    if status in (400, 401):
        return ConfigError(f"platform refused the push: {reason}")
    return TargetError(f"{domain} answered HTTP {status}: {str(reason)[:300]}")


async def _push(domain: str, body: dict[str, Any], token: str | None, out: Verdicts, stop: Stop) -> int:
    """POST the push in stream mode and print each verdict as it comes. Ctrl-C closes the connection, which
    halts the push on the platform (nothing new starts; what is in flight finishes there)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # Each event may take the ack budget (and the platform's retry ladder): no overall read timeout.
    timeout = httpx.Timeout(None, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        try:
            async with client.stream("POST", f"{domain}{C.CONTROL_PREFIX}/push", json=body, headers=headers) as resp:
                if resp.status_code != 200:
                    raise _refused(domain, resp.status_code, await resp.aread())
                kind = resp.headers.get("content-type", "")
                if not kind.startswith(NDJSON):  # not a platform, or one older than this command
                    raise TargetError(f"{domain} is not a feishu-sim platform that streams pushes (HTTP 200, "
                                      f"{kind or 'no content type'})")
                reading = asyncio.ensure_future(out.read(resp))
                stopping = asyncio.ensure_future(stop.event.wait())
                try:
                    await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopping.cancel()
                    if not reading.done():
                        reading.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await reading
                if not stop.requested:
                    reading.result()
        except httpx.HTTPError as exc:
            what = "lost" if out.total or out.final else "cannot reach"
            raise TargetError(f"{what} platform {domain}: {exc or type(exc).__name__}") from None
    if stop.requested:
        out.finish(domain, interrupted=True)
        return stop.exit_code
    return out.finish(domain)


def run_platform(args: argparse.Namespace, event_type: str, url: str | None = None) -> int:
    domain = check_url(args.platform).rstrip("/")
    if url is not None:
        check_url(url)
    _check_options(args, url)
    catalog.get(event_type)
    body = {**request_body(args, event_type, url), "stream": True}
    token = args.control_token or os.environ.get("FEISHU_SIM_CONTROL_TOKEN")
    target = f"{url} (webhook, events from {domain})" if url else f"{domain} (long connection)"
    out = Verdicts(url or domain if args.json else target, as_json=args.json)
    return run_interruptible(lambda stop: _push(domain, body, token, out, stop))

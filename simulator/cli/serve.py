"""``feishu-sim serve``: the mock long-connection platform in the foreground.

Point the SDK at the printed domain (``lark.ws.Client(..., domain=DOMAIN)`` or Node ``WSClient({domain})``)
and push events with ``feishu-sim push --platform DOMAIN``. Bound to a non-loopback address the control
API (``/_sim/``) requires ``--control-token`` (or ``$FEISHU_SIM_CONTROL_TOKEN``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
from typing import Any

from simulator import __version__
from simulator import constants as C
from simulator.cli._common import (
    Parser,
    check_output_dir,
    eprint,
    port_number,
    positive_duration,
    positive_int,
    seed_int,
    time_scale,
    write_ready_file,
)
from simulator.errors import ConfigError

DEFAULT_KEEP = 100_000


def int_at_least(low: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value
    return parse


def add_parser(sub: Any) -> None:
    p: Parser = sub.add_parser(
        "serve", help="run the mock long-connection platform (for lark.ws.Client / Node WSClient)",
        description="Serve endpoint discovery, the pbbp2 WebSocket and the /_sim/ control API on one port. "
                    "Prints the domain to give the SDK.")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=9001, help="listen port, 0 for a free one (default 9001)")
    p.add_argument("--app-id", default=C.DEFAULT_APP_ID, help=f"app id the SDK uses (default {C.DEFAULT_APP_ID})")
    p.add_argument("--app-secret", default=C.DEFAULT_APP_SECRET,
                   help=f"app secret the SDK uses (default {C.DEFAULT_APP_SECRET})")
    p.add_argument("--seed", type=seed_int, default=None, help="seed for events, ids and connection choice")
    g = p.add_argument_group("ClientConfig (seconds; sent at discovery and in pongs)")
    g.add_argument("--ping-interval", type=int_at_least(1), default=120, help="client ping period (default 120)")
    g.add_argument("--reconnect-interval", type=int_at_least(0), default=120,
                   help="wait between failed reconnect attempts (default 120)")
    g.add_argument("--reconnect-nonce", type=int_at_least(0), default=30,
                   help="max random wait before the first reconnect attempt (default 30; 0 in tests)")
    g.add_argument("--reconnect-count", type=int_at_least(-1), default=-1,
                   help="reconnect attempts before giving up (default -1: forever)")
    g.add_argument("--pong-config", choices=("always", "changed", "never"), default="always",
                   help="when a pong carries the ClientConfig: always (default; node-sdk logs an error for an "
                        "empty pong), changed (only when the client's is out of date), never")
    g = p.add_argument_group("platform")
    g.add_argument("--ack-timeout", type=positive_duration, default=C.LONGCONN_ACK_BUDGET_S,
                   help="ack budget in seconds (default 3)")
    g.add_argument("--fragment-size", type=positive_int, default=None,
                   help="split event payloads larger than this many bytes (default 524288)")
    g.add_argument("--max-connections", type=positive_int, default=C.MAX_CONNECTIONS_PER_APP,
                   help="connections per app before handshakes are refused (default 50)")
    g.add_argument("--retries", default=None, metavar="feishu|none|N", help="retry ladder for pushes (default none)")
    g.add_argument("--faults", default=None, metavar="SPEC",
                   help="seeded delivery faults for pushes, as for push --faults (e.g. dup=0.1,delay=200ms..2s)")
    g.add_argument("--time-scale", type=time_scale, default=None,
                   help="platform time for the retry ladder and event times: 0.001 compresses an hour into "
                        "3.6 s (default: real time)")
    g.add_argument("--scopes", default=None, metavar="LIST",
                   help="the permission scopes the app was granted, comma-separated (e.g. "
                        "im:message:send_as_bot,im:resource); the mock OpenAPI refuses a call none of whose scopes "
                        "it has with 99991672 (default: every scope; '' for none)")
    g.add_argument("--control-token", default=None,
                   help="token for /_sim/ (default $FEISHU_SIM_CONTROL_TOKEN; required off loopback)")
    g.add_argument("--transcript", default=None, metavar="FILE",
                   help="write every delivery attempt as NDJSON to FILE (same format as push --transcript)")
    g.add_argument("--keep-deliveries", type=positive_int, default=DEFAULT_KEEP, metavar="N",
                   help=f"full records of the newest N deliveries only; counters and the summary in /_sim/state "
                        f"cover all (default {DEFAULT_KEEP:,}: memory stays flat on long runs)")
    g.add_argument("--card-frame", choices=("event", "card"), default="event",
                   help="the type header of the frames carrying card.action.trigger: event (default; what the "
                        "official clients dispatch) or card (they drop it without an ack)")
    g.add_argument("--event-loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                   help="auto (default): uvloop when installed, several times less CPU per frame; or asyncio")
    g.add_argument("--ready-file", default=None, help="write the domain to this file once listening")
    p.set_defaults(func=run)


def graceful_server(config: Any, pusher: Any, ack_budget_s: float) -> Any:
    """uvicorn, stopped in order on Ctrl-C / SIGTERM: first the pushes under way (no new attempt starts;
    those in flight get their acks, at most the ack budget, while the clients are still connected; the
    pushing clients are told the platform stopped), then the connections and the server."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            pusher.stop()
            await pusher.drained(ack_budget_s + 2.0)
            await super().shutdown(sockets=sockets)

    return Server(config)


def first_line(transcript: Any, args: argparse.Namespace, domain: str, seed: int, settings: Any, sock: Any) -> None:
    """The transcript's run line, written now: a transcript that cannot be written stops serve before it
    starts (one line, exit 2) rather than failing every push later."""
    try:
        transcript.run({"tool": f"feishu-sim {__version__}", "command": "serve", "target": domain,
                        "channel": "longconn", "seed": seed, "retries": list(settings.retries.delays),
                        "faults": str(settings.faults), "time_scale": args.time_scale, "app_id": args.app_id,
                        "encrypted": False})
    except ConfigError:
        sock.close()
        raise


def run(args: argparse.Namespace) -> int:

    from simulator.clock import make_clock
    from simulator.config import RetryPolicy
    from simulator.engine.faults import FaultSpec
    from simulator.engine.platform_push import PushSettings
    from simulator.engine.runtime import quiet_gc
    from simulator.loops import loop_factory
    from simulator.platform.openapi.scopes import granted_scopes
    from simulator.platform.session import PongConfig
    from simulator.platform.state import PlatformOptions
    from simulator.platform_server import compose
    from simulator.servers import bind_socket, is_loopback, restore_listen_queue, server_config, url_of
    from simulator.verdicts.transcript import TranscriptWriter
    from simulator.wire.frames import DEFAULT_FRAGMENT_SIZE, ClientConfig

    if not args.app_id or not args.app_secret:
        raise ConfigError("--app-id and --app-secret must not be empty")
    token = args.control_token or os.environ.get("FEISHU_SIM_CONTROL_TOKEN") or None
    if not is_loopback(args.host) and token is None:
        raise ConfigError(f"--host {args.host} is not loopback: set --control-token (or $FEISHU_SIM_CONTROL_TOKEN)")
    config = ClientConfig(reconnect_count=args.reconnect_count, reconnect_interval=args.reconnect_interval,
                          reconnect_nonce=args.reconnect_nonce, ping_interval=args.ping_interval)
    options = PlatformOptions(apps={args.app_id: args.app_secret}, client_config=config,
                              scopes=granted_scopes(args.scopes, [args.app_id], what="--scopes"),
                              ack_budget_s=args.ack_timeout, fragment_size=args.fragment_size or DEFAULT_FRAGMENT_SIZE,
                              max_connections=args.max_connections, pong_config=PongConfig(args.pong_config),
                              seed=args.seed, card_frame=args.card_frame)
    settings = PushSettings(retries=RetryPolicy.parse(args.retries), faults=FaultSpec.parse(args.faults),
                            keep_deliveries=args.keep_deliveries)
    if args.ready_file:
        check_output_dir(args.ready_file, "--ready-file")
    transcript = TranscriptWriter(args.transcript) if args.transcript else None
    platform, pusher, app = compose(options, settings, clock=make_clock(args.time_scale), transcript=transcript,
                               control_token=token)
    sock = bind_socket(args.host, args.port)
    domain = url_of(sock)
    if transcript is not None:
        first_line(transcript, args, domain, platform.rand.seed, settings, sock)
    # h11, not the guarded httptools protocol: the OpenAPI's answers keep their header casing, which lark-oapi
    # reads case-sensitively (simulator/platform/openapi/routes.py).
    server = graceful_server(server_config(app, http="h11", timeout_graceful_shutdown=1), pusher, args.ack_timeout)

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.01)
        restore_listen_queue(sock)
        print(domain, flush=True)
        eprint(f"long-connection platform for app {args.app_id} at {domain} "
               f"(control API {domain}/_sim/, seed {platform.rand.seed})")
        if args.ready_file:
            try:
                write_ready_file(args.ready_file, domain + "\n")
            except ConfigError as exc:  # stop serving: whoever waits on the file must not wait forever
                failed.append(exc)
                server.should_exit = True

    failed: list[ConfigError] = []

    async def main() -> None:
        task = asyncio.create_task(announce())
        try:
            await server.serve(sockets=[sock])
        finally:
            task.cancel()

    loop = loop_factory(args.event_loop)()
    try:
        with contextlib.suppress(KeyboardInterrupt), quiet_gc():  # records of every push stay: see runtime.py
            loop.run_until_complete(main())
    finally:
        with contextlib.suppress(Exception):  # closing anyway
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        sock.close()
        if transcript is not None:
            transcript.close()
    if failed:
        raise failed[0]
    return 0

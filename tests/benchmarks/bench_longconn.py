"""Acked events/s through the long-connection platform to 50 minimal WebSocket clients in another process.

Run: ``python tests/benchmarks/bench_longconn.py [--events N] [--clients 50] [--concurrency C] [--lark K]``.

Measured in the same run, so the ratios are what matter on a noisy 2-core machine:

* ``engine``: the full path: ``Simulator.push`` -> ``LongConnChannel`` -> ``Platform.deliver`` (cluster
  choice, pbbp2 encode, send, ack parse, verdict, ``Attempt``/``Delivery`` records); goal >= 20k acked/s;
* ``thin``: the thinnest version on the same server and clients: pre-encoded frames written straight to
  the connections, acks only counted by the sans-IO sessions (no futures, verdicts or records);
* ``lark``: the platform's CPU time per event when the clients are real ``lark.ws.Client``s (another
  process), whose synchronous dispatch is much slower than the minimal clients.

Where the time goes (py-spy of the platform thread and gc.callbacks timings, 40k events, 2-core machine
shared with other jobs, so +-20% between runs): the full path costs ~80-100 us of platform CPU per event
against ~50 us for the thin one (which is mostly uvicorn/websockets: the per-frame ``transport.write``
and websockets' frame serialisation, ~25% of the profile, and the ack's read/parse). Of the engine's extra
~30-50 us, the garbage collector is the largest single part: the run keeps a ``Delivery`` + ``Attempt``
record per event, so full collections walk a growing heap (~0.6-0.9 s of gen-2 collections over the
whole run; with the collector disabled the same run does ~13k/s at ~75 us). The rest is spread thin:
attempt bookkeeping (``Platform.deliver``, ids, a future and a task per attempt, ~10 us), frame build and
ack parse (~6 us), envelope JSON (~1 us with orjson, was ~12 us with the stdlib). The platform runs on
one core (one event loop, the GIL), so the full path tops out near 1 s / 80 us = 12k acked events/s;
only the thin path reaches 20k+.
With real SDK clients, permessage-deflate (which they offer and uvicorn accepts) roughly doubles the
platform's CPU per event (~170 us against ~90 us; ``--no-deflate`` to compare). The minimal clients
never offer it (``compression=None``), so it is off for them.

``load --platform``: `feishu-sim load` in another process against the same platform and clients, with
one control-API call per event (``--platform-batch 1``) and with the batch push (the default); the
platform generates every event itself (Faker, ~40 us), which is what limits the batched run.

Envelopes are generated before the timed window (generation has its own benchmark, bench_generate.py).
The minimal clients decode every frame with protobuf and ack it (copy of the frame, ``{"code":200}``),
like the SDKs; they do not parse the event JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from simulator.loops import EventLoopChoice  # noqa: E402
from simulator.platform_server import ClientConfig, PlatformServer  # noqa: E402
from simulator.wire import frames as F  # noqa: E402

APP_ID, SECRET = "cli_a1b2c3d4e5f60718", "bench-secret"
CONFIG = ClientConfig(reconnect_count=-1, reconnect_interval=1, reconnect_nonce=0, ping_interval=60)


# -- client process -------------------------------------------------------------------------------------

async def minimal_clients(domain: str, n: int) -> None:
    import websockets

    from tests.longconn.miniclient import discover

    async def one() -> None:
        doc = await asyncio.to_thread(discover, domain, APP_ID, SECRET)
        url = doc["data"]["URL"]
        service = int(url.split("service_id=")[1].split("&")[0])
        async with websockets.connect(url, compression=None, max_size=F.MAX_CLIENT_MESSAGE,
                                      ping_interval=None) as ws:
            await ws.send(F.encode(F.control_frame(F.MessageType.PING, service=service)))
            ack_payload = b'{"code":200}'
            frame = F.Frame()
            async for message in ws:
                if isinstance(message, str):  # the platform sends binary frames only
                    continue
                frame.ParseFromString(message)
                if frame.method != F.FrameType.DATA:
                    continue
                frame.payload = ack_payload
                frame.headers.add(key="biz_rt", value="0")
                await ws.send(frame.SerializeToString())

    await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)


def lark_clients(domain: str, n: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.longconn.lark_ws import LarkWsThread

    threads = [LarkWsThread(domain, APP_ID, SECRET, on_share_ended=lambda _e: None).start() for _ in range(n)]
    sys.stdin.read()  # until the parent closes our stdin
    for t in threads:
        t.stop()


# -- parent ---------------------------------------------------------------------------------------------

def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of another process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn(mode: str, domain: str, n: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, __file__, mode, domain, str(n)], env=env, stdin=subprocess.PIPE)


def thin_blast(server: PlatformServer, envelopes: list[dict[str, Any]]) -> float:
    """Pre-encoded frames round-robin to every connection, acks counted by the sessions; seconds taken."""
    platform = server.platform
    payloads = [json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode() for e in envelopes]

    async def go() -> float:
        conns = list(platform.connections.values())

        def answered() -> int:  # acks after the 3 s budget count as late, but they are still answers
            return sum(c.session.counters.acks + c.session.counters.late_acks for c in conns)

        before = answered()
        t0 = time.perf_counter()
        for i, payload in enumerate(payloads):
            conn = conns[i % len(conns)]
            for data in conn.session.send_event(payload, message_id=f"thin-{i}", trace_id="t", now=t0):
                await conn.send(data)
            if i % 512 == 511:
                await asyncio.sleep(0)
        while answered() - before < len(payloads):
            await asyncio.sleep(0.001)
        return time.perf_counter() - t0

    return server._call(go, timeout=120)


def load_run(domain: str, rate: int, duration: float, batch: str) -> float:
    """Acked events/s of a `feishu-sim load --platform` run in another process (over its whole run)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "simulator", "load", "--platform", domain, "--rate", str(rate),
                        "--duration", f"{duration:g}", "--connections", "32", "--platform-batch", batch,
                        "--report", str(report), "-q"], env=env, check=False, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        counts = json.loads(report.read_text())["counts"]
    print(f"  load --platform-batch {batch}: {counts['acked']:,} acked of {counts['sent']:,} sent "
          f"({counts['unsent']:,} unsent) in {duration:g} s scheduled, {wall:.1f} s wall")
    return float(counts["acked"]) / duration


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=40_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=1000)
    ap.add_argument("--lark", type=int, default=2, help="real lark.ws.Clients for the CPU/event figure (0: skip)")
    ap.add_argument("--lark-events", type=int, default=2000)
    ap.add_argument("--no-deflate", action="store_true",
                    help="refuse permessage-deflate (the SDK clients offer it; uvicorn accepts it by default)")
    ap.add_argument("--load-rate", type=int, default=20_000,
                    help="offered rate of the `feishu-sim load --platform` comparison (0: skip)")
    ap.add_argument("--load-duration", type=float, default=4.0)
    ap.add_argument("--no-uvloop", action="store_true", help="run the platform on the stdlib asyncio loop")
    args = ap.parse_args()
    event_loop: EventLoopChoice = "asyncio" if args.no_uvloop else "auto"
    print(f"platform loop: {event_loop}")

    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=CONFIG, seed=1,
                        ws_per_message_deflate=not args.no_deflate, event_loop=event_loop) as server:
        t = time.perf_counter()
        envelopes = [server.generate() for _ in range(min(args.events, 2000))]
        envelopes = [envelopes[i % len(envelopes)] for i in range(args.events)]
        print(f"generated {min(args.events, 2000)} distinct envelopes in {time.perf_counter() - t:.1f} s "
              f"(reused round-robin; outside the timed window)")

        proc = spawn("_child-minimal", server.domain, args.clients)
        try:
            server.wait_for_clients(args.clients, timeout=30)
            server.push_envelopes(envelopes[:2000], concurrency=args.concurrency)  # warm-up
            server.clear()
            c0, t0, k0 = cpu(), time.perf_counter(), proc_cpu(proc.pid)
            deliveries = server.push_envelopes(envelopes, concurrency=args.concurrency, timeout=300)
            wall, cpu_used, clients_cpu = time.perf_counter() - t0, cpu() - c0, proc_cpu(proc.pid) - k0
            acked = sum(d.acked for d in deliveries)
            engine_rate = acked / wall
            c1, k1 = cpu(), proc_cpu(proc.pid)
            thin_wall = thin_blast(server, envelopes)
            thin_cpu, thin_clients_cpu = cpu() - c1, proc_cpu(proc.pid) - k1
            thin_rate = len(envelopes) / thin_wall
        finally:
            proc.kill()
            proc.wait()
        print(f"engine: {acked}/{len(deliveries)} acked in {wall:.2f} s = {engine_rate:,.0f} acked events/s "
              f"(CPU per event: platform {cpu_used / len(deliveries) * 1e6:.0f} us, clients "
              f"{clients_cpu / len(deliveries) * 1e6:.0f} us; CPU use: platform {cpu_used / wall:.0%}, clients "
              f"{clients_cpu / wall:.0%}; goal >= 20,000/s)")
        print(f"thin:   {len(envelopes)} acked in {thin_wall:.2f} s = {thin_rate:,.0f} acked events/s "
              f"(CPU per event: platform {thin_cpu / len(envelopes) * 1e6:.0f} us, clients "
              f"{thin_clients_cpu / len(envelopes) * 1e6:.0f} us; CPU use: platform {thin_cpu / thin_wall:.0%}, "
              f"clients {thin_clients_cpu / thin_wall:.0%})")
        print(f"ratio engine/thin: {engine_rate / thin_rate:.2f}")

        if args.load_rate:
            # `feishu-sim load --platform` (another process) against the same platform and clients: one
            # control-API call per event against the batch push.
            server.clear()
            proc = spawn("_child-minimal", server.domain, args.clients)
            try:
                server.wait_for_clients(args.clients, timeout=30)
                rates = {}
                for batch in ("1", "256"):
                    server.clear()
                    rates[batch] = load_run(server.domain, args.load_rate, args.load_duration, batch)
            finally:
                proc.kill()
                proc.wait()
            print(f"load --platform: offered {args.load_rate:,}/s for {args.load_duration:g} s: acked/s with one call "
                  f"per event {rates['1']:,.0f}, batched {rates['256']:,.0f} "
                  f"(ratio {rates['256'] / max(rates['1'], 1):.1f}x)")

        if args.lark:
            # One lark.ws.Client per process: the SDK keeps its event loop in a module global.
            server.clear()
            procs = [spawn("_child-lark", server.domain, 1) for _ in range(args.lark)]
            try:
                server.wait_for_clients(args.lark, timeout=30)
                server.push_envelopes(envelopes[:200], concurrency=50)
                c0, t0 = cpu(), time.perf_counter()
                k0 = sum(proc_cpu(p.pid) for p in procs)
                deliveries = server.push_envelopes(envelopes[:args.lark_events], concurrency=50, timeout=300)
                wall, cpu_used = time.perf_counter() - t0, cpu() - c0
                clients_cpu = sum(proc_cpu(p.pid) for p in procs) - k0
            finally:
                for p in procs:
                    assert p.stdin is not None
                    p.stdin.close()
                for p in procs:
                    try:
                        p.wait(20)
                    except subprocess.TimeoutExpired:
                        p.kill()
            acked = sum(d.acked for d in deliveries)
            n = len(deliveries)
            print(f"lark:   {acked}/{n} acked by {args.lark} lark.ws.Client process(es) in {wall:.2f} s = "
                  f"{acked / wall:,.0f} acked/s; CPU per event: platform {cpu_used / n * 1e6:.0f} us, "
                  f"lark clients {clients_cpu / n * 1e6:.0f} us")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_child-minimal":
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(minimal_clients(sys.argv[2], int(sys.argv[3])))
    elif len(sys.argv) == 4 and sys.argv[1] == "_child-lark":
        lark_clients(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())

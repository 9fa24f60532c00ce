"""``feishu-sim push URL`` throughput against concurrency, next to ``feishu-sim load`` on the same sink.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_push.py [--count 20000] [--rounds 3]``
(needs nginx: ``apt-get install -y nginx-light``).

Every figure comes from this one run against one nginx sink on loopback (1 worker, answers 200), the
configurations interleaved round by round and the median taken, because the machine is shared:

* ``push -c 1`` and ``push -c 32``: the command as a user runs it (``--count N --encrypt-key K``, its
  verdict lines to /dev/null), in a subprocess. ``e2e`` is N / wall time of the whole command; ``steady``
  leaves out the fixed cost of a run (interpreter, imports, Faker's start-up), measured as the wall time
  of ``push --count 1`` in the same round;
* ``load -c 32``: ``feishu-sim load`` at a rate above what it can do, 32 connections: its steady acked/s;
* ``httpx``: the previous live-URL path (``WebhookChannel`` on httpx's pool, the engine otherwise the
  same), forced by injecting an httpx transport, with fewer events (it is ~10x slower).

Goals (issue 17): push -c 32 >= 10x push -c 1, and >= 0.5x load -c 32.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks._sinks import Nginx  # noqa: E402

KEY = "bench-encrypt-key-0123456789abcd"
ET = "vc.meeting.share_ended_v1"

HTTPX_PUSH = """
import asyncio, socket, sys, time, httpx
from simulator.config import AppProfile, SimConfig
from simulator.engine.core import Simulator
url, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
async def main():
    sim = Simulator(SimConfig(app=AppProfile(encrypt_key=sys.argv[4])))
    envs = sim.generate_many(sys.argv[5], n)
    t = time.perf_counter()
    transport = httpx.AsyncHTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                                         limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))
    async with sim.webhook(url, transport=transport) as ch:  # what WebhookChannel makes for itself
        await sim.push(ch, envs, concurrency=c)
    dt = time.perf_counter() - t
    assert sim.summary().acked == n, sim.summary()
    print(n / dt)
asyncio.run(main())
"""


def say(*parts: object) -> None:
    print(*parts, flush=True)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


CPU: dict[str, list[float]] = {}  # CPU seconds per event of each configuration's process, per round


def push_wall(url: str, count: int, concurrency: int) -> float:
    t, c = time.perf_counter(), child_cpu()
    proc = subprocess.run([sys.executable, "-m", "simulator", "push", url, ET, "--count", str(count), "--encrypt-key",
                           KEY, "--concurrency", str(concurrency)], env=env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=600, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0 or f"{count}/{count} acked" not in proc.stderr:
        raise RuntimeError(f"push -c {concurrency} failed: {proc.stderr[-500:]}")
    CPU.setdefault(f"c{concurrency}/{count}", []).append(child_cpu() - c)
    return wall


def load_rate(url: str, connections: int, seconds: float, rate: int = 60_000, key: str = "load") -> float:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        c = child_cpu()
        subprocess.run([sys.executable, "-m", "simulator", "load", url, ET, "--rate", str(rate), "--duration",
                        str(seconds), "--connections", str(connections), "--quiet", "--encrypt-key", KEY, "--report",
                        str(report)], env=env(), capture_output=True, timeout=seconds + 120, check=False)
        doc = json.loads(report.read_text())
        rows = doc["seconds"]
    CPU.setdefault(key, []).append(child_cpu() - c)
    CPU.setdefault(key + "-acked", []).append(int(doc["counts"]["acked"]))
    inner = rows[1:-1] if len(rows) > 3 else rows  # whole seconds, first and last dropped
    return sum(int(r["acked"]) for r in inner) / max(1, len(inner))


def httpx_rate(url: str, count: int, concurrency: int) -> float:
    out = subprocess.run([sys.executable, "-c", HTTPX_PUSH, url, str(count), str(concurrency), KEY, ET], env=env(),
                         capture_output=True, text=True, timeout=600, check=False)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"httpx push failed: {out.stderr[-500:]}") from None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--httpx-count", type=int, default=3_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--load-seconds", type=int, default=6)
    args = ap.parse_args(argv)
    say(f"push benchmark on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared machine: "
        "ratios within this run are what counts)")
    runs: dict[str, list[float]] = {k: [] for k in ("fixed", "c1", "c32", "load32", "httpx1", "httpx32")}
    n = args.count
    with Nginx(workers=1) as url:
        push_wall(url, 200, 1)  # warm the page cache and the sink
        for r in range(args.rounds):
            runs["fixed"].append(push_wall(url, 1, 1))
            runs["c1"].append(push_wall(url, n, 1))
            runs["c32"].append(push_wall(url, n, 32))
            runs["load32"].append(load_rate(url, 32, args.load_seconds))
            load_rate(url, 32, 0.1, rate=10, key="load-fixed")  # the fixed cost of a load run
            runs["httpx1"].append(httpx_rate(url, args.httpx_count, 1))
            runs["httpx32"].append(httpx_rate(url, args.httpx_count, 32))
            say(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3g}" for k, v in runs.items()))
    med = {k: statistics.median(v) for k, v in runs.items()}
    fixed = med["fixed"]
    res: dict[str, Any] = {"count": n, "fixed_s": round(fixed, 3)}
    for c in ("c1", "c32"):
        res[f"{c}_e2e"] = n / med[c]
        res[f"{c}_steady"] = (n - 1) / max(1e-9, med[c] - fixed)
    res["load32"] = med["load32"]
    res["httpx1"], res["httpx32"] = med["httpx1"], med["httpx32"]
    say(f"\n== push URL --count {n:,} --encrypt-key K (nginx on loopback; median of {args.rounds} rounds) ==")
    say(f"  fixed cost of a run (push --count 1): {fixed:.2f} s")
    for c, label in (("c1", "--concurrency 1 "), ("c32", "--concurrency 32")):
        say(f"  push {label}: {res[c + '_e2e']:8,.0f} events/s end to end, {res[c + '_steady']:8,.0f}/s steady")
    say(f"  load --connections 32 (saturated, steady): {res['load32']:8,.0f} acked/s")
    say(f"  previous path (httpx pool, engine, {args.httpx_count:,} events): -c 1 {res['httpx1']:,.0f}/s, "
        f"-c 32 {res['httpx32']:,.0f}/s")
    ratios = {
        "c32/c1 steady (goal >= 10)": res["c32_steady"] / res["c1_steady"],
        "c32/c1 end to end": res["c32_e2e"] / res["c1_e2e"],
        "c32 steady / load c32 (goal >= 0.5)": res["c32_steady"] / res["load32"],
        "c32 end to end / load c32": res["c32_e2e"] / res["load32"],
        "c32 steady / previous c1 (httpx)": res["c32_steady"] / res["httpx1"],
        "c32 steady / previous c32 (httpx)": res["c32_steady"] / res["httpx32"],
        "c1 steady / previous c1 (httpx)": res["c1_steady"] / res["httpx1"],
    }
    # CPU per event: less sensitive to other jobs than rates (the process's own work, wherever it waited).
    fixed_cpu = statistics.median(CPU["c1/1"])
    cpu_us = {c: (statistics.median(CPU[f"{c}/{n}"]) - fixed_cpu) / n * 1e6 for c in ("c1", "c32")}
    load_fixed = statistics.median(CPU["load-fixed"])
    cpu_us["load32"] = statistics.median((c - load_fixed) / n for c, n in zip(CPU["load"], CPU["load-acked"],
                                                                              strict=True)) * 1e6
    say(f"  CPU per event (fixed cost left out): push -c 1 {cpu_us['c1']:.0f} us, push -c 32 {cpu_us['c32']:.0f} us, "
        f"load -c 32 {cpu_us['load32']:.0f} us")
    res["cpu_us"] = {k: round(v, 1) for k, v in cpu_us.items()}
    ratios["load c32 CPU / push c32 CPU per event"] = cpu_us["load32"] / cpu_us["c32"]
    say("  ratios:")
    for name, value in ratios.items():
        say(f"    {name:<40} {value:6.2f}x")
    res["ratios"] = {k: round(v, 3) for k, v in ratios.items()}
    res["runs"] = runs
    say("\n" + json.dumps(res, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""RSS of a long platform run with bounded delivery retention (``keep_deliveries``) against keeping all.

Run: ``python tests/benchmarks/bench_longconn_rss.py [--events 200000] [--keep 10000] [--chunk 20000]``.

Pushes ``events`` ready-made envelopes in chunks through the platform to 50 minimal WebSocket clients in
another process (those of ``bench_longconn.py``) and prints the platform process's RSS after each chunk,
once with every delivery kept and once with only the newest ``keep`` (plus the running summary). The
pushes' own return values are dropped at once, as a long-running ``feishu-sim serve`` does.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from simulator.platform_server import PlatformServer  # noqa: E402
from tests.benchmarks.bench_longconn import APP_ID, CONFIG, SECRET, spawn  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(events: int, chunk: int, keep: int | None, clients: int) -> list[float]:
    curve = []
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=CONFIG, seed=1, event_loop="auto",
                        keep_deliveries=keep) as server:
        envelopes = [server.generate() for _ in range(1000)]
        proc = spawn("_child-minimal", server.domain, clients)
        try:
            server.wait_for_clients(clients, timeout=30)
            done = 0
            while done < events:
                n = min(chunk, events - done)
                batch = [envelopes[(done + i) % len(envelopes)] for i in range(n)]
                acked = sum(d.acked for d in server.push_envelopes(batch, concurrency=1000, timeout=600))
                done += n
                gc.collect()
                curve.append(rss_mb())
                print(f"  keep={keep}: {done:>8,} events ({acked}/{n} acked), RSS {curve[-1]:.0f} MB", flush=True)
            s = server.summary()
            print(f"  summary: {s.total:,} deliveries, {s.acked:,} acked; retained {len(server.deliveries):,}")
        finally:
            proc.kill()
            proc.wait()
    return curve


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--chunk", type=int, default=20_000)
    ap.add_argument("--keep", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--unbounded", action="store_true", help="also run keeping every delivery (for comparison)")
    args = ap.parse_args()
    bounded = run(args.events, args.chunk, args.keep, args.clients)
    half = len(bounded) // 2
    print(f"bounded (keep {args.keep:,}): RSS {bounded[0]:.0f} MB after the first chunk, {bounded[half]:.0f} MB "
          f"halfway, {bounded[-1]:.0f} MB at the end (growth in the second half "
          f"{bounded[-1] - bounded[half]:+.0f} MB)")
    if args.unbounded:
        unbounded = run(args.events, args.chunk, None, args.clients)
        print(f"unbounded: RSS {unbounded[0]:.0f} MB after the first chunk, {unbounded[-1]:.0f} MB at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())

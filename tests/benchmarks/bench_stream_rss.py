"""Peak RSS of the streaming pushes, at two counts: memory must not grow with ``--count``.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_stream_rss.py [platform|faults|scenario] [--counts 20000,200000]``.

* ``platform``: ``feishu-sim serve`` (its own process; ``--keep-deliveries`` as given, default 1,000 so that
  the bounded record does not hide the rest) with 50 minimal WebSocket clients (``bench_longconn.py``'s, in
  another process: they decode every frame and ack it), then ``feishu-sim push --platform DOMAIN --count N``
  (verdict lines to /dev/null). Reports the peak RSS (``VmHWM``) of ``serve`` and of the ``push`` command.
* ``faults``: ``feishu-sim push URL --faults SPEC --count N`` to an nginx sink on loopback (``_sinks.py``).
* ``scenario``: ``feishu-sim push URL --scenario busy-group --retries 1 --count RUNS`` to the same sink (the
  instant clock: runs drawn one at a time).

Every process is started here, on loopback, and stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.benchmarks._sinks import Nginx  # noqa: E402
from tests.benchmarks.bench_push_platform import env, served  # noqa: E402

FAULTS = "dup=0.05,reorder=5,delay=200ms..2s,drop=0.05"


def hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(argv: list[str], timeout: float = 1800) -> tuple[float, float, str]:
    """Run ``argv`` under ``/usr/bin/time -v``: (wall seconds, peak RSS MB, stderr tail)."""
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "simulator", *argv], env=env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - t
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if m is None:
        raise RuntimeError(f"no RSS from /usr/bin/time: {proc.stderr[-800:]}")
    summary = [line for line in proc.stderr.splitlines() if " acked " in line or "error" in line][-1:]
    return wall, int(m.group(1)) / 1024, "".join(summary) or proc.stderr[-300:]


def platform(count: int, n_clients: int, keep: int) -> str:
    with served(n_clients, "--keep-deliveries", str(keep)) as (serve, domain):
        wall, push_mb, tail = timed(["push", "--platform", domain, "--count", str(count), "--wait-replies", "0"])
        serve_mb = hwm_mb(serve.pid)
    return (f"--count {count:>7,}: serve peak RSS {serve_mb:6.0f} MB, push --platform peak RSS {push_mb:5.0f} MB, "
            f"{wall:5.1f} s  [{tail.strip()}]")


def webhook(argv: list[str], what: str) -> str:
    with Nginx() as url:
        wall, mb, tail = timed(["push", url, *argv])
    return f"{what}: push peak RSS {mb:6.0f} MB, {wall:6.1f} s  [{tail.strip()}]"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("platform", "faults", "scenario"))
    ap.add_argument("--counts", default="20000,200000")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keep", type=int, default=1000, help="serve --keep-deliveries")
    ap.add_argument("--faults", default=FAULTS)
    args = ap.parse_args(argv)
    print(f"{args.mode} on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    for count in (int(c) for c in args.counts.split(",")):
        if args.mode == "platform":
            print(platform(count, args.clients, args.keep), flush=True)
        elif args.mode == "faults":
            print(webhook(["--faults", args.faults, "--seed", "1", "--count", str(count), "-c", "64"],
                          f"--faults {args.faults} --count {count:>7,}"), flush=True)
        else:
            print(webhook(["--scenario", "busy-group", "--retries", "1", "--seed", "1", "--count", str(count),
                           "-c", "64"], f"--scenario busy-group --count {count:>5,} runs"), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""``generate`` streams: the first event comes out at once and memory stays flat, whatever ``--count``.

Run: ``python tests/benchmarks/bench_generate_stream.py [--events N]`` (default 1,000,000; ~2 minutes on a
shared 2-core machine). Two measurements of a real ``feishu-sim generate`` process:

* time to the first line: from starting the process (interpreter and imports included) until its first
  line arrives through a pipe; the process is then stopped (goal: <= 1 s);
* ``generate --count N > /dev/null`` to the end: peak RSS of the process (``wait4``'s ``ru_maxrss``), RSS
  sampled along the way (flat: the last sample within a few MB of the first), wall time and events/s
  (goal: peak RSS <= 120 MB).

Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOAL_FIRST_LINE_S = 1.0
GOAL_PEAK_RSS_MB = 120.0


def argv(n: int) -> list[str]:
    return [sys.executable, "-m", "simulator", "generate", "--count", str(n), "--seed", "1"]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def first_line_s(n: int) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv(n), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.kill()
    proc.wait()
    assert line.startswith(b'{"schema":"2.0"'), line[:80]
    return elapsed


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def full_run(n: int) -> tuple[float, float, list[float]]:
    """(wall seconds, peak RSS MB, RSS samples MB) of ``generate --count n > /dev/null``."""
    samples: list[float] = []
    with open(os.devnull, "wb") as sink:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv(n), stdout=sink, stderr=subprocess.DEVNULL, env=env())
        done = threading.Event()

        def sample() -> None:
            while not done.wait(2.0):
                value = rss_mb(proc.pid)
                if value is not None:
                    samples.append(value)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, proc.returncode
    return wall, usage.ru_maxrss / 1024, samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    first = min(first_line_s(args.events) for _ in range(3))
    print(f"first line after {first * 1000:.0f} ms (best of 3; goal <= {GOAL_FIRST_LINE_S * 1000:.0f} ms)")
    wall, peak, samples = full_run(args.events)
    print(f"generate --count {args.events:,} > /dev/null: {wall:.1f} s, {args.events / wall:,.0f} events/s, "
          f"peak RSS {peak:.1f} MB (goal <= {GOAL_PEAK_RSS_MB:.0f} MB)")
    if samples:
        print(f"RSS along the way: first {samples[0]:.1f} MB, last {samples[-1]:.1f} MB, max {max(samples):.1f} MB "
              f"({len(samples)} samples)")
    ok = first <= GOAL_FIRST_LINE_S and peak <= GOAL_PEAK_RSS_MB
    print("OK" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

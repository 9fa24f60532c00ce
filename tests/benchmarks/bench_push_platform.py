"""``feishu-sim push --platform`` through ``feishu-sim serve`` against the thinnest platform path, same clients.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_push_platform.py [--count 100000] [--clients 50] [--rounds 1]``.

Both sides serve 50 minimal WebSocket clients (``bench_longconn.py``'s, in another process: they decode
every frame and ack it) and are measured in the same run, round by round:

* ``push``: ``feishu-sim serve`` (its own process, default flags but a quiet ClientConfig) and
  ``feishu-sim push --platform DOMAIN --count N`` with default flags (its verdict lines to /dev/null):
  acked/s = N / wall time of the push command, and the ``serve`` process's CPU per event (from /proc);
* ``thin``: ``bench_longconn.py``'s thin path in a process of its own: a ``PlatformServer`` writing
  pre-encoded frames straight to the connections, acks only counted by the sessions (no generation,
  futures, verdicts, records or control API); acked/s and that process's CPU per event.

Goals (issue 17): push >= 0.5x thin in acked/s, every event acked; serve's CPU per event <= 1.5x thin's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

APP_ID, SECRET = "cli_a1b2c3d4e5f60718", "bench-secret"


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clients(domain: str, n: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(HERE / "bench_longconn.py"), "_child-minimal", domain, str(n)],
                            env=env(), stdin=subprocess.PIPE)


def live(domain: str) -> int:
    with urllib.request.urlopen(domain + "/_sim/connections", timeout=10) as resp:
        return len(json.loads(resp.read()))


def wait_live(domain: str, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while live(domain) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{live(domain)} of {n} clients connected")
        time.sleep(0.1)


def push_cli(domain: str, count: int) -> float:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "simulator", "push", "--platform", domain, "--count", str(count)],
                          env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=900,
                          check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0 or f"{count}/{count} acked" not in proc.stderr:
        raise RuntimeError(f"push --platform failed (exit {proc.returncode}): {proc.stderr[-800:]}")
    return wall


@contextlib.contextmanager
def served(n_clients: int, *extra: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``feishu-sim serve`` in its own process (quiet ClientConfig, ``extra`` flags) with ``n_clients`` minimal
    clients connected: ``(serve process, domain)``; both are stopped on the way out."""
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        serve = subprocess.Popen([sys.executable, "-m", "simulator", "serve", "--port", "0", "--ready-file", str(ready),
                                  "--app-id", APP_ID, "--app-secret", SECRET, "--ping-interval", "60",
                                  "--reconnect-nonce", "0", "--reconnect-interval", "1", *extra], env=env(),
                                 stdout=subprocess.DEVNULL)
        kids = None
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                if time.monotonic() > deadline or serve.poll() is not None:
                    raise RuntimeError("serve did not start")
                time.sleep(0.05)
            domain = ready.read_text().strip()
            kids = clients(domain, n_clients)
            wait_live(domain, n_clients)
            yield serve, domain
        finally:
            if kids is not None:
                kids.kill()
                kids.wait()
            serve.terminate()
            try:
                serve.wait(10)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()


def run_push(count: int, n_clients: int) -> dict[str, float]:
    with served(n_clients) as (serve, domain):
        push_cli(domain, 2000)  # warm-up
        k0 = proc_cpu(serve.pid)
        wall = push_cli(domain, count)
        cpu = proc_cpu(serve.pid) - k0
    return {"rate": count / wall, "wall_s": wall, "cpu_us": cpu / count * 1e6}


def thin_child(count: int, n_clients: int) -> None:
    """Child mode: the thin path on a PlatformServer of this process; prints its rate and CPU."""
    import resource

    from simulator.platform_server import PlatformServer
    from tests.benchmarks.bench_longconn import CONFIG, thin_blast

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    with PlatformServer(app_id=APP_ID, app_secret=SECRET, client_config=CONFIG, seed=1) as server:
        envelopes = [server.generate() for _ in range(2000)]
        envelopes = [envelopes[i % len(envelopes)] for i in range(count)]
        kids = clients(server.domain, n_clients)
        try:
            server.wait_for_clients(n_clients, timeout=60)
            thin_blast(server, envelopes[:2000])  # warm-up
            c0 = cpu()
            wall = thin_blast(server, envelopes)
            used = cpu() - c0
        finally:
            kids.kill()
            kids.wait()
    print(json.dumps({"rate": count / wall, "wall_s": wall, "cpu_us": used / count * 1e6}), flush=True)


def run_thin(count: int, n_clients: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "_thin", str(count), str(n_clients)], env=env(),
                         capture_output=True, text=True, timeout=900, check=False)
    try:
        doc: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"thin path failed: {out.stderr[-800:]}") from None
    return doc


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args(argv)
    print(f"push --platform benchmark on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
          "(shared machine: the ratios within this run are what counts)", flush=True)
    rows: list[dict[str, Any]] = []
    for r in range(args.rounds):
        push = run_push(args.count, args.clients)
        thin = run_thin(args.count, args.clients)
        rows.append({"push": push, "thin": thin})
        print(f"  round {r + 1}: push --platform {push['rate']:,.0f} acked/s (serve CPU {push['cpu_us']:.0f} "
              f"us/event); thin {thin['rate']:,.0f} acked/s (CPU {thin['cpu_us']:.0f} us/event)", flush=True)
    best = {k: {m: sorted(row[k][m] for row in rows)[len(rows) // 2] for m in ("rate", "cpu_us")}
            for k in ("push", "thin")}
    rate_ratio = best["push"]["rate"] / best["thin"]["rate"]
    cpu_ratio = best["push"]["cpu_us"] / best["thin"]["cpu_us"]
    print(f"\n== push --platform --count {args.count:,} to {args.clients} minimal clients (median of {args.rounds}) ==")
    print(f"  push --platform (serve + push, default flags): {best['push']['rate']:8,.0f} acked/s, "
          f"serve CPU {best['push']['cpu_us']:.0f} us/event")
    print(f"  thin path (same clients):                      {best['thin']['rate']:8,.0f} acked/s, "
          f"CPU {best['thin']['cpu_us']:.0f} us/event")
    print(f"  ratio acked/s push/thin: {rate_ratio:.2f}x (goal >= 0.5)")
    print(f"  ratio CPU/event serve/thin: {cpu_ratio:.2f}x (goal <= 1.5)")
    print(json.dumps({"rounds": rows, "rate_ratio": round(rate_ratio, 3), "cpu_ratio": round(cpu_ratio, 3)}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_thin":
        thin_child(int(sys.argv[2]), int(sys.argv[3]))
    else:
        raise SystemExit(main(sys.argv[1:]))

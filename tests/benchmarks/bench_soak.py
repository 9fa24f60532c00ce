"""Soak: N minutes of mixed faults at a steady rate against `feishu-sim serve` (50 long-connection
clients) and `feishu-sim receive`, with the RSS of both sampled. Passes when memory is flat and no
verdict is late.

Run: ``python tests/benchmarks/bench_soak.py [--minutes 10] [--rate 200] [--part both|serve|receive]``.

``serve`` (another process; ``--keep-deliveries 10000``), driven over its control API from this process:

* 50 minimal clients in another process, reconnecting whenever closed: 38 ack at once, 4 answer code 500
  to every third event, 3 ack after 0-4 s (past the 3 s budget: timeouts), 2 never ack, 3 stop reading
  their socket for 8 s out of every 20 (the platform's sends to them back up);
* ``/_sim/push/batch`` every 0.25 s with rate/4 events, and every 5 s a ``/_sim/push`` of 4 events of
  300 KB (what fills a non-reading client's socket);
* platform faults in a 60 s cycle: one connection closed every 10 s, acks judged 1 s late for 5 s,
  pings unanswered for 5 s, and every connection closed (a service restart) once a minute;
* **late**: a verdict past the ack budget + 1 s (a batch call's duration bounds its verdicts; a push
  answer carries each attempt's latency).

``receive`` (another process):

* ``feishu-sim load`` at the same steady rate (latency from the intended send time; late: over 3 s);
* every 15 s a ``push`` of 50 events with engine faults ``dup=0.2,dup_new_id=0.1,drop=0.2,reorder=5`` and
  2 retries at time scale 0.001 (every attempt acked or its answer dropped by the fault, within 3 s);
* hostile traffic every second: a 2 MiB body, a chunked 3 MiB body, 200k-deep JSON (validly sealed), a
  bad signature, an endless header; and 100 slowloris connections held throughout.

Flat memory (``memory_verdict``): RSS sampled every 5 s grows by less than max(15 MB, 15 %) over the
second half.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from simulator.rand import SimRandom  # noqa: E402
from simulator.wire import frames as F  # noqa: E402
from simulator.wire.seal import Sealer  # noqa: E402
from tests.door import Loris, proc_status, slowloris  # noqa: E402

APP_ID, SECRET = "cli_a1b2c3d4e5f60718", "soak-secret"
KEY, TOKEN = "soak-key", "soak-token"
ACK_BUDGET_S, SLACK_S = 3.0, 1.0
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


# -- the 50 clients (child process) --------------------------------------------------------------------------
def behaviour(i: int) -> str:
    return "good" if i < 38 else "nack" if i < 42 else "slow" if i < 45 else "silent" if i < 47 else "staller"


async def one_client(domain: str, i: int) -> None:
    import websockets

    sys.path.insert(0, str(ROOT / "tests" / "longconn"))
    from miniclient import discover  # type: ignore[import-not-found]

    kind, rng, seen = behaviour(i), random.Random(i), 0
    while True:
        try:
            doc = await asyncio.to_thread(discover, domain, APP_ID, SECRET)
            url = doc["data"]["URL"]
            service = int(url.split("service_id=")[1].split("&")[0])
            async with websockets.connect(url, compression=None, max_size=F.MAX_CLIENT_MESSAGE, ping_interval=None,
                                          max_queue=1 if kind == "staller" else 16) as ws:
                await ws.send(F.encode(F.control_frame(F.MessageType.PING, service=service)))
                reassembler, stall_at = F.Reassembler(), time.monotonic() + 20
                while True:
                    if kind == "staller" and time.monotonic() > stall_at:
                        await asyncio.sleep(8)  # not reading: websockets stops reading the socket
                        stall_at = time.monotonic() + 12
                    message = await ws.recv()
                    frame = F.decode(message if isinstance(message, bytes) else message.encode())
                    if frame.method != F.FrameType.DATA or reassembler.feed(frame, time.monotonic()) is None:
                        continue
                    seen += 1
                    code = 500 if kind == "nack" and seen % 3 == 0 else 200
                    if kind == "silent":
                        continue
                    delay = rng.uniform(0, 4) if kind == "slow" else 0.0
                    asyncio.get_running_loop().call_later(delay, _ack, ws, frame, code)
        except Exception:
            await asyncio.sleep(0.5 + random.random())


def _ack(ws: Any, frame: F.Frame, code: int) -> None:
    ack = F.Frame()
    ack.CopyFrom(frame)
    ack.payload = json.dumps({"code": code}).encode()
    task = asyncio.ensure_future(ws.send(ack.SerializeToString()))
    task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a closed socket: nothing to do


def clients_main(domain: str, n: int) -> None:
    async def run() -> None:
        await asyncio.gather(*(one_client(domain, i) for i in range(n)))

    asyncio.run(run())


# -- helpers ---------------------------------------------------------------------------------------------
def start(args: list[str], tmp: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    ready = tmp / f"{name}.ready"
    proc = subprocess.Popen([sys.executable, "-m", "simulator", *args, "--ready-file", str(ready)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=(tmp / f"{name}.err").open("wb"))
    deadline = time.monotonic() + 30
    while not ready.exists() or not ready.read_text().strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{name} did not start: {(tmp / f'{name}.err').read_text()[-2000:]}")
        time.sleep(0.05)
    return proc, ready.read_text().split()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sampler(threading.Thread):
    def __init__(self, procs: dict[str, int], every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.procs, self.every, self.stop = procs, every, threading.Event()
        self.samples: dict[str, list[tuple[float, float]]] = {k: [] for k in procs}

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.is_set():
            for name, pid in self.procs.items():
                with contextlib.suppress(OSError, KeyError):
                    self.samples[name].append((time.monotonic() - t0, proc_status(pid, "VmRSS") / 1024))
            self.stop.wait(self.every)


def memory_verdict(samples: list[tuple[float, float]]) -> tuple[str, bool]:
    """Flat: over the second half (the first is warm-up: the receiver keeps its first 10,000 events whole,
    the platform its newest 10,000 deliveries), RSS grows by less than max(15 MB, 15 %)."""
    if len(samples) < 8:
        return "too few samples", False
    rss = [r for _, r in samples]
    mid = len(rss) // 2
    growth = rss[-1] - rss[mid]
    half = samples[mid:]
    n, mt, mr = len(half), sum(t for t, _ in half) / len(half), sum(r for _, r in half) / len(half)
    slope = sum((t - mt) * (r - mr) for t, r in half) / max(1e-9, sum((t - mt) ** 2 for t, _ in half)) * 60
    flat = growth < max(15.0, 0.15 * rss[mid])
    return (f"RSS {min(rss):.0f}-{max(rss):.0f} MB, {rss[mid]:.0f} MB at half-time -> {rss[-1]:.0f} MB at the end "
            f"({growth:+.1f} MB), second-half slope {slope:+.2f} MB/min over {n} samples"), flat


# -- serve -----------------------------------------------------------------------------------------------
def soak_serve(minutes: float, rate: int, n_clients: int, tmp: Path) -> dict[str, Any]:
    proc, domain = start(["serve", "--port", "0", "--seed", "1", "--app-id", APP_ID, "--app-secret", SECRET,
                          "--reconnect-interval", "1", "--reconnect-nonce", "0", "--ping-interval", "5",
                          "--keep-deliveries", "10000", "--faults", "drop=0.02"], tmp, "serve")
    clients = subprocess.Popen([sys.executable, __file__, "_clients", domain, str(n_clients)], env=ENV)
    http = httpx.Client(base_url=domain, timeout=60, trust_env=False,
                        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
    calls: list[tuple[str, float, dict[str, int], float]] = []  # kind, duration, verdicts, slowest attempt (s)
    lock = threading.Lock()

    def call(kind: str, path: str, body: dict[str, Any]) -> None:
        t0 = time.monotonic()
        try:
            doc = http.post(path, json=body).json()
        except httpx.HTTPError as exc:
            doc = {"error": repr(exc)}
        took = time.monotonic() - t0
        verdicts = doc.get("verdicts") or [d["final"] for d in doc.get("deliveries", [])] or ["error"]
        counts: dict[str, int] = {}
        for v in verdicts:
            counts[v] = counts.get(v, 0) + 1
        slowest = max((a["latency_ms"] / 1000 for d in doc.get("deliveries", []) for a in d["attempts"]), default=0.0)
        with lock:
            calls.append((kind, took, counts, slowest))

    deadline = time.monotonic() + 60
    while len(http.get("/_sim/connections").json()) < n_clients and time.monotonic() < deadline:
        time.sleep(0.2)
    sampler = Sampler({"serve": proc.pid})
    sampler.start()
    pool, per_tick = ThreadPoolExecutor(64), max(1, rate // 4)
    big = {"count": 4, "concurrency": 4, "overrides": {"event.meeting.topic": "x" * 300_000}}
    t0, tick, faults = time.monotonic(), 0, 0
    while time.monotonic() - t0 < minutes * 60:
        pool.submit(call, "batch", "/_sim/push/batch", {"count": per_tick, "concurrency": per_tick})
        if tick % 20 == 0:
            pool.submit(call, "big", "/_sim/push", big)
        if tick % 40 == 10:  # every 10 s, a fault: close one / acks late / pings off / a restart per minute
            faults += 1
            step = faults % 6
            if step == 0:
                http.post("/_sim/faults/reconnect", json={})
            elif step == 2:
                http.post("/_sim/faults/acks", json={"delay_s": 1.0})
                threading.Timer(5, lambda: http.post("/_sim/faults/acks", json={"delay_s": 0})).start()
            elif step == 4:
                http.post("/_sim/faults/pings", json={"answer": False})
                threading.Timer(5, lambda: http.post("/_sim/faults/pings", json={"answer": True})).start()
            else:
                conns = http.get("/_sim/connections").json()
                if conns:
                    http.post("/_sim/faults/close", json={"conn_id": random.choice(conns)["conn_id"]})
        tick += 1
        time.sleep(max(0.0, t0 + tick * 0.25 - time.monotonic()))
    pool.shutdown(wait=True)
    sampler.stop.set()
    sampler.join()
    state = http.get("/_sim/state").json()
    clients.kill()
    proc.terminate()
    proc.wait(10)
    return {"calls": calls, "rss": sampler.samples["serve"], "state": state}


def report_serve(result: dict[str, Any]) -> bool:
    calls = result["calls"]
    totals: dict[str, int] = {}
    for _, _, counts, _ in calls:
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    # A batch call's duration bounds its verdicts (it also holds the HTTP exchange and generating the events);
    # a /_sim/push answer carries each attempt's own verdict time.
    verdict_s = [(kind, slowest if kind == "big" else took) for kind, took, _, slowest in calls]
    late = [(kind, round(t, 2)) for kind, t in verdict_s if t > ACK_BUDGET_S + SLACK_S]
    longest = max((t for _, t in verdict_s), default=0.0)
    slowest_calls = sorted(((round(took, 2), kind) for kind, took, _, _ in calls), reverse=True)[:5]
    mem, flat = memory_verdict(result["rss"])
    counters = result["state"].get("counters", {})
    print(f"serve: {len(calls)} calls, {sum(totals.values()):,} verdicts {dict(sorted(totals.items()))}")
    print(f"  latest verdict {longest:.2f} s (budget {ACK_BUDGET_S:g} s + {SLACK_S:g} s); late: {late[:10]}; "
          f"slowest calls {slowest_calls}")
    print("  platform counters: " + ", ".join(f"{k}={v}" for k, v in sorted(counters.items())))
    print(f"  {mem}: {'flat' if flat else 'NOT FLAT'}")
    return not late and flat and "error" not in totals


# -- receive -----------------------------------------------------------------------------------------------
def hostile(url: str, stop: threading.Event, stats: dict[str, Any]) -> None:
    host, port = url.split("//")[1].split(":")[0], int(url.rsplit(":", 1)[1])
    sealer = Sealer(KEY, SimRandom(9))
    deep = sealer.seal(b"[" * 200_000, timestamp=int(time.time()))
    c = httpx.Client(timeout=10, trust_env=False)

    def timed(name: str, fn: Any) -> None:
        t0 = time.monotonic()
        try:
            status = fn()
        except (httpx.HTTPError, OSError) as exc:
            status = type(exc).__name__
        stats["answers"].setdefault(name, {}).setdefault(str(status), 0)
        stats["answers"][name][str(status)] += 1
        stats["longest"] = max(stats["longest"], time.monotonic() - t0)

    def endless_header() -> int | str:
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Long: ")
            with contextlib.suppress(OSError):
                while True:
                    s.sendall(b"a" * 65536)
            return s.recv(64)[9:12].decode() or "closed"

    while not stop.is_set():
        timed("2MiB", lambda: c.post(url + "/h", content=b"x" * (2 << 20)).status_code)
        timed("chunked 3MiB", lambda: c.post(url + "/h", content=(b"x" * 65536 for _ in range(48))).status_code)
        timed("deep JSON", lambda: c.post(url + "/h", content=deep.body, headers=deep.headers).status_code)
        timed("bad signature", lambda: c.post(url + "/h", content=deep.body,
                                              headers={**deep.headers, "X-Lark-Signature": "0" * 64}).status_code)
        timed("endless header", endless_header)
        stop.wait(1.0)


def soak_receive(minutes: float, rate: int, tmp: Path) -> dict[str, Any]:
    port = free_port()
    proc, url = start(["receive", "--port", str(port), "--encrypt-key", KEY, "--verification-token", TOKEN],
                      tmp, "receive")
    sampler = Sampler({"receive": proc.pid})
    sampler.start()
    report = tmp / "load.json"
    load = subprocess.Popen([sys.executable, "-m", "simulator", "load", url + "/webhook", "--rate", str(rate),
                             "--duration", f"{minutes * 60:g}s", "--encrypt-key", KEY, "--verification-token",
                             TOKEN, "--report", str(report), "-q"], env=ENV, stdout=subprocess.DEVNULL)
    stop, stats = threading.Event(), {"answers": {}, "longest": 0.0}
    threading.Thread(target=hostile, args=(url, stop, stats), daemon=True).start()
    loris_stop = threading.Event()

    def loris() -> None:
        async def run() -> None:
            ev, st = asyncio.Event(), Loris()
            task = asyncio.create_task(slowloris("127.0.0.1", port, 100, ev, st))
            while not loris_stop.is_set():
                await asyncio.sleep(0.5)
            ev.set()
            await task
            stats["slowloris"] = {"opened": st.opened, "closed_by_server": len(st.closed_after),
                                  "longest_s": round(max(st.closed_after, default=0.0), 2)}

        asyncio.run(run())

    lt = threading.Thread(target=loris, daemon=True)
    lt.start()
    pushes: list[dict[str, Any]] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < minutes * 60 - 5:
        out = subprocess.run([sys.executable, "-m", "simulator", "push", url + "/webhook", "--count", "50",
                              "--faults", "dup=0.2,dup_new_id=0.1,drop=0.2,reorder=5", "--retries", "2",
                              "--time-scale", "0.001", "--encrypt-key", KEY, "--verification-token", TOKEN,
                              "--json"], env=ENV, capture_output=True, text=True, timeout=120)
        doc = json.loads(out.stdout)
        attempts = [a for d in doc["deliveries"] for a in d["attempts"]]
        pushes.append({"summary": doc["summary"], "max_latency_ms": max((a["latency_ms"] for a in attempts), default=0),
                       "unexpected": sum(a["outcome"] not in ("acked", "dropped") for a in attempts)})
        time.sleep(max(0.0, 15 - (time.monotonic() - t0) % 15))
    load.wait(minutes * 60 + 120)
    for event in (stop, loris_stop, sampler.stop):
        event.set()
    lt.join(30)
    sampler.join()
    counts = httpx.get(url + "/_sim/received", trust_env=False).json()["counts"]
    proc.terminate()
    proc.wait(10)
    return {"load": json.loads(report.read_text()), "pushes": pushes, "hostile": stats,
            "rss": sampler.samples["receive"], "counts": counts}


def report_receive(result: dict[str, Any]) -> bool:
    load, c = result["load"], result["load"]["counts"]
    lat = load["latency_ms"]["percentiles_ms"]
    pushes = result["pushes"]
    not_acked = sum(p["summary"]["total"] - p["summary"]["acked"] for p in pushes)
    unexpected = sum(p["unexpected"] for p in pushes)
    push_late = max((p["max_latency_ms"] for p in pushes), default=0.0)
    mem, flat = memory_verdict(result["rss"])
    print(f"receive: load {c['sent']:,} sent, {c['acked']:,} acked, {c['timeout']} timeouts, {c['error']} errors; "
          f"latency p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms")
    print(f"  {len(pushes)} faulty pushes: {sum(p['summary']['total'] for p in pushes)} deliveries, "
          f"{sum(p['summary']['attempts'] for p in pushes)} attempts, {not_acked} not acked (answer dropped at every "
          f"attempt), {unexpected} attempts neither acked nor dropped, slowest attempt {push_late:.0f} ms")
    h = result["hostile"]
    print(f"  hostile: {json.dumps(h['answers'])}; slowest answer {h['longest']:.2f} s; "
          f"slowloris {h.get('slowloris')}")
    print(f"  receiver counts {result['counts']}")
    print(f"  {mem}: {'flat' if flat else 'NOT FLAT'}")
    return (flat and c["acked"] == c["sent"] and lat["max"] <= ACK_BUDGET_S * 1000 and unexpected == 0
            and push_late <= ACK_BUDGET_S * 1000)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=200, help="events per second to each server")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--part", choices=["both", "serve", "receive"], default="both")
    args = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, dict[str, Any]] = {}
        threads = []
        if args.part in ("both", "serve"):
            threads.append(threading.Thread(target=lambda: results.__setitem__(
                "serve", soak_serve(args.minutes, args.rate, args.clients, Path(tmp)))))
        if args.part in ("both", "receive"):
            threads.append(threading.Thread(target=lambda: results.__setitem__(
                "receive", soak_receive(args.minutes, args.rate, Path(tmp)))))
        print(f"soak: {args.minutes:g} min at {args.rate}/s ({args.part})", flush=True)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if "serve" in results:
            ok = report_serve(results["serve"]) and ok
        if "receive" in results:
            ok = report_receive(results["receive"]) and ok
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_clients":
        clients_main(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())

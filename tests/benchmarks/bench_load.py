"""Load-generator benchmarks (run on demand; numbers are noisy on a shared 2-core machine).

    PYTHONPATH=. python tests/benchmarks/bench_load.py [costs] [throughput] [accuracy] [stall] [rss]

Every comparison is measured side by side in this one run against the same sink:

* costs       per-event cost of generation, JSON, AES and signature: the general path vs the load path;
* throughput  sealed unique events/s, one process (``feishu-sim load`` engine at saturation) vs Locust
              FastHttpUser posting one fixed body (one process; goal >= 2.0x) vs wrk with the same fixed body
              (one thread; goal >= 0.25x); nginx on loopback answers 200; also ``--workers 2`` for reference;
* accuracy    5,000/s for 10 s: achieved rate within 1 %;
* stall       a sink stalling 200 ms once per second: our p99 (from intended send time) vs wrk's p99 (closed
              loop, from actual send time) on the same sink;
* rss         a 1,000,000-event run in a child process: peak RSS <= 150 MB and flat after warm-up.

What it needs: nginx and wrk (``apt-get install -y nginx wrk``), locust (``pip install 'feishu-sim[locust]'``).
Missing tools are reported and their comparison skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


from simulator.config import AppProfile  # noqa: E402
from simulator.load.driver import LoadPlan  # noqa: E402
from simulator.load.runner import run_in_process  # noqa: E402
from simulator.load.schedule import Schedule  # noqa: E402
from simulator.load.webhook_driver import WebhookDriver  # noqa: E402
from simulator.loops import new_event_loop  # noqa: E402
from tests.benchmarks._sinks import Nginx, wait_listening  # noqa: E402
from tests.polling import wait_for_ready_file  # noqa: E402

KEY = "bench-encrypt-key-0123456789abcd"
TOKEN = "Vt0123456789abcdefABCDEFghijklmn"
APP = AppProfile(encrypt_key=KEY, verification_token=TOKEN)
CONNECTIONS = 32
RESULTS: dict[str, Any] = {}


def say(*parts: object) -> None:
    print(*parts, flush=True)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


# -- per-event costs ---------------------------------------------------------------------------------------
def bench_costs() -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from simulator.generation import schemas
    from simulator.generation.factory import EventFactory
    from simulator.load.events import EventSource
    from simulator.rand import SimRandom
    from simulator.wire.seal import AesCipher, Sealer, canonical_json, sign

    def per(fn: Any, n: int) -> float:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t) / n * 1e6

    f = EventFactory(app=APP, rand=SimRandom(1))
    et = "vc.meeting.share_ended_v1"
    env_ = f.generate(et, validate=False)
    plain = canonical_json(env_)
    iv = bytes(16)
    cipher = AesCipher(KEY)
    src = EventSource(EventFactory(app=APP, rand=SimRandom(2)), et, encrypt_key=KEY)
    algo = algorithms.AES(cipher._key)
    pad = 16 - len(plain) % 16
    padded = plain + bytes((pad,)) * pad
    sealer = Sealer(KEY, SimRandom(3))
    now = time.time()
    rows = [
        ("generate (EventFactory, no validation)", per(lambda: f.generate(et, validate=False), 5000)),
        ("generate + JSON Schema validation", per(lambda: schemas.validate(f.generate(et, validate=False)), 300)),
        ("JSON (canonical_json)", per(lambda: canonical_json(env_), 5000)),
        ("AES: AesCipher.encrypt (new context + padder)", per(lambda: cipher.encrypt(plain, iv), 20000)),
        ("AES: new Cipher context, manual padding", per(lambda: Cipher(algo, modes.CBC(iv)).encryptor().update(padded),
                                                        20000)),
        ("AES: reused CBC context, fresh IV (load path)", per(lambda: src._cbc(padded, 12345), 20000)),
        ("signature (sha256)", per(lambda: sign("1700000000", "123456789", KEY, plain), 20000)),
        ("general path: generate + Sealer.seal", per(lambda: sealer.seal(f.generate(et, validate=False),
                                                                          timestamp=int(now)), 3000)),
        ("load path: EventSource.request (all of it)", per(lambda: src.request(now, b"POST / HTTP/1.1\r\n"), 20000)),
    ]
    say(f"\n== per-event costs ({len(plain)}-byte event) ==")
    for name, us in rows:
        say(f"  {name:<48} {us:8.2f} us")
    RESULTS["costs_us"] = {name: round(us, 2) for name, us in rows}


# -- throughput ----------------------------------------------------------------------------------------------
class FixedBodyDriver(WebhookDriver):
    """The same engine sending one pre-sealed request over and over: the HTTP path without sealing."""

    fixed = b""

    def _request(self) -> bytes:
        if not self.fixed:
            self.fixed = super()._request()
        return self.fixed


def run_ours(url: str, rate: float, duration: float, *, connections: int = CONNECTIONS, workers: int = 1,
             service_time: bool = False, driver_class: type[WebhookDriver] = WebhookDriver) -> dict[str, Any]:
    if workers == 1:
        plan = LoadPlan(url=url, schedule=Schedule.constant(rate, duration), connections=connections, app=APP,
                        seed=1, service_time=service_time)
        loop = new_event_loop()
        try:
            agg, stats = loop.run_until_complete(run_in_process(plan, lambda iv: None, driver_class=driver_class))
        finally:
            loop.close()
        rows = agg.rows
        return {"rows": rows, "total": agg.total.to_json(), "hist": agg.hist, "lag_max_ms": stats[0].lag_max_ms,
                "loop": stats[0].loop, "service": agg.service, "last_send_s": stats[0].last_send_s}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        subprocess.run([sys.executable, "-m", "simulator", "load", url, "--rate", str(rate), "--duration",
                        str(duration), "--connections", str(connections), "--workers", str(workers), "--quiet",
                        "--encrypt-key", KEY, "--verification-token", TOKEN, "--report", str(report)],
                       env=env(), capture_output=True, check=False, timeout=duration + 120)
        doc = json.loads(report.read_text())
        return {"rows": doc["seconds"], "total": doc["counts"]}


def steady_rate(rows: list[dict[str, Any]], key: str = "acked") -> float:
    """Mean per-second count over the full seconds, first and last dropped."""
    inner = rows[1:-1] if len(rows) > 3 else rows
    return sum(int(r[key]) for r in inner) / max(1, len(inner))


def fixed_body() -> tuple[bytes, dict[str, str]]:
    from simulator.generation.factory import EventFactory
    from simulator.load.events import EventSource
    from simulator.rand import SimRandom

    src = EventSource(EventFactory(app=APP, rand=SimRandom(9)), "vc.meeting.share_ended_v1", encrypt_key=KEY)
    sealed = src.seal(time.time())
    return sealed.body, {"Content-Type": "application/json; charset=utf-8", **dict(sealed.headers)}


LOCUSTFILE = """
import json, os
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser
BODY = open(os.environ["BENCH_BODY"], "rb").read()
HEADERS = json.loads(os.environ["BENCH_HEADERS"])

class FixedBody(FastHttpUser):
    wait_time = constant(0)

    @task
    def post(self):
        self.client.post("", data=BODY, headers=HEADERS)
"""


def run_locust(url: str, duration: int, body: bytes, headers: dict[str, str], stats_out: dict[str, Any] | None = None
               ) -> float | None:
    import importlib.util

    if importlib.util.find_spec("locust") is None:
        say("  locust: not installed (pip install 'feishu-sim[locust]'); skipped")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        lf = Path(tmp) / "locustfile.py"
        lf.write_text(LOCUSTFILE)
        (Path(tmp) / "body").write_bytes(body)
        e = {**env(), "BENCH_BODY": str(Path(tmp) / "body"), "BENCH_HEADERS": json.dumps(headers)}
        subprocess.run([sys.executable, "-m", "locust", "-f", str(lf), "--headless", "-u", str(CONNECTIONS), "-r",
                        "1000", "-t", f"{duration}s", "--host", url, "--only-summary", "--csv", str(Path(tmp) / "s"),
                        "--stop-timeout", "1"], env=e, cwd=tmp, capture_output=True, timeout=duration + 60,
                       check=False)
        if stats_out is not None:
            rows = (Path(tmp) / "s_stats.csv").read_text().splitlines()
            head = rows[0].split(",")
            agg = next(line for line in rows if ",Aggregated," in line).split(",")
            stats_out.update(p99_ms=float(agg[head.index("99%")]), rps=float(agg[head.index("Requests/s")]))
        hist = Path(tmp) / "s_stats_history.csv"
        lines = hist.read_text().splitlines() if hist.exists() else []
        if len(lines) < 4:
            stats = (Path(tmp) / "s_stats.csv").read_text().splitlines()
            total = next(line for line in stats if ",Aggregated," in line)
            return float(total.split(",")[9])
        head = lines[0].split(",")
        col_t, col_n = head.index("Timestamp"), head.index("Total Request Count")
        pts = [(int(r.split(",")[col_t]), int(r.split(",")[col_n])) for r in lines[1:] if ",Aggregated," in r]
        # steady state: from 1 s after the start to the last sample
        pts = [p for p in pts if p[0] >= pts[0][0] + 1]
        if len(pts) >= 2 and pts[-1][0] > pts[0][0]:
            return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])
        return None


RAW_CLIENT = """
import asyncio, sys, time
import httptools, uvloop
host, port, conns, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
request = open(sys.argv[5], "rb").read()
done = 0
class P(asyncio.Protocol):
    def connection_made(self, t):
        self.t = t; self.p = httptools.HttpResponseParser(self); t.write(request)
    def data_received(self, d):
        self.p.feed_data(d)
    def on_message_complete(self):
        global done
        done += 1
        self.t.write(request)
async def main():
    loop = asyncio.get_running_loop()
    for _ in range(conns):
        await loop.create_connection(P, host, port)
    global done
    await asyncio.sleep(1.0); start, t0 = done, time.perf_counter()
    await asyncio.sleep(seconds - 1.0); print((done - start) / (time.perf_counter() - t0))
uvloop.run(main())
"""


def run_raw(url: str, duration: int, request: bytes) -> float | None:
    """The thinnest Python client: uvloop + httptools, closed loop, one fixed request, no bookkeeping."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "req").write_bytes(request)
        (Path(tmp) / "raw.py").write_text(RAW_CLIENT)
        out = subprocess.run([sys.executable, str(Path(tmp) / "raw.py"), parts.hostname or "", str(parts.port),
                              str(CONNECTIONS), str(duration), str(Path(tmp) / "req")], env=env(),
                             capture_output=True, text=True, timeout=duration + 60, check=False).stdout
    try:
        return float(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


WRK_LUA = """
wrk.method = "POST"
local f = io.open(os.getenv("BENCH_BODY"), "rb"); wrk.body = f:read("*a"); f:close()
for k, v in pairs({headers}) do wrk.headers[k] = v end
"""


def run_wrk(url: str, duration: int, body: bytes, headers: dict[str, str], *, threads: int = 1,
            latency: bool = False) -> tuple[float, str] | None:
    exe = shutil.which("wrk")
    if exe is None:
        say("  wrk: not installed (apt-get install -y wrk); skipped")
        return None
    lua_headers = "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "body").write_bytes(body)
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_LUA.replace("{headers}", lua_headers))
        cmd = [exe, f"-t{threads}", f"-c{CONNECTIONS}", f"-d{duration}s", "-s", str(script)]
        if latency:
            cmd.append("--latency")
        out = subprocess.run([*cmd, url], env={**os.environ, "BENCH_BODY": str(Path(tmp) / "body")},
                             capture_output=True, text=True, timeout=duration + 60, check=False).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return (float(m.group(1)), out) if m else None


def bench_throughput(duration: int = 5, rounds: int = 3) -> None:
    """Each contender runs ``rounds`` times, interleaved (A B C A B C ...), so that the load other jobs put on
    the machine hits all of them alike; the best round of each is compared (and the medians, for honesty)."""
    say("\n== throughput: sealed unique events/s vs fixed-body peers, nginx sink on loopback, "
        f"{CONNECTIONS} connections, {rounds} interleaved rounds of {duration} s ==")
    from simulator.load.http import Target

    body, headers = fixed_body()
    runs: dict[str, list[float]] = {}

    def add(name: str, value: float | None) -> None:
        if value:
            runs.setdefault(name, []).append(value)

    with Nginx(workers=1) as url:
        raw_request = Target(url).request(body, tuple((k, v) for k, v in headers.items() if k != "Content-Type"))
        for i in range(rounds):
            ours = run_ours(url, 60_000, duration + 1)
            add("ours", steady_rate(ours["rows"]))
            add("locust", run_locust(url, duration, body, headers))
            wrk = run_wrk(url, duration, body, headers, threads=1)
            add("wrk", wrk[0] if wrk else None)
            add("fixed", steady_rate(run_ours(url, 60_000, duration + 1, driver_class=FixedBodyDriver)["rows"]))
            add("raw", run_raw(url, duration, raw_request))
            say(f"  round {i + 1}: " + "  ".join(f"{k} {v[-1]:,.0f}" for k, v in runs.items() if len(v) > i))
        add("ours_2proc", steady_rate(run_ours(url, 60_000, duration + 1, workers=2)["rows"]))

    def best(name: str) -> float | None:
        return max(runs[name]) if name in runs else None

    def median(name: str) -> float | None:
        v = sorted(runs.get(name, []))
        return v[len(v) // 2] if v else None

    labels = {
        "ours": "feishu-sim load, 1 process, a fresh sealed event per request",
        "locust": "Locust FastHttpUser, 1 process, one fixed body",
        "wrk": "wrk -t1, one fixed body",
        "fixed": "same engine, one pre-sealed body (no per-request sealing)",
        "raw": "thinnest Python client (uvloop+httptools, closed loop, fixed)",
        "ours_2proc": "feishu-sim load --workers 2 (for reference)",
    }
    for name, label in labels.items():
        if name in runs:
            say(f"  {label:<64} best {best(name):>9,.0f}/s  median {median(name):>9,.0f}/s")
    RESULTS["throughput"] = {name: {"best": best(name), "median": median(name), "all": runs[name]} for name in runs}
    RESULTS["throughput"]["body_bytes"] = len(body)
    ours_b, ours_m = best("ours"), median("ours")
    for peer, goal in (("locust", 2.0), ("wrk", 0.25)):
        pb, pm = best(peer), median(peer)
        if ours_b and ours_m and pb and pm:
            r, rm = ours_b / pb, ours_m / pm
            say(f"  RATIO ours/{peer:<6} best {r:.3f}x, median {rm:.3f}x (goal >= {goal}x) "
                f"{'PASS' if r >= goal else 'FAIL'}")
            RESULTS["throughput"][f"ratio_{peer}"] = {"best": round(r, 3), "median": round(rm, 3)}


# -- open-loop accuracy -----------------------------------------------------------------------------------
def bench_accuracy() -> None:
    say("\n== open-loop accuracy: 5,000/s for 10 s against nginx ==")
    with Nginx(workers=1) as url:
        ours = run_ours(url, 5000, 10)
    t = ours["total"]
    achieved = t["sent"] / 10.0
    err = abs(achieved - 5000) / 5000
    per_sec = [int(r["sent"]) for r in ours["rows"]]
    say(f"  sent {t['sent']:,} (acked {t['acked']:,}) -> achieved {achieved:,.1f}/s, error {err * 100:.3f}% "
        f"(goal <= 1%) {'PASS' if err <= 0.01 else 'FAIL'}; last request left {ours['last_send_s']:.3f} s "
        "after the start")
    say(f"  per second sent: {per_sec}; generator lag max {ours['lag_max_ms']:.2f} ms; "
        f"p50 {ours['hist'].value_at_ms(50):.3f} ms p99 {ours['hist'].value_at_ms(99):.3f} ms")
    RESULTS["accuracy"] = {"achieved": achieved, "error_pct": round(err * 100, 4), "per_second": per_sec}


# -- stall ------------------------------------------------------------------------------------------------
def bench_stall(rate: int = 1000, duration: int = 10, connections: int = 8) -> None:
    say(f"\n== stall: a sink pausing 200 ms once per second; {rate}/s for {duration} s, {connections} connections ==")
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "_stall_sink.py"), str(port_file), "0.2"],
                                env=env())
        try:
            port = int(wait_for_ready_file(proc, port_file, timeout=20))
            wait_listening(port)
            url = f"http://127.0.0.1:{port}/webhook/event"
            ours = run_ours(url, rate, duration, connections=connections, service_time=True)
            body, headers = fixed_body()
            loc: dict[str, Any] = {}
            run_locust(url, duration, body, headers, stats_out=loc)
            wrk = run_wrk(url, duration, body, headers, latency=True)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    h, sv = ours["hist"], ours["service"]
    p99 = h.value_at_ms(99)
    say(f"  feishu-sim load, open loop, from intended send time: p50 {h.value_at_ms(50):.2f}  p90 "
        f"{h.value_at_ms(90):.2f}  p99 {p99:.2f}  max {h.max_ms():.2f} ms")
    say(f"  same run, from actual send time (closed-loop view):  p50 {sv.value_at_ms(50):.2f}  p90 "
        f"{sv.value_at_ms(90):.2f}  p99 {sv.value_at_ms(99):.2f}  max {sv.max_ms():.2f} ms")
    say(f"  stall visible in our reported p99: {'PASS' if p99 >= 150 else 'FAIL'} (p99 {p99:.1f} ms >= 150 ms); "
        f"the closed-loop view of the same requests: p99 {sv.value_at_ms(99):.1f} ms")
    RESULTS["stall"] = {"ours_p50": h.value_at_ms(50), "ours_p90": h.value_at_ms(90), "ours_p99": p99,
                        "uncorrected_p99": sv.value_at_ms(99)}
    if loc:
        say(f"  Locust FastHttpUser (closed loop, {CONNECTIONS} users, same sink, {loc['rps']:,.0f}/s): p99 "
            f"{loc['p99_ms']:.0f} ms")
        RESULTS["stall"]["locust_p99"] = loc["p99_ms"]
    if wrk:
        m = re.search(r"99%\s+([\d.]+)(us|ms|s)", wrk[1])
        if m:
            wp99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            say(f"  wrk (closed loop, same sink, {wrk[0]:,.0f}/s): p99 {wp99:.2f} ms")
            RESULTS["stall"]["wrk_p99"] = wp99


# -- RSS -------------------------------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_rss(events: int = 1_000_000, rate: int | None = None) -> None:
    measured = (RESULTS.get("throughput", {}).get("ours") or {}).get("median") or 16_000
    rate = rate or int(min(15_000, 0.6 * measured))  # below saturation, so that all 1,000,000 are sent
    duration = events / rate
    say(f"\n== RSS: {events:,} events at {rate:,}/s ({duration:.0f} s), one process ==")
    with Nginx(workers=1) as url, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        proc = subprocess.Popen([sys.executable, "-m", "simulator", "load", url, "--rate", str(rate), "--duration",
                                 f"{duration:.3f}", "--connections", str(CONNECTIONS), "--quiet", "--encrypt-key", KEY,
                                 "--verification-token", TOKEN, "--report", str(report)], env=env(),
                                stdout=subprocess.DEVNULL)
        samples: list[tuple[float, float]] = []
        t0 = time.monotonic()
        while proc.poll() is None:
            try:
                samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
            except (FileNotFoundError, ProcessLookupError):
                break
            time.sleep(0.5)
        doc = json.loads(report.read_text())
    sent = doc["counts"]["sent"]
    peak = max(m for _, m in samples)
    warm = [m for t, m in samples if t >= 0.2 * duration]
    growth = (warm[-1] - warm[0]) if len(warm) >= 2 else 0.0
    say(f"  sent {sent:,} (acked {doc['counts']['acked']:,}, unsent {doc['counts']['unsent']:,}); peak RSS "
        f"{peak:.1f} MB (goal <= 150) {'PASS' if peak <= 150 else 'FAIL'}; after warm-up {warm[0]:.1f} -> "
        f"{warm[-1]:.1f} MB (growth {growth:+.1f} MB) {'FLAT' if abs(growth) < 10 else 'GROWING'}")
    curve = [round(m, 1) for t, m in samples[:: max(1, len(samples) // 10)]]
    say(f"  RSS every ~{duration / 10:.0f} s: {curve} MB")
    RESULTS["rss"] = {"sent": sent, "peak_mb": round(peak, 1), "warm_start_mb": round(warm[0], 1),
                      "end_mb": round(warm[-1], 1), "rate": rate, "curve_mb": curve}


def main(argv: list[str]) -> int:
    which = argv or ["costs", "throughput", "accuracy", "stall", "rss"]
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        say("nginx is missing: apt-get install -y nginx wrk (the sink of every comparison)")
        return 2
    say(f"load benchmarks on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
        "(other jobs share this machine: numbers are noisy)")
    for name in which:
        {"costs": bench_costs, "throughput": bench_throughput, "accuracy": bench_accuracy, "stall": bench_stall,
         "rss": bench_rss}[name]()
    say("\n" + json.dumps(RESULTS, default=str))
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    raise SystemExit(main(sys.argv[1:]))

"""Deliveries/s through ``FeishuSim.push``: in process (ASGI, WSGI on a thread) versus over loopback HTTP.

Run: ``python tests/benchmarks/bench_plugin.py [--events N]``. Events are encrypted and signed; the
receivers answer ``{"msg":"success"}`` without work, so the figures are the delivery path's cost. The peer
is the same Starlette app behind uvicorn on 127.0.0.1, measured in the same run; the ratios are what
matter (the machine is shared: absolute numbers are noisy).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.servers import ThreadedServer
from simulator.testing import FeishuSim

KEY = "bench-key"


def measure(label: str, target: Any, n: int) -> float:
    with FeishuSim.from_options(encrypt_key=KEY, seed=1) as sim:
        sim.push(target, count=5)  # warm-up: portal thread, client, app start-up
        t0 = time.perf_counter()
        deliveries = sim.push(target, count=n)
        elapsed = time.perf_counter() - t0
    assert all(d.acked for d in deliveries), label
    rate = n / elapsed
    print(f"{label:<34} {rate:8.0f} deliveries/s  ({elapsed * 1000 / n:.2f} ms each)")
    return rate


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=500)
    n = p.parse_args().events

    async def ok(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"msg": "success"})

    asgi = Starlette(routes=[Route("/webhook/event", ok, methods=["POST"])])
    wsgi = Flask("bench")
    wsgi.add_url_rule("/webhook/event", "ok", lambda: {"msg": "success"}, methods=["POST"])
    with ThreadedServer(asgi) as server:
        wire = measure("loopback HTTP (uvicorn, peer)", server.url + "/webhook/event", n)
    inproc = measure("in process, ASGI", asgi, n)
    threaded = measure("in process, WSGI (Flask) on a thread", wsgi, n)
    print(f"ASGI in process / loopback: {inproc / wire:.2f}x; WSGI in process / loopback: {threaded / wire:.2f}x")


if __name__ == "__main__":
    main()

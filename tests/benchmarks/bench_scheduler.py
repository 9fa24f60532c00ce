"""Overhead of the engine's discrete-event scheduler versus a plain semaphore + gather loop.

Run: ``python tests/benchmarks/bench_scheduler.py [--events N] [--concurrency C]``. Both push the same
pre-generated envelopes through the same in-memory channel (no sockets, no sealing), so the difference
is the cost of ordering attempts by platform time. The peer is what the engine did before the scheduler
existed: one ``asyncio.Semaphore`` and ``gather``, no retries, no faults. The ratio is what matters; the
machine is shared, so absolute numbers are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from simulator.clock import SystemClock, VirtualClock
from simulator.config import RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.generation.factory import SEEDED_EPOCH
from simulator.verdicts.model import Attempt, Channel, Delivery, Outcome

ET = "vc.meeting.share_ended_v1"


class NullChannel:
    channel = Channel.WEBHOOK

    async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        await asyncio.sleep(0)
        h = envelope["header"]
        return Attempt(h["event_id"], h["event_type"], attempt_no, Channel.WEBHOOK, Outcome.ACKED, sent_at, 0.0, 200)

    async def aclose(self) -> None:
        pass


async def peer(envelopes: list[dict[str, Any]], concurrency: int) -> list[Delivery]:
    ch, sem, clock = NullChannel(), asyncio.Semaphore(concurrency), SystemClock()

    async def one(env: dict[str, Any]) -> Delivery:
        async with sem:
            d = Delivery(env["header"]["event_id"], ET, env)
            d.record(await ch.attempt(env, attempt_no=1, sent_at=clock.now()))
            d.close()
            return d

    return list(await asyncio.gather(*(one(e) for e in envelopes)))


def measure(label: str, fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    print(f"{label:<44} {dt * 1000:8.1f} ms")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    base = Simulator(SimConfig(seed=1), clock=VirtualClock(SEEDED_EPOCH, scale=0))
    envs = base.generate_many(ET, args.events, validate=False)
    n, c = args.events, args.concurrency
    print(f"{n} events, concurrency {c}")

    t_peer = measure("peer: semaphore + gather", lambda: asyncio.run(peer(envs, c)))

    def engine(clock: Any, **config: Any) -> None:
        sim = Simulator(SimConfig(seed=1, **config), clock=clock)
        asyncio.run(sim.push(NullChannel(), envs, concurrency=c))
        assert sim.summary().total >= n

    t_real = measure("engine, real clock", lambda: engine(SystemClock()))
    t_inst = measure("engine, instant clock", lambda: engine(VirtualClock(SEEDED_EPOCH, scale=0)))
    faults = FaultSpec.parse("dup=0.1,reorder=10,drop=0.1")
    t_flt = measure("engine, instant clock, faults + ladder",
                    lambda: engine(VirtualClock(SEEDED_EPOCH, scale=0), faults=faults,
                                   retries=RetryPolicy.feishu()))
    print(f"engine/peer: real {t_real / t_peer:.2f}x, instant {t_inst / t_peer:.2f}x, "
          f"faults {t_flt / t_peer:.2f}x (per event: {t_real / n * 1e6:.0f} us vs {t_peer / n * 1e6:.0f} us)")


if __name__ == "__main__":
    main()

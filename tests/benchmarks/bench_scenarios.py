"""Events/s of scenario generation versus lone-event generation of the same types, measured in one run.

Run: ``python tests/benchmarks/bench_scenarios.py [--rounds N]``. A scenario costs more per event than
lone events (timing, the presence state machine, per-event meeting views); the ratio shows how much.
Each scenario run's output is checked for time order afterwards, so speed is not bought with broken
sequences. Numbers are noisy on a shared machine: compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from simulator import SimConfig, Simulator
from simulator.generation import scenarios
from simulator.generation.factory import SEEDED_EPOCH


def bench(name: str, rounds: int) -> None:
    sc = scenarios.load(name)
    sim = Simulator(SimConfig(seed=1, start_time=SEEDED_EPOCH, time_scale=0))
    sim.generate_scenario(sc)  # warm-up: population, Faker, schemas
    t0 = time.perf_counter()
    total = 0
    mix: Counter[str] = Counter()
    for _ in range(rounds):
        envs = sim.generate_scenario(sc)
        times = [int(e["header"]["create_time"]) for e in envs]
        assert times == sorted(times)
        total += len(envs)
        mix.update(e["header"]["event_type"] for e in envs)
    scenario_s = time.perf_counter() - t0

    lone = Simulator(SimConfig(seed=1, start_time=SEEDED_EPOCH, time_scale=0))
    lone.generate("vc.meeting.join_meeting_v1")  # warm-up
    t0 = time.perf_counter()
    for event_type, count in mix.items():
        lone.generate_many(event_type, count)
    lone_s = time.perf_counter() - t0
    print(f"{name:18s} {total / rounds:6.0f} events/run  scenario {total / scenario_s:8.0f} ev/s  "
          f"lone {total / lone_s:8.0f} ev/s  scenario/lone {lone_s / scenario_s:5.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    for name in scenarios.names():
        bench(name, args.rounds)


if __name__ == "__main__":
    main()

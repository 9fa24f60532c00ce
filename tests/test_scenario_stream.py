"""``push --scenario`` on the instant clock draws its runs as the push reaches them (``Generating.scenario_runs``
and ``Released``): the same events as the whole list, each run pushed once it has ended, never before."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.cli import main
from simulator.clock import VirtualClock
from simulator.config import RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.engine.sources import Released
from simulator.generation.factory import SEEDED_EPOCH
from simulator.verdicts.model import Outcome
from tests.fakes import FakeChannel, fail_first

T0 = 1_700_000_000


def _sim(seed: int = 2) -> Simulator:
    return Simulator(SimConfig(seed=seed, retries=RetryPolicy.parse("feishu")), clock=VirtualClock(SEEDED_EPOCH))


def test_runs_are_those_of_the_whole_list_and_leave_the_clock_alone() -> None:
    whole = _sim().generate_scenario("plain-meeting", runs=3)
    sim = _sim()
    start = sim.clock.now()
    runs = list(sim.scenario_runs("plain-meeting", runs=3))
    assert [env for run in runs for env in run] == whole
    assert sim.clock.now() == start
    assert len({env["event"]["meeting"]["id"] for env in runs[1]}) == 1


def test_each_run_is_made_when_the_push_reaches_it_and_pushed_once_it_ended() -> None:
    sim = _sim()
    made_after: list[int] = []  # deliveries started before each run was made
    sizes: list[int] = []

    def runs() -> Iterator[list[dict[str, Any]]]:
        for run in sim.scenario_runs("plain-meeting", runs=3):
            made_after.append(len(sim.deliveries))
            sizes.append(len(run))
            yield run

    channel = FakeChannel(fail_first(1))  # one retry each: the ladder of run 1 interleaves with run 2
    asyncio.run(sim.stream(channel, Released.runs(runs()), concurrency=4))
    # A run is made when the push takes the previous run's last event (the 4 taken last may not have started).
    assert made_after[0] == 0
    assert sizes[0] - 4 <= made_after[1] <= sizes[0] and sum(sizes[:2]) - 4 <= made_after[2] <= sum(sizes[:2])
    firsts: dict[float, int] = {}
    for d in sim.deliveries:
        first = d.attempts[0]
        assert first.sent_at * 1000 >= int(d.envelope["header"]["create_time"])  # never from the future
        assert d.attempts[1].sent_at - first.sent_at == 15.0 and d.attempts[1].outcome is Outcome.ACKED
        firsts[first.sent_at] = firsts.get(first.sent_at, 0) + 1
    assert list(firsts.values()) == sizes  # each run's events went out together, once it had ended
    assert sim.summary().acked == sim.summary().total == sum(sizes)


def test_the_cli_pushes_the_same_events_run_by_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    transcript = tmp_path / "t.ndjson"
    assert main(["generate", "--scenario", "plain-meeting", "--seed", "2", "--count", "2", "--at", str(T0)]) == 0
    generated = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["push", "--scenario", "plain-meeting", "--seed", "2", "--count", "2", "--at", str(T0), "--retries",
                 "1", "--transcript", str(transcript), "--transcript-secrets"]) == 0
    rows = [json.loads(line) for line in transcript.read_text().splitlines()]
    pushed = [r["envelope"] for r in rows if r["kind"] == "attempt"]
    assert pushed == generated
    sent = sorted({r["sent_at"] for r in rows if r["kind"] == "attempt"})
    assert sent == [int(generated[len(generated) // 2 - 1]["header"]["create_time"]) / 1000,
                    int(generated[-1]["header"]["create_time"]) / 1000]

"""Batched dispatch (``load --platform``'s batch push): due requests share one call, each keeps its own
intended time and verdict. Sans-IO, on the virtual clock of ``test_load_openloop``."""

from __future__ import annotations

import json

from simulator.load.openloop import OpenLoop
from simulator.load.platform_driver import judge_batch_answer
from simulator.load.schedule import Schedule
from tests.load.test_load_openloop import SERVICE_S, Sim


def batched(sim: Sim, batch_max: int) -> Sim:
    sizes = sim.batch_sizes = []  # type: ignore[attr-defined]

    def make_batch(n: int) -> bytes:
        sizes.append(n)
        return b"x" * n

    ol = OpenLoop(sim.schedule, sim.recorder, connections=sim.connections, make_request=lambda: b"x",
                  open_connection=sim.pending_connects.append, budget_s=sim.budget_s, batch_max=batch_max,
                  make_batch=make_batch)
    for c in sim.conns:
        ol.live.add(c)
        ol.idle.append(c)
    sim.ol = ol
    return sim


def test_a_backlog_goes_out_in_batches_and_every_event_is_judged_from_its_intended_time() -> None:
    def respond_at(t: float) -> float:  # stalls between 0.5 s and 0.7 s
        return (0.7 if 0.5 <= t < 0.7 else t) + SERVICE_S

    sim = batched(Sim(Schedule.constant(1000, 1.0), connections=1, respond_at=respond_at), 64)
    agg = sim.run()
    sizes = sim.batch_sizes  # type: ignore[attr-defined]
    assert agg.total.sent == agg.total.acked == 1000
    assert max(sizes) == 64 and sum(sizes) + sum(1 for c in sim.conns for _ in c.sends) - len(sizes) == 1000
    assert len(sim.conns[0].sends) < 1000  # fewer calls than events
    assert agg.hist.value_at_ms(99) > 150  # the stall shows for every event caught in it
    assert agg.hist.value_at_ms(50) < 1


def test_a_batch_that_never_answers_times_out_every_event_it_carries() -> None:
    # The first request is answered at 0.1 s; the batch the freed connection then carries never is.
    sim = batched(Sim(Schedule.constant(1000, 0.2), connections=1, budget_s=0.5,
                      respond_at=lambda t: 0.1 if t == 0 else None), 256)
    agg = sim.run()
    sizes = sim.batch_sizes  # type: ignore[attr-defined]
    assert sizes and sizes[0] >= 99
    # every event sent is judged once: the first acked, the whole batch (and any later request) timed out
    assert agg.total.acked == 1 and agg.total.timeout == agg.total.sent - 1 >= sizes[0]
    assert agg.total.sent == agg.total.done


def test_judge_batch_answer() -> None:
    body = json.dumps({"count": 3, "acked": 1, "verdicts": ["acked", "timeout", "not_delivered"]}).encode()
    assert judge_batch_answer(200, body, 3) == [(True, "acked"), (False, "ack:timeout"), (False, "ack:not_delivered")]
    assert judge_batch_answer(200, body, 2) == [(False, "ack:unreadable")] * 2
    assert judge_batch_answer(200, b"{oops", 1) == [(False, "ack:unreadable")]
    assert judge_batch_answer(503, b"", 2) == [(False, "503")] * 2

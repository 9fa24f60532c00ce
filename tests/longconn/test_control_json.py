"""The control API's answers through orjson are the bytes Starlette's ``JSONResponse`` would send."""

from __future__ import annotations

from starlette.responses import JSONResponse

from simulator.clock import VirtualClock
from simulator.config import SimConfig
from simulator.engine.core import Simulator
from simulator.generation.factory import SEEDED_EPOCH
from simulator.platform.control import FastJSONResponse, push_result_json
from simulator.verdicts.model import Attempt, Channel, Delivery, Outcome


def test_push_answer_bytes_are_unchanged() -> None:
    sim = Simulator(SimConfig(seed=4), clock=VirtualClock(SEEDED_EPOCH, scale=0))
    deliveries = []
    for i, env in enumerate(sim.generate_many("vc.meeting.send_meeting_im_v1", 30, longconn=True)):
        d = Delivery(event_id=env["header"]["event_id"], event_type="vc.meeting.send_meeting_im_v1", envelope=env)
        outcome = [Outcome.ACKED, Outcome.TIMEOUT, Outcome.REJECTED][i % 3]
        d.record(Attempt(event_id=d.event_id, event_type=d.event_type, attempt=1, channel=Channel.LONGCONN,
                         outcome=outcome, sent_at=SEEDED_EPOCH + i / 7, latency_ms=i * 1.2345678, status=200 + i,
                         detail="会议 ✓ \"quoted\"" if i % 2 else "", target=f"conn-{i}",
                         extra={"message_id": f"m{i}", "biz_rt": i / 3, "data": "数据"}))
        d.close()
        deliveries.append(d)
    content = {**push_result_json(deliveries), "env": deliveries[0].envelope, "n": None, "t": True}
    assert FastJSONResponse(content).body == JSONResponse(content).body

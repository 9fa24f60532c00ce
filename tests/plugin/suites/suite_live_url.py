"""A real server on a port (the reference receiver): pushes over the wire, a wrong key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer
from simulator.testing import FeishuSim

KEY = "live-key"


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[ReferenceReceiver, str]]:
    rr = ReferenceReceiver(encrypt_key=KEY)
    with ThreadedServer(rr.app()) as server:
        yield rr, server.url + "/webhook/event"


@pytest.mark.feishu(encrypt_key=KEY)
def test_over_the_wire(feishu_sim: FeishuSim, receiver: tuple[ReferenceReceiver, str]) -> None:
    rr, url = receiver
    ds = feishu_sim.push(url, count=2)
    assert all(d.acked for d in ds)
    assert [e.event_id for e in rr.state.events[-2:]] == [d.event_id for d in ds]
    assert ds[0].last is not None and ds[0].last.request_headers["X-Lark-Signature"]


@pytest.mark.feishu(encrypt_key="other-key")
def test_wrong_key_over_the_wire(feishu_sim: FeishuSim, receiver: tuple[ReferenceReceiver, str]) -> None:
    d = feishu_sim.push(receiver[1], expect_rejected=True)
    assert d.last is not None and d.last.status in (400, 401)  # the signature (or the ciphertext) does not check out

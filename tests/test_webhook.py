from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from simulator.config import AppProfile, Budget, SimConfig
from simulator.delivery.inprocess import channel_for
from simulator.engine.core import Simulator
from simulator.verdicts.model import Delivery, Outcome

ET = "vc.meeting.share_ended_v1"


def app_returning(status: int, body: str = "", delay: float = 0.0) -> Starlette:
    async def endpoint(request: Request) -> Response:
        await request.body()
        if delay:
            await asyncio.sleep(delay)
        return PlainTextResponse(body, status_code=status)

    return Starlette(routes=[Route("/hook", endpoint, methods=["POST"])])


def deliver(receiver: Starlette | None, url: str = "http://testserver/hook", **config: Any) -> Delivery:
    sim = Simulator(SimConfig(seed=1, **config))

    async def go() -> Delivery:
        transport = httpx.ASGITransport(app=receiver) if receiver is not None else None
        async with sim.webhook(url, transport=transport) as ch:
            return await sim.deliver(sim.generate(ET), ch)

    return asyncio.run(go())


def test_200_is_acked_with_latency() -> None:
    d = deliver(app_returning(200, '{"msg":"success"}'))
    att = d.last
    assert d.acked and att is not None and att.status == 200 and att.latency_ms > 0


def test_500_is_rejected_with_body_excerpt() -> None:
    d = deliver(app_returning(500, "x" * 1000))
    att = d.last
    assert att is not None and att.outcome is Outcome.REJECTED and att.status == 500
    assert att.detail.startswith("HTTP 500: xxx") and att.detail.endswith("...") and len(att.detail) < 400


def test_204_needs_accept_2xx() -> None:
    last = deliver(app_returning(204)).last
    assert last is not None and last.outcome is Outcome.REJECTED
    assert deliver(app_returning(204), accept_2xx=True).acked


def test_slow_receiver_times_out_at_the_budget() -> None:
    d = deliver(app_returning(200, delay=2.0), budget=Budget(connect_s=0.2, total_s=0.2))
    att = d.last
    assert att is not None and att.outcome is Outcome.TIMEOUT
    assert 150 < att.latency_ms < 1000


def test_refused_connection_is_a_connection_error() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = deliver(None, url=f"http://127.0.0.1:{port}/hook")
    assert d.last is not None and d.last.outcome is Outcome.CONNECTION_ERROR


def test_request_headers_and_body_recorded() -> None:
    sim_app = app_returning(200)
    d = deliver(sim_app, app=AppProfile(encrypt_key="k"))
    att = d.last
    assert att is not None
    assert set(att.request_headers) >= {"Content-Type", "X-Request-Id", "X-Lark-Request-Timestamp",
                                        "X-Lark-Request-Nonce", "X-Lark-Signature"}
    assert att.request_body.startswith('{"encrypt":"')


def test_simulator_and_channels_close_as_async_context_managers() -> None:
    app = app_returning(200)

    async def go() -> None:
        injected = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        async with Simulator(SimConfig(seed=1)) as sim:
            made = sim.webhook("http://testserver/hook", transport=httpx.ASGITransport(app=app))
            lent = sim.webhook("http://testserver/hook", client=injected)
            [d] = await sim.push(made, [sim.generate(ET)])
            assert d.acked and not made.client.is_closed
            async with channel_for(app, sealer=sim.sealer, path="/hook") as in_process:
                assert (await sim.deliver(sim.generate(ET), in_process)).acked
            assert in_process.client.is_closed  # left ``async with``: closed
            assert sim.webhook("http://testserver/x") is not made
        assert made.client.is_closed and not injected.is_closed  # the sim closes what it made, not a lent client
        assert lent.client is injected
        await sim.aclose()  # closing again is harmless
        await injected.aclose()

    asyncio.run(go())


def test_invalid_url_is_a_usage_error() -> None:
    from simulator.errors import ConfigError

    with pytest.raises(ConfigError):
        deliver(None, url="nope://x")


def test_an_answer_after_the_budget_is_a_timeout_even_if_it_arrives() -> None:
    import time as _time

    async def blocking(request: Request) -> Response:
        _time.sleep(0.3)  # blocks the loop the client shares with it: wait_for cannot fire in time
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/hook", blocking, methods=["POST"])])
    d = deliver(app, budget=Budget(connect_s=0.1, total_s=0.1))
    att = d.last
    assert att is not None and att.outcome is Outcome.TIMEOUT and att.status == 200
    assert "over the 0.1 s budget" in att.detail

"""``/_sim/push`` with ``"stream": true``: NDJSON, a line per delivery as it ends and a summary line that adds up;
a reader that goes away halts the push; a slow reader holds it; ``push --platform`` prints as the lines come."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulator.cli import main
from simulator.engine.faults import FaultSpec
from simulator.platform import push_stream
from simulator.platform.push_stream import PushStream
from simulator.platform_server import ClientConfig, PlatformServer
from simulator.verdicts.model import Attempt, Channel, Delivery, Outcome, Summary
from tests.cli_proc import spawn_cli
from tests.longconn.miniclient import MiniClient

APP, SECRET = "cli_0123456789abcdef", "s3cret"
CONFIG = ClientConfig(reconnect_count=0, reconnect_interval=1, reconnect_nonce=0, ping_interval=60)


@pytest.fixture
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=CONFIG, seed=3, keep_deliveries=50,
                        faults=FaultSpec.parse("dup=0.2,dup_after=10ms..100ms")) as s:
        yield s


def _lines(server: PlatformServer, body: dict[str, Any], *, clients: int = 2) -> list[dict[str, Any]]:
    """Stream a push to ``clients`` minimal clients; every line, parsed."""

    async def go() -> list[dict[str, Any]]:
        conns = [await MiniClient(server.domain, APP, SECRET).connect() for _ in range(clients)]
        tasks = [asyncio.create_task(c.run()) for c in conns]
        out: list[dict[str, Any]] = []
        try:
            async with httpx.AsyncClient(trust_env=False, timeout=60) as http, \
                    http.stream("POST", server.domain + "/_sim/push", json={**body, "stream": True}) as resp:
                assert resp.status_code == 200 and resp.headers["content-type"] == "application/x-ndjson"
                out.extend([json.loads(line) async for line in resp.aiter_lines() if line])
        finally:
            for c in conns:
                await c.close()
            await asyncio.gather(*tasks, return_exceptions=True)
        return out

    return asyncio.run(go())


def test_lines_add_up(server: PlatformServer) -> None:
    """More events than the one-document answer may have (10,000), a duplicate fault on: one line per event
    (the fault's copies are not the push's lines, as in the one-document answer), and a last line whose
    summary is that of the lines, while the platform keeps the newest 50 records only."""
    lines = _lines(server, {"count": 10_500, "seed": 1})
    *deliveries, last = lines
    assert set(last) == {"summary"} and len(deliveries) == 10_500
    assert len({d["event_id"] for d in deliveries}) == 10_500 and all(d["origin"] == "event" for d in deliveries)
    recount = Summary()
    for d in deliveries:
        recount.total += 1
        recount.acked += d["final"] == "acked"
        recount.attempts += len(d["attempts"])
    s = last["summary"]
    assert (s["total"], s["acked"], s["attempts"]) == (recount.total, recount.acked, recount.attempts) == \
        (10_500, 10_500, 10_500)
    assert s["outcomes"] == dict(Counter(a["outcome"] for d in deliveries for a in d["attempts"]))
    assert all("api_calls" in d for d in deliveries)  # the platform serves the mock OpenAPI
    state = server.snapshot()
    assert state["deliveries_retained"] <= 50 + 50 // 8
    assert state["summary"]["total"] == state["deliveries"] == 10_500 + state["summary"]["duplicates"] > 10_500


def test_a_stream_line_is_the_documents_entry(server: PlatformServer) -> None:
    """The same seed gives the same deliveries, in either answer form, but for the send times."""
    *streamed, _ = _lines(server, {"count": 5, "seed": 9, "concurrency": 1})

    async def doc() -> dict[str, Any]:
        client = await MiniClient(server.domain, APP, SECRET).connect()
        task = asyncio.create_task(client.run())
        async with httpx.AsyncClient(trust_env=False, timeout=60) as http:
            answer = (await http.post(server.domain + "/_sim/push", json={"count": 5, "seed": 9,
                                                                           "concurrency": 1})).json()
        await client.close()
        await task
        return dict(answer)

    whole = asyncio.run(doc())["deliveries"]

    def same(d: dict[str, Any]) -> dict[str, Any]:
        timing = ("sent_at", "latency_ms", "target", "detail", "extra")
        return {**d, "summary": d["summary"].rsplit(" ", 1)[0],
                "attempts": [{k: v for k, v in a.items() if k not in timing} for a in d["attempts"]]}

    assert [same(d) for d in streamed] == [same(d) for d in whole]
    assert [list(d) for d in streamed] == [list(d) for d in whole]


def test_a_reader_that_goes_away_halts_the_push() -> None:
    """A client that never acks: each delivery takes the ack budget (0.3 s), two at a time. The reader leaves
    after 4 lines: the two in flight finish, nothing new starts, and the counts still add up."""
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=CONFIG, seed=3, ack_budget_s=0.3) as server:

        def total() -> int:
            return int(server.snapshot()["deliveries"])

        async def go() -> tuple[list[dict[str, Any]], int]:
            client = await MiniClient(server.domain, APP, SECRET, policy=lambda _e: None).connect()
            task = asyncio.create_task(client.run())
            read: list[dict[str, Any]] = []
            async with httpx.AsyncClient(trust_env=False, timeout=60) as http, \
                    http.stream("POST", server.domain + "/_sim/push",
                                json={"count": 1000, "concurrency": 2, "stream": True}) as resp:
                async for line in resp.aiter_lines():
                    read.append(json.loads(line))
                    if len(read) == 4:
                        break
            seen, deadline = total(), time.monotonic() + 10
            while True:  # the client stays connected: whatever the push still started would be delivered
                await asyncio.sleep(0.8)
                if total() == seen:
                    break
                seen = total()
                assert time.monotonic() < deadline, "the push went on"
            await client.close()
            await task
            return read, seen

        read, seen = asyncio.run(go())
        state = server.snapshot()
    assert len(read) == 4 and all(d["final"] == "exhausted" for d in read)
    assert 4 <= seen <= 10, seen  # 2 in flight when it left, 2 more if it was slow to notice
    assert state["summary"]["total"] == state["deliveries"] == seen
    assert state["summary"]["outcomes"] == {"timeout": seen}


class _Run:
    """A ``PushRun`` that ends deliveries when told to: what ``PushStream`` does with them, without sockets."""

    def __init__(self) -> None:
        self.summary = Summary()
        self.held: list[str] = []
        self.on_end: Any = None
        self.go = asyncio.Event()

    async def run(self, *, on_start: Any = None, on_end: Any = None) -> None:
        self.on_end = on_end
        await self.go.wait()

    def end(self, i: int) -> None:
        d = Delivery(event_id=f"e{i}", event_type="vc.meeting.share_ended_v1", envelope={})
        d.record(Attempt(event_id=d.event_id, event_type=d.event_type, attempt=1, channel=Channel.LONGCONN,
                         outcome=Outcome.ACKED, sent_at=0.0, latency_ms=0.1))
        d.close()
        self.summary.add(d)
        self.on_end(d)

    def pause(self) -> None:
        self.held.append("pause")

    def resume(self) -> None:
        self.held.append("resume")

    def halt(self) -> None:
        self.held.append("halt")


def test_a_slow_reader_holds_the_push() -> None:
    async def go() -> tuple[list[str], int]:
        run = _Run()
        body = PushStream(run, None, 0.0).body()
        first = asyncio.ensure_future(body.__anext__())
        while run.on_end is None:
            await asyncio.sleep(0)
        for i in range(push_stream.MAX_QUEUED + 10):  # the reader is not reading
            run.end(i)
        assert run.held == ["pause"]
        lines = (await first).count(b"\n")
        run.go.set()
        rest = [chunk async for chunk in body]
        return run.held, lines + sum(chunk.count(b"\n") for chunk in rest)

    held, lines = asyncio.run(go())
    assert held == ["pause", "resume"] and lines == push_stream.MAX_QUEUED + 10 + 1


def test_the_cli_prints_each_verdict_as_it_comes(server: PlatformServer, capsys: pytest.CaptureFixture[str]) -> None:
    async def clients() -> None:
        conns = [await MiniClient(server.domain, APP, SECRET).connect() for _ in range(2)]
        tasks = [asyncio.create_task(c.run()) for c in conns]
        code = await asyncio.to_thread(main, ["push", "--platform", server.domain, "--count", "12000",
                                              "--wait-replies", "0"])
        json_code = await asyncio.to_thread(main, ["push", "--platform", server.domain, "--count", "3", "--json"])
        for c in conns:
            await c.close()
        await asyncio.gather(*tasks)
        assert code == json_code == 0

    asyncio.run(clients())
    out, err = capsys.readouterr()
    text, doc = out.split("{", 1)
    lines = text.splitlines()
    assert len(lines) == 12_000 and all(line.startswith("acked ") for line in lines)
    assert "12000/12000 acked (12000 attempts)" in err
    doc = json.loads("{" + doc)
    assert list(doc) == ["target", "summary", "deliveries"] and doc["summary"]["total"] == len(doc["deliveries"]) == 3


def test_ctrl_c_on_the_cli_halts_the_push_on_the_platform() -> None:
    """``push --platform`` interrupted: it prints what came, marked ``interrupted``, exits 130, and its
    disconnect halts the push on the platform (clients that never ack: 0.3 s per event, two at a time)."""
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=CONFIG, seed=3, ack_budget_s=0.3) as server:

        async def go() -> tuple[int, str, str]:
            client = await MiniClient(server.domain, APP, SECRET, policy=lambda _e: None).connect()
            task = asyncio.create_task(client.run())
            proc = spawn_cli(["push", "--platform", server.domain, "--app-id", APP, "--count", "1000", "-c", "2"])
            assert proc.stdout is not None
            for _ in range(4):  # verdicts come as they are judged
                line = await asyncio.to_thread(proc.stdout.readline)
                assert line.startswith(b"exhausted "), line
            proc.send_signal(signal.SIGINT)
            out, err = await asyncio.to_thread(proc.communicate, None, 30)
            await asyncio.sleep(0.8)  # what was in flight ends within the ack budget
            await client.close()
            await task
            return proc.returncode, out.decode(), err.decode()

        code, out, err = asyncio.run(go())
        total = server.snapshot()["deliveries"]
    assert code == 130 and err.startswith("interrupted: 0/") and err.count("\n") == 1, err
    assert "the platform finishes those in flight" in err
    printed = 4 + len(out.splitlines())
    assert all(line.startswith("exhausted ") for line in out.splitlines())
    assert err.startswith(f"interrupted: 0/{printed} acked ({printed} attempts)"), (printed, err)
    assert 4 <= total <= 12, total

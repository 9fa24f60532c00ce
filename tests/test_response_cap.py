"""A receiver that answers an endless body (or one declared 4 GiB long) costs `push`, `audit` and
`verify-url` a bounded read: each verdict within the 3 s budget, and the command's peak RSS under 120 MB
(its figure against a well-behaved receiver is ~60 MB; reading such an answer whole took 1.7-2.9 GB)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import httpx
import pytest

from simulator.delivery.webhook import RESPONSE_READ_CAP, read_capped
from tests.door import endless_answer_server, run_cli_measured

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
PEAK_MB = 120
KEYS = ["--encrypt-key", "k", "--verification-token", "t"]


@pytest.mark.parametrize("mode", ["chunked", "length"])
def test_push_reads_a_bounded_answer(mode: str) -> None:
    with endless_answer_server(mode) as url:
        rc, out, peak, _ = run_cli_measured(["push", url + "/hook", "-n", "4", "--retries", "none", "--json", *KEYS])
    report = json.loads(out)
    assert rc == 0 and report["summary"]["acked"] == 4
    latencies = [a["latency_ms"] for d in report["deliveries"] for a in d["attempts"]]
    assert max(latencies) < 3000
    assert peak < PEAK_MB, f"push peaked at {peak:.0f} MB"


def test_audit_reads_a_bounded_answer() -> None:
    with endless_answer_server("length") as url:
        _, out, peak, _ = run_cli_measured(["audit", url + "/hook", "--json", *KEYS])
    cases = json.loads(out)["cases"]
    assert all(c["status"] == 200 and c["latency_ms"] < 3000 for c in cases)
    assert peak < PEAK_MB, f"audit peaked at {peak:.0f} MB"


def test_verify_url_reads_a_bounded_answer() -> None:
    with endless_answer_server("chunked") as url:
        rc, out, peak, took = run_cli_measured(["verify-url", url + "/hook", "--verification-token", "t"])
    assert rc == 1 and "FAIL" in out and "challenge echoed" in out  # answered, but the challenge is not echoed
    assert peak < PEAK_MB and took < 10


def test_read_capped_stops_at_the_cap_and_keeps_the_start() -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        async def body() -> AsyncIterator[bytes]:
            yield b'{"msg":"success"}'
            while True:
                yield b" " * 10_000

        return httpx.Response(200, content=body())

    async def go() -> bytes:
        async with httpx.AsyncClient(transport=httpx.MockTransport(endless)) as c, \
                c.stream("POST", "http://x/") as resp:
            return await read_capped(resp)

    data = asyncio.run(go())
    assert len(data) == RESPONSE_READ_CAP and data.startswith(b'{"msg":"success"}')

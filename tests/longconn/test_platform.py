"""The platform over real sockets with minimal clients: discovery, handshakes, verdicts, cluster mode,
faults, control API, and bad input (counted; the server stays up, other connections unaffected)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import websockets

from simulator.platform.session import PongConfig
from simulator.platform_server import ClientConfig, PlatformServer
from simulator.verdicts.model import Outcome
from simulator.wire import frames as F
from tests.longconn.miniclient import MiniClient
from tests.polling import await_until, wait_until

APP, SECRET = "cli_0123456789abcdef", "s3cret"
JSON = {"Content-Type": "application/json"}
CONFIG = ClientConfig(reconnect_count=3, reconnect_interval=2, reconnect_nonce=1, ping_interval=4)


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=CONFIG, seed=3, ack_budget_s=0.4) as s:
        yield s


@pytest.fixture
def platform(server: PlatformServer) -> PlatformServer:
    server.clear()
    wait_until(lambda: not server.connections(), "the last test's clients to be gone")  # they may be closing
    return server


def post(server: PlatformServer, body: Any, raw: bytes | None = None) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(server.domain + "/callback/ws/endpoint", content=content, trust_env=False)


async def clients(server: PlatformServer, *policies: Any, ping: bool = True) -> list[MiniClient]:
    out = [await MiniClient(server.domain, APP, SECRET, policy=p, ping=ping).connect() for p in policies]
    return out


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- discovery -----------------------------------------------------------------------------------------

def test_discovery_answer(platform: PlatformServer) -> None:
    resp = post(platform, {"AppID": APP, "AppSecret": SECRET})
    doc = resp.json()
    assert resp.status_code == 200 and doc["code"] == 0 and doc["msg"] == "ok"
    url = urlsplit(doc["data"]["URL"])
    assert url.scheme == "ws" and url.port == platform.port and url.hostname == "127.0.0.1"
    params = parse_qsl(url.query)
    keys = [k for k, _ in params]
    assert keys[0] == "fpid" and {"device_id", "service_id", "ticket", "access_key"} <= set(keys)
    assert keys.index("service_id") > 0 and dict(params)["service_id"].isdigit()
    assert doc["data"]["ClientConfig"] == {"ReconnectCount": 3, "ReconnectInterval": 2, "ReconnectNonce": 1,
                                           "PingInterval": 4}
    again = post(platform, {"AppID": APP, "AppSecret": SECRET}).json()
    assert dict(parse_qsl(urlsplit(again["data"]["URL"]).query))["ticket"] != dict(params)["ticket"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"AppID": APP, "AppSecret": "wrong"}, 200, 514),
    ({"AppID": "cli_ffffffffffffffff", "AppSecret": SECRET}, 200, 514),
    ({"appid": APP, "appsecret": SECRET}, 400, 10003),
    ([1, 2], 400, 10003),
    ({"AppID": 1, "AppSecret": 2}, 400, 10003),
])
def test_discovery_refusals(platform: PlatformServer, body: Any, status: int, code: int) -> None:
    resp = post(platform, body)
    assert (resp.status_code, resp.json()["code"]) == (status, code)
    assert isinstance(resp.json()["data"], dict)  # Node treats a non-zero code as fatal only with data


def test_garbage_on_the_endpoint_route(platform: PlatformServer) -> None:
    for raw in (b"", b"\xff\xfe\x00", b"{not json", b"[" * 10_000):
        assert post(platform, None, raw).status_code == 400
    assert post(platform, None, b"A" * 100_000).status_code == 413  # over the door's cap, never parsed
    assert httpx.get(platform.domain + "/callback/ws/endpoint", trust_env=False).status_code == 405
    assert post(platform, {"AppID": APP, "AppSecret": SECRET}).json()["code"] == 0  # still up
    assert platform.counters()["endpoint_bad_requests"] == 4


# -- handshake -----------------------------------------------------------------------------------------

async def _rejected(url: str) -> websockets.InvalidStatus:
    with pytest.raises(websockets.InvalidStatus) as info:
        await websockets.connect(url)
    return info.value


def test_unknown_and_reused_tickets_are_refused_with_handshake_headers(platform: PlatformServer) -> None:
    async def main() -> None:
        url = post(platform, {"AppID": APP, "AppSecret": SECRET}).json()["data"]["URL"]
        bad = await _rejected(url.replace("ticket=", "ticket=x"))
        ws = await websockets.connect(url)
        reused = await _rejected(url)
        await ws.close()
        for exc, msg in ((bad, "unknown ticket"), (reused, "ticket already used")):
            headers = exc.response.headers
            assert exc.response.status_code == 403
            assert (headers["Handshake-Status"], headers["Handshake-Msg"]) == ("514", msg)
            assert headers["Handshake-Autherrcode"] != "1000040350"  # retryable for the Python client
    run(main())
    assert platform.counters()["handshake_bad_ticket"] == 2


def test_the_51st_connection_of_an_app_is_refused(platform: PlatformServer) -> None:
    async def main() -> None:
        conns = await clients(platform, *([None] * 50), ping=False)
        assert len(platform.connections()) == 50
        url = post(platform, {"AppID": APP, "AppSecret": SECRET}).json()["data"]["URL"]
        exc = await _rejected(url)
        assert exc.response.headers["Handshake-Status"] == "514"
        assert exc.response.headers["Handshake-Autherrcode"] == "1000040350"
        await conns[0].close()
        await await_until(lambda: len(platform.connections()) < 50, "the platform to drop the closed connection")
        ok = await MiniClient(platform.domain, APP, SECRET).connect()  # a slot is free again
        for c in [*conns[1:], ok]:
            await c.close()
    run(main())


# -- verdicts ------------------------------------------------------------------------------------------

def test_verdicts_acked_rejected_timeout_connection_error(platform: PlatformServer) -> None:
    async def main() -> dict[str, Any]:
        results: dict[str, Any] = {}
        for name, policy in (("acked", lambda e: 200), ("rejected", lambda e: 500), ("timeout", lambda e: None)):
            [c] = await clients(platform, policy)
            task = asyncio.create_task(c.run())
            results[name] = await asyncio.to_thread(platform.push)
            await c.close()
            await task
        [c] = await clients(platform, lambda e: None)

        async def close_on_event() -> None:
            await await_until(lambda: c.events, "the client to receive the event", interval=0.005)
            await c.close()
        both = asyncio.gather(c.run(), close_on_event())
        results["lost"] = await asyncio.to_thread(platform.push)
        await both
        await await_until(lambda: not platform.connections(), "the platform to drop the closed connection")
        results["nobody"] = await asyncio.to_thread(platform.push)
        return results

    r = run(main())
    got = {k: (v[0].last.outcome, v[0].last.status) for k, v in r.items()}
    assert got == {"acked": (Outcome.ACKED, 200), "rejected": (Outcome.REJECTED, 500),
                   "timeout": (Outcome.TIMEOUT, None), "lost": (Outcome.CONNECTION_ERROR, None),
                   "nobody": (Outcome.NOT_DELIVERED, None)}
    assert r["timeout"][0].last.latency_ms >= 400
    assert [d.acked for d in platform.deliveries] == [True, False, False, False, False]


def test_ack_judgement_faults(platform: PlatformServer) -> None:
    async def main() -> list[Any]:
        [c] = await clients(platform, None)
        task = asyncio.create_task(c.run())
        out = []
        for delay, drop in ((0.1, False), (0.6, False), (0.0, True)):
            platform.ack_judgement(delay_s=delay, drop=drop)
            out.append((await platform.apush())[0].last)
        await c.close()
        await task
        return out

    slow, too_slow, dropped = run(main())
    assert slow.outcome == Outcome.ACKED and slow.latency_ms >= 100
    assert too_slow.outcome == Outcome.TIMEOUT and dropped.outcome == Outcome.TIMEOUT
    assert platform.counters()["acks_dropped"] == 1


def test_cluster_mode_each_event_goes_to_one_random_connection(platform: PlatformServer) -> None:
    async def main() -> tuple[list[Any], list[MiniClient]]:
        cs = await clients(platform, None, None, None)
        tasks = [asyncio.create_task(c.run()) for c in cs]
        ds = await asyncio.to_thread(platform.push, count=30, concurrency=4)
        for c in cs:
            await c.close()
        await asyncio.gather(*tasks)
        return ds, cs

    ds, cs = run(main())
    assert all(d.acked for d in ds)
    received = [e["header"]["event_id"] for c in cs for e in c.events]
    assert sorted(received) == sorted(d.event_id for d in ds)  # exactly once, no broadcast
    assert len({d.last.target for d in ds}) == 3
    assert all(e["header"]["token"] == "" and "encrypt" not in e for c in cs for e in c.events)


# -- faults and bad input ------------------------------------------------------------------------------

def test_bad_input_is_counted_and_harmless(platform: PlatformServer) -> None:
    async def main() -> None:
        rude, silent = await clients(platform, None), await clients(platform, None, ping=False)
        tasks = [asyncio.create_task(c.run()) for c in (*rude, *silent)]
        ws = rude[0].ws
        stray = F.data_frames(b'{"code":200}', service=1, message_id="nobody", trace_id="t", seq_id=1, log_id=1)
        for msg in (b"\x00\xff garbage", "a text message", F.encode(stray[0]), bytes.fromhex("0801 1001 1801")):
            await ws.send(msg)
        ds = await asyncio.to_thread(platform.push, count=10)
        assert all(d.acked for d in ds)
        for c in (*rude, *silent):
            await c.close()
        await asyncio.gather(*tasks)

    run(main())
    counters = platform.counters()
    assert (counters["malformed"], counters["non_binary"], counters["unknown_acks"]) == (2, 1, 1)
    assert counters["never_pinged"] == 1


def test_half_open_config_push_and_forced_reconnect(platform: PlatformServer) -> None:
    async def main() -> None:
        [c] = await clients(platform, None)
        task = asyncio.create_task(c.run())
        await await_until(lambda: c.pongs, "the pong to the client's first ping")
        assert len(c.pongs) == 1 and json.loads(c.pongs[0].payload) == CONFIG.to_json()  # in every pong
        platform.answer_pings(False)
        await c.send_ping()
        # The platform counts the ping as unanswered where it would have sent the pong: no pong can follow.
        await await_until(lambda: sum(conn["counters"]["pings_unanswered"] for conn in platform.connections()),
                          "the platform to leave the ping unanswered")
        assert len(c.pongs) == 1
        platform.answer_pings(True)
        platform.set_client_config(PingInterval=1)
        await c.send_ping()
        await await_until(lambda: len(c.pongs) == 2, "the pong carrying the new client config")
        assert json.loads(c.pongs[-1].payload) == {"ReconnectCount": 3, "ReconnectInterval": 2, "ReconnectNonce": 1,
                                                   "PingInterval": 1}
        assert platform.reconnect_all(code=4001) == 1
        await task
        assert c.ws.close_code == 4001

    run(main())
    assert platform.counters()["closed_by_platform"] == 1
    # Later discoveries hand out the changed config too, until clear() restores the configured one.
    assert post(platform, {"AppID": APP, "AppSecret": SECRET}).json()["data"]["ClientConfig"]["PingInterval"] == 1
    platform.clear()
    assert post(platform, {"AppID": APP, "AppSecret": SECRET}).json()["data"]["ClientConfig"] == CONFIG.to_json()


@pytest.mark.parametrize("mode", [PongConfig.ALWAYS, PongConfig.CHANGED])
def test_a_config_change_between_discovery_and_upgrade_reaches_the_client(mode: PongConfig) -> None:
    """The ticket remembers what discovery gave; the first pong after the upgrade carries the current config."""
    with PlatformServer(app_id=APP, app_secret=SECRET, client_config=CONFIG, pong_config=mode) as server:
        async def main() -> bytes:
            doc = post(server, {"AppID": APP, "AppSecret": SECRET}).json()
            assert doc["data"]["ClientConfig"]["PingInterval"] == 4  # what this client starts with
            server.set_client_config(PingInterval=1)  # changed before its WebSocket upgrade
            service = int(dict(parse_qsl(urlsplit(doc["data"]["URL"]).query))["service_id"])
            async with websockets.connect(doc["data"]["URL"], compression=None) as ws:
                await ws.send(F.encode(F.control_frame(F.MessageType.PING, service=service)))
                message = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(message, bytes)
            return bytes(F.decode(message).payload)

        payload = run(main())
    assert json.loads(payload) == {**CONFIG.to_json(), "PingInterval": 1}


# -- control API ---------------------------------------------------------------------------------------

def test_control_api(platform: PlatformServer) -> None:
    async def main() -> None:
        [c] = await clients(platform, None)
        task = asyncio.create_task(c.run())
        async with httpx.AsyncClient(base_url=platform.domain, trust_env=False) as http:
            r = await http.post("/_sim/push", json={"count": 3, "seed": 5, "overrides": ["event.meeting.topic=hi"]})
            doc = r.json()
            assert r.status_code == 200 and doc["summary"]["acked"] == 3
            assert [a["outcome"] for d in doc["deliveries"] for a in d["attempts"]] == ["acked"] * 3
            assert all(e["event"]["meeting"]["topic"] == "hi" for e in c.events)
            again = (await http.post("/_sim/push", json={"count": 3, "seed": 5})).json()
            assert [d["event_id"] for d in again["deliveries"]] == [d["event_id"] for d in doc["deliveries"]]
            scen = (await http.post("/_sim/push", json={"scenario": "plain-meeting", "seed": 1})).json()
            types = [d["event_type"] for d in scen["deliveries"]]
            assert scen["summary"]["acked"] == len(types) > 3 and types[0] == "vc.meeting.meeting_started_v1"
            bad_scen = await http.post("/_sim/push", json={"scenario": "no-such-scenario"})
            assert bad_scen.status_code == 400
            conns = (await http.get("/_sim/connections")).json()
            assert len(conns) == 1 and conns[0]["counters"]["acks"] == 6 + len(types)
            for bad in ({"event_type": "vc.meeting.nope"}, {"count": "x"}, {"count": 10**9}, {"overrides": 3},
                        {"overrides": ["event.meeting.nope.deeper=1"]}):
                r = await http.post("/_sim/push", json=bad)
                assert r.status_code == 400 and r.json()["error"]
            assert (await http.post("/_sim/push", content=b"{oops", headers=JSON)).status_code == 400
            assert (await http.post("/_sim/faults/close", json={"conn_id": "nope"})).status_code == 400
            assert (await http.post("/_sim/faults/close", json={"code": 1005})).status_code == 400
            assert (await http.post("/_sim/config", json={"PingInterval": 0})).status_code == 400
            assert (await http.post("/_sim/faults/close", json={"conn_id": conns[0]["conn_id"], "code": 4002})
                    ).json() == {"closed": 1}
        await task
        assert c.ws.close_code == 4002

    run(main())


def test_control_api_token() -> None:
    with PlatformServer(app_id=APP, app_secret=SECRET, control_token="tok") as s:
        assert httpx.get(s.domain + "/_sim/state", trust_env=False).status_code == 401
        wrong = httpx.get(s.domain + "/_sim/state", headers={"Authorization": "Bearer nope"}, trust_env=False)
        assert wrong.status_code == 401
        ok = httpx.get(s.domain + "/_sim/state", headers={"Authorization": "Bearer tok"}, trust_env=False)
        assert ok.status_code == 200 and ok.json()["apps"] == [APP]
        # discovery and the WebSocket never need the control token
        assert post(s, {"AppID": APP, "AppSecret": SECRET}).json()["code"] == 0


# -- engine integration --------------------------------------------------------------------------------

def test_same_seed_same_events_and_same_connection_choices() -> None:
    def run_once() -> tuple[list[str], list[int]]:
        with PlatformServer(app_id=APP, app_secret=SECRET, seed=42) as s:
            async def main() -> list[Any]:
                cs = []
                for _ in range(3):  # one after the other: the same connection order both times
                    cs.append(await MiniClient(s.domain, APP, SECRET).connect())
                    await asyncio.to_thread(s.wait_for_clients, len(cs), 5)
                tasks = [asyncio.create_task(c.run()) for c in cs]
                ds = await asyncio.to_thread(s.push, count=12)
                order = [c["conn_id"] for c in s.connections()]
                for c in cs:
                    await c.close()
                await asyncio.gather(*tasks)
                sent_to = [d.last.target for d in ds if d.last is not None]
                assert len(sent_to) == len(ds)
                return [[d.event_id for d in ds], [order.index(t) for t in sent_to]]
            ids, targets = run(main())
        return ids, targets

    first, second = run_once(), run_once()
    assert first == second
    assert len(set(first[1])) > 1


def test_retry_ladder_plugs_in_and_transcript_records(tmp_path: Any) -> None:
    from simulator.clock import VirtualClock
    from simulator.config import RetryPolicy
    from simulator.verdicts.transcript import TranscriptWriter

    path = tmp_path / "t.ndjson"
    with PlatformServer(app_id=APP, app_secret=SECRET, seed=1, retries=RetryPolicy.parse(2),
                        clock=VirtualClock(1_700_000_000.0, scale=0), transcript=TranscriptWriter(path)) as s:
        [d] = s.push()
    assert [a.outcome for a in d.attempts] == [Outcome.NOT_DELIVERED] * 3 and str(d.final) == "exhausted"
    gaps = [b.sent_at - a.sent_at for a, b in zip(d.attempts, d.attempts[1:], strict=False)]
    assert gaps == [15.0, 300.0]  # the platform's ladder, on a virtual clock
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["attempt", "attempt", "attempt", "delivery"]


def test_non_loopback_needs_a_control_token() -> None:
    from simulator.errors import ConfigError

    with pytest.raises(ConfigError, match="control token"):
        PlatformServer(host="0.0.0.0")


def test_assert_all_acked(platform: PlatformServer) -> None:
    from simulator.errors import NotAcked

    platform.assert_all_acked()  # nothing delivered yet
    platform.push()  # no client online: not delivered
    with pytest.raises(NotAcked, match="1 of 1 deliveries not acked"):
        platform.assert_all_acked()


def test_seeded_engine_faults_apply_to_platform_pushes() -> None:
    from simulator.clock import VirtualClock
    from simulator.engine.faults import FaultSpec

    with PlatformServer(app_id=APP, app_secret=SECRET, seed=5, faults=FaultSpec.parse("dup=1"),
                        clock=VirtualClock(1_700_000_000.0, scale=0)) as s:
        async def main() -> list[str]:
            [c] = await clients(s, None)
            task = asyncio.create_task(c.run())
            await s.apush(count=2)
            await c.close()
            await task
            return [e["header"]["event_id"] for e in c.events]

        received = run(main())
        deliveries = s.deliveries
    assert len(received) == 4 and len(set(received)) == 2  # every event delivered twice, same event_id
    assert all(d.acked for d in deliveries)

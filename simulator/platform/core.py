"""The long-connection platform's state: apps, tickets, live connections, delivery and faults.

Everything here runs on the server's event loop; the Starlette layer (``app.py``) only moves bytes
between sockets and these methods, and ``PlatformServer`` (``server.py``) marshals calls from other
threads onto that loop. Per-connection protocol rules live in the sans-IO ``Session``.

Delivery follows semantics §2.1: each event goes to ONE randomly chosen live connection of its app
(cluster mode, chosen with ``SimRandom``); the verdict is ``acked`` (ack code 200), ``rejected`` (any
other code), ``timeout`` (no ack within 3 s), ``connection_error`` (connection lost before the ack) or
``not_delivered`` (no connection online). The engine's retry ladder decides what happens next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter, OrderedDict
from typing import Any
from urllib.parse import urlencode

from simulator import constants as C
from simulator.clock import Clock, SystemClock
from simulator.config import AppProfile, SimConfig
from simulator.engine.core import Simulator
from simulator.errors import ConfigError
from simulator.generation.overrides import Overrides
from simulator.platform.callbacks import ClickListener, callback_kind, frame_type, judge_ack, tell_listeners
from simulator.platform.session import Acked, Pending, Problem, Session
from simulator.platform.state import (
    CODE_AUTH_FAILED,
    CODE_BAD_REQUEST,
    CODE_EXCEED_CONN_LIMIT,
    CODE_OK,
    MAX_PUSH,
    MAX_TICKETS,
    WS_PATH,
    Closer,
    Connection,
    Faults,
    PlatformOptions,
    Rejection,
    Sender,
    Ticket,
    check_close_code,
)
from simulator.rand import SimRandom
from simulator.verdicts.answers import AnswerKind
from simulator.verdicts.model import Attempt, Channel, Delivery, DeliveryLog, Outcome, Summary
from simulator.verdicts.transcript import TranscriptWriter
from simulator.wire.envelope import event_id_of, event_type_of
from simulator.wire.frames import ClientConfig
from simulator.wire.seal import canonical_json

log = logging.getLogger("simulator.platform")

_TIMEOUT = "timeout"
_LOST = "lost"


class Platform:
    def __init__(self, options: PlatformOptions | None = None, *, clock: Clock | None = None,
                 transcript: TranscriptWriter | None = None) -> None:
        self.options = options or PlatformOptions()
        self.clock: Clock = clock or SystemClock()
        self.transcript = transcript  # every attempt of every push, as NDJSON (same model as the webhook)
        self.rand = SimRandom(self.options.seed)
        self._choice = self.rand.fork("longconn:cluster")
        self._ids = self.rand.fork("longconn:ids")
        self.config = self.options.client_config
        self.faults = Faults()
        self.tickets: OrderedDict[str, Ticket] = OrderedDict()
        self.connections: dict[str, Connection] = {}
        self.counters: Counter[str] = Counter()
        self.deliveries = DeliveryLog(self.options.keep_deliveries)
        self.summary = Summary()  # running summary of every closed delivery (retained or not)
        self._sims: dict[tuple[str, int | None], Simulator] = {}
        self._changed = asyncio.Event() if _loop_running() else None
        self._live: dict[str, list[Connection]] = {}
        self._held: dict[int, tuple[Pending, asyncio.Future[Acked | str]]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.on_click: list[ClickListener] = []  # told of each card click before it goes out (the mock OpenAPI)

    # -- endpoint discovery (protocol §2.2) --------------------------------------------------------
    def discover(self, body: bytes, ws_base: str) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON answer for ``POST /callback/ws/endpoint``."""
        self.counters["endpoint_requests"] += 1
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("AppID"), str) \
                or not isinstance(doc.get("AppSecret"), str):
            self.counters["endpoint_bad_requests"] += 1
            return 400, {"code": CODE_BAD_REQUEST, "msg": 'expected {"AppID": ..., "AppSecret": ...}', "data": {}}
        app_id, secret = doc["AppID"], doc["AppSecret"]
        if self.options.apps.get(app_id) != secret:
            self.counters["endpoint_auth_failed"] += 1
            # A non-zero code other than 1 / 1000040343 is fatal for both SDKs when ``data`` is present.
            return 200, {"code": CODE_AUTH_FAILED, "msg": "auth failed: unknown app or wrong secret", "data": {}}
        ticket = self._ids.uuid()
        device_id = self._ids.digits(19)
        service_id = self._ids.randint(1 << 24, (1 << 31) - 1)
        self.tickets[ticket] = Ticket(app_id, device_id, service_id)
        while len(self.tickets) > MAX_TICKETS:
            self.tickets.popitem(last=False)
        # A dummy parameter first: the Node client parses the whole URL with qs (protocol §2.3).
        query = urlencode({"fpid": 493, "aid": 552564, "device_id": device_id, "access_key": self._ids.hex(32),
                           "service_id": service_id, "ticket": ticket})
        return 200, {"code": CODE_OK, "msg": "ok",
                     "data": {"URL": f"{ws_base}{WS_PATH}?{query}", "ClientConfig": self.config.to_json()}}

    # -- handshake ----------------------------------------------------------------------------------
    def admit(self, ticket_id: str | None) -> Ticket | Rejection:
        """Check a WebSocket upgrade's ticket and the app's connection limit (semantics §2.1)."""
        ticket = self.tickets.get(ticket_id or "")
        if ticket is None or ticket.used:
            self.counters["handshake_bad_ticket"] += 1
            # The real code for a bad ticket is not documented; 514 with a non-limit errcode is what the
            # Python client treats as retryable (it then re-runs discovery and gets a fresh ticket).
            reason = "unknown ticket" if ticket is None else "ticket already used"
            return Rejection(403, CODE_AUTH_FAILED, reason, 0)
        live = sum(1 for c in self.connections.values() if c.app_id == ticket.app_id)
        if live >= self.options.max_connections:
            self.counters["handshake_conn_limit"] += 1
            return Rejection(403, CODE_AUTH_FAILED, "exceed connection limit", CODE_EXCEED_CONN_LIMIT)
        ticket.used = True
        return ticket

    def register(self, ticket_id: str, ticket: Ticket, *, peer: str, send: Sender, close: Closer,
                 now_platform: float) -> Connection:
        session = Session(service_id=ticket.service_id, config=self.config, ack_budget=self.options.ack_budget_s,
                          fragment_size=self.options.fragment_size, pong_config=self.options.pong_config,
                          answer_pings=self.faults.answer_pings)
        conn = Connection(ticket.device_id, ticket.app_id, ticket_id, session, now_platform, peer, send, close)
        self.connections[conn.conn_id] = conn
        self.counters["connections_opened"] += 1
        self._live.clear()
        self._ensure_sweeper()
        self._notify()
        return conn

    def unregister(self, conn: Connection, code: int | None = None) -> None:
        conn.closed = True
        conn.close_code = code
        if self.connections.get(conn.conn_id) is conn:
            del self.connections[conn.conn_id]
        self._live.clear()
        self.counters["connections_closed"] += 1
        if conn.session.counters.pings == 0:
            self.counters["never_pinged"] += 1  # a client that connected and never sent a ping
        for pending in conn.session.close():
            self._resolve(pending, _LOST)
        self._notify()

    # -- incoming messages --------------------------------------------------------------------------
    async def on_message(self, conn: Connection, data: bytes | str) -> None:
        for ev in conn.session.receive(data, time.perf_counter()):
            if isinstance(ev, Acked):
                self._on_acked(ev)
            elif isinstance(ev, Problem):
                self.counters[ev.kind] += 1
                log.info("connection %s: %s: %s", conn.conn_id, ev.kind, ev.detail)
            else:  # Pong
                await conn.send(ev.data)

    def _on_acked(self, ev: Acked) -> None:
        fut = ev.pending.token
        if (self.faults.drop_acks or self.faults.ack_delay_s > 0) and isinstance(fut, asyncio.Future):
            self._held[id(fut)] = (ev.pending, fut)  # judged by the sweeper at the deadline at the latest
            self._ensure_sweeper()
            if self.faults.drop_acks:
                self.counters["acks_dropped"] += 1
            else:
                fut.get_loop().call_later(self.faults.ack_delay_s, self._resolve, ev.pending, ev)
            return
        self._resolve(ev.pending, ev)

    @staticmethod
    def _resolve(pending: Pending, result: Acked | str) -> None:
        fut = pending.token
        if isinstance(fut, asyncio.Future) and not fut.done():
            fut.set_result(result)

    # -- delivery -----------------------------------------------------------------------------------
    def live(self, app_id: str) -> list[Connection]:
        """The app's live connections, in connection order (cached until a connection comes or goes)."""
        conns = self._live.get(app_id)
        if conns is None:
            conns = self._live[app_id] = [c for c in self.connections.values()
                                          if c.app_id == app_id and not c.closed]
        return conns

    async def deliver(self, app_id: str, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        """One attempt: pick a live connection of ``app_id`` at random, send, judge the ack."""
        raw = canonical_json(envelope)
        body = raw.decode("utf-8")
        att = Attempt(event_id=event_id_of(envelope), event_type=event_type_of(envelope), attempt=attempt_no,
                      channel=Channel.LONGCONN, outcome=Outcome.NOT_DELIVERED, sent_at=sent_at, latency_ms=0.0,
                      request_body=body)
        conns = self.live(app_id)
        if not conns:
            att.detail = f"no connection of app {app_id} online"
            self.counters["not_delivered"] += 1
            return att
        conn = conns[0] if len(conns) == 1 else self._choice.choice(conns)
        att.target = conn.conn_id
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Acked | str] = loop.create_future()
        message_id = self._ids.uuid()
        trace_id = self._ids.hex(32)
        kind = callback_kind(att.event_type)  # a callback: its frame type and its answer (platform/callbacks.py)
        if kind is AnswerKind.CARD_ACTION:
            tell_listeners(self.on_click, app_id, envelope)
        t0 = time.perf_counter()
        frames = conn.session.send_event(raw, message_id=message_id, trace_id=trace_id, now=t0, token=fut,
                                         kind=frame_type(kind, self.options.card_frame))
        att.extra = {"message_id": message_id, "trace_id": trace_id, "fragments": len(frames)}
        try:
            for data in frames:
                await conn.send(data)
        except Exception as exc:  # the socket died under us: same verdict as a loss before the ack
            conn.session.forget(message_id)
            self._resolve_future(fut, _LOST)
            log.info("send to %s failed: %r", conn.conn_id, exc)
        result = await fut
        att.latency_ms = (time.perf_counter() - t0) * 1000.0
        if isinstance(result, Acked):
            ack = result.ack
            att.latency_ms = (result.at - t0) * 1000.0 + self.faults.ack_delay_s * 1000.0
            att.status = ack.code
            att.response_body = ack.raw.decode("utf-8", "replace")
            if ack.biz_rt_ms is not None:
                att.extra["biz_rt"] = ack.biz_rt_ms
            if ack.data is not None:
                att.extra["data"] = ack.data.decode("utf-8", "replace")
            if ack.ok:
                att.outcome = Outcome.ACKED
                if kind is not None:
                    judge_ack(att, kind, ack)
            else:
                att.outcome = Outcome.REJECTED
                att.detail = f"ack code {ack.code}" if ack.code is not None else "unreadable ack: " + "; ".join(
                    ack.problems)
        elif result == _TIMEOUT:
            att.outcome = Outcome.TIMEOUT
            att.detail = f"no ack within {self.options.ack_budget_s:g} s"
        else:
            att.outcome = Outcome.CONNECTION_ERROR
            att.detail = f"connection {conn.conn_id} lost before the ack"
        self.counters[str(att.outcome)] += 1
        return att

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        """Judge ack deadlines: the sessions say which messages ran out of time (one periodic task rather
        than a timer per message; deadlines are met within ``tick``)."""
        tick = min(0.05, self.options.ack_budget_s / 10)
        while self.connections or any(self._held.values()):
            await asyncio.sleep(tick)
            now = time.perf_counter()
            for conn in list(self.connections.values()):
                for expired in conn.session.expire(now):
                    self._resolve(expired.pending, _TIMEOUT)
            self._expire_held(now)

    def _expire_held(self, now: float) -> None:
        """Acks held back by the delay/drop faults still time out at their message's deadline."""
        for key, (pending, fut) in list(self._held.items()):
            if fut.done():
                del self._held[key]
            elif pending.deadline <= now:
                del self._held[key]
                self.counters["expired_held"] += 1
                self._resolve_future(fut, _TIMEOUT)

    @staticmethod
    def _resolve_future(fut: asyncio.Future[Acked | str], result: Acked | str) -> None:
        if not fut.done():
            fut.set_result(result)

    def simulator(self, app_id: str | None = None, seed: int | None = None) -> Simulator:
        """The engine generating events for ``app_id`` (one per app and seed; ``seed=None`` continues the
        platform's own stream, so successive pushes give fresh events)."""
        app_id = app_id or self.options.default_app
        if app_id not in self.options.apps:
            raise ConfigError(f"unknown app {app_id!r} (configured: {', '.join(self.options.apps)})")
        key = (app_id, seed)
        sim = self._sims.get(key) if seed is None else None
        if sim is None:
            base = self.rand.fork(f"events:{app_id}").seed if seed is None else seed
            app = AppProfile(app_id=app_id, app_secret=self.options.apps[app_id], tenant_key=self.options.tenant_key)
            config = SimConfig(app=app, seed=base, retries=self.options.retries, faults=self.options.faults,
                               locale=self.options.locale)
            sim = Simulator(config, clock=self.clock, transcript=self.transcript)
            sim.deliveries = self.deliveries  # one record for the whole platform
            sim.on_delivery.append(self._closed)
            if seed is None:
                self._sims[key] = sim
        return sim

    def _closed(self, d: Delivery) -> None:
        self.summary.add(d)

    async def push(self, event_type: str = C.DEFAULT_EVENT_TYPE, count: int = 1, *, app_id: str | None = None,
                   seed: int | None = None, overrides: Overrides | None = None, concurrency: int = 1,
                   envelopes: list[dict[str, Any]] | None = None, scenario: str | None = None) -> list[Delivery]:
        """Generate ``count`` events (plain JSON, empty ``header.token``), or ``count`` runs of a scenario,
        and deliver them through the engine."""
        from simulator.delivery.longconn import LongConnChannel

        if not 1 <= count <= MAX_PUSH:
            raise ConfigError(f"count must be between 1 and {MAX_PUSH}")
        if concurrency < 1:
            raise ConfigError("concurrency must be >= 1")
        sim = self.simulator(app_id, seed)
        if envelopes is None and scenario is not None:
            envelopes = sim.generate_scenario(scenario, runs=count, longconn=True)
        elif envelopes is None:
            envelopes = sim.generate_many(event_type, count, overrides=overrides, longconn=True)
        channel = LongConnChannel(self, sim.config.app.app_id)
        return await sim.push(channel, envelopes, concurrency=concurrency)

    # -- faults -------------------------------------------------------------------------------------
    async def close_connection(self, conn_id: str, code: int = 1000, reason: str = "") -> None:
        check_close_code(code)
        conn = self.connections.get(conn_id)
        if conn is None:
            raise ConfigError(f"no connection {conn_id!r}")
        await self._close(conn, code, reason)

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        conn.closed = True  # no new events for it while the close handshake runs
        self._live.clear()
        self.counters["closed_by_platform"] += 1
        await conn.close(code, reason)

    async def reconnect_all(self, code: int = 1012, reason: str = "service restart") -> int:
        """Close every connection; the SDK clients reconnect on their own (protocol §2.9)."""
        check_close_code(code)
        conns = list(self.connections.values())
        for conn in conns:
            await self._close(conn, code, reason)
        return len(conns)

    def set_answer_pings(self, answer: bool, conn_id: str | None = None) -> None:
        """``False``: stop answering pings (a half-open connection as the client sees it)."""
        if conn_id is None:
            self.faults.answer_pings = answer
            targets = list(self.connections.values())
        else:
            conn = self.connections.get(conn_id)
            if conn is None:
                raise ConfigError(f"no connection {conn_id!r}")
            targets = [conn]
        for conn in targets:
            conn.session.answer_pings = answer

    def set_ack_judgement(self, *, delay_s: float = 0.0, drop: bool = False) -> None:
        if delay_s < 0:
            raise ConfigError("ack delay must be >= 0")
        self.faults.ack_delay_s = float(delay_s)
        self.faults.drop_acks = bool(drop)

    def set_client_config(self, config: ClientConfig) -> None:
        """New ClientConfig for later discoveries and, through the next pong, for live clients."""
        self.config = config
        for conn in self.connections.values():
            conn.session.set_config(config)

    # -- inspection ---------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"apps": list(self.options.apps), "client_config": self.config.to_json(),
                "faults": self.faults.as_dict(), "counters": dict(self.counters),
                "connections": [c.info() for c in self.connections.values()],
                "deliveries": self.deliveries.total, "deliveries_retained": len(self.deliveries),
                "summary": self.summary.to_json()}

    def clear(self) -> None:
        """Forget deliveries and counters, lift every fault, restore the configured ClientConfig.
        Live connections stay."""
        self.deliveries.clear()
        self.summary = Summary()
        self.counters.clear()
        self.faults = Faults()
        self.set_client_config(self.options.client_config)
        for conn in self.connections.values():
            conn.session.answer_pings = True

    async def wait_for_clients(self, n: int, timeout: float, app_id: str | None = None) -> list[Connection]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._changed is None:
            self._changed = asyncio.Event()
        while True:
            conns = [c for c in self.connections.values() if app_id is None or c.app_id == app_id]
            if len(conns) >= n:
                return conns
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(conns)} of {n} clients connected after {timeout:g} s")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True

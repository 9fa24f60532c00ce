"""The long-connection platform's state: live connections, routing, ack judgement and fault switches.

Everything here runs on the server's event loop; the Starlette layer (``app.py``) only moves bytes
between sockets and these methods. Per-connection protocol rules and the connection lifecycle live in
the sans-IO ``Session``; discovery and the handshake in ``Admission``. Nothing here generates events or
retries: a ``Pusher`` (``pushing.py``) does, through ``deliver``.

Delivery follows docs/semantics.md#documented-long-connection-rules: each event goes to ONE randomly chosen
live connection of its app (cluster mode, chosen with ``SimRandom``); the verdict is ``acked`` (ack code 200),
``rejected`` (any other code), ``timeout`` (no ack within 3 s), ``connection_error`` (connection lost before
the ack) or ``not_delivered`` (no connection online). The engine's retry ladder decides what happens next.

Every verdict is reached within the ack budget, whatever the client does: a frame the connection cannot
take in that time (a client that stopped reading its socket, an SDK whose handler blocks its event loop) is
judged ``timeout``, and the connection, stuck, is closed (dropped if even the close frame cannot go out).
Ack deadlines: one timer for the platform, armed at the earliest session deadline (``DeadlineQueue``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from simulator.clock import Clock, SystemClock
from simulator.errors import ConfigError, TargetError
from simulator.platform.admission import Admission
from simulator.platform.callbacks import ClickListener, callback_kind, frame_type, judge_ack, tell_listeners
from simulator.platform.deadlines import DeadlineQueue
from simulator.platform.session import Acked, Pending, Problem, Session
from simulator.platform.state import (
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
from simulator.verdicts.model import Attempt, Channel, Outcome
from simulator.wire.envelope import event_id_of, event_type_of
from simulator.wire.frames import ClientConfig
from simulator.wire.seal import canonical_json

log = logging.getLogger("simulator.platform")

_TIMEOUT = "timeout"
_LOST = "lost"
_STUCK = "stuck"  # the frame could not be sent within the ack budget
Result = Acked | str  # what a pending message's future resolves to


class Platform:
    """``monotonic``: the session clock (seconds; ``time.perf_counter`` by default), which ack
    deadlines and latencies are measured on."""

    def __init__(self, options: PlatformOptions | None = None, *, clock: Clock | None = None,
                 monotonic: Callable[[], float] = time.perf_counter) -> None:
        self.options = options or PlatformOptions()
        self.clock: Clock = clock or SystemClock()
        self.monotonic = monotonic
        self.rand = SimRandom(self.options.seed)
        self._choice = self.rand.fork("longconn:cluster")
        self._ids = self.rand.fork("longconn:ids")
        self.faults = Faults()
        self.counters: Counter[str] = Counter()
        self.admission = Admission(self.options, self._ids, self.counters)
        self.connections: dict[str, Connection] = {}
        self._live: dict[str, list[Connection]] = {}
        self._changed: asyncio.Event | None = None
        self._deadlines: DeadlineQueue[str] = DeadlineQueue()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.on_click: list[ClickListener] = []  # told of each card click before it goes out (the mock OpenAPI)

    @property
    def config(self) -> ClientConfig:
        """The ClientConfig handed out at discovery and pushed to live clients in pongs."""
        return self.admission.config

    # -- discovery and handshake (docs/protocol.md#endpoint-discovery,
    # docs/protocol.md#close-reconnect-and-handshake-failures) ----------------------------------------------
    def discover(self, body: bytes, ws_base: str) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON answer for ``POST /callback/ws/endpoint``."""
        return self.admission.discover(body, ws_base)

    def admit(self, ticket_id: str | None) -> Ticket | Rejection:
        """Check a WebSocket upgrade's ticket and the app's connection limit
        (docs/semantics.md#documented-long-connection-rules)."""
        return self.admission.admit(ticket_id, self.connections.values())

    def register(self, ticket_id: str, ticket: Ticket, *, peer: str, send: Sender, close: Closer,
                 now_platform: float) -> Connection:
        """An admitted ticket's connection, now live; a config changed since its discovery goes out in its
        first pong."""
        session = Session(service_id=ticket.service_id, config=self.config, ack_budget_s=self.options.ack_budget_s,
                          fragment_size=self.options.fragment_size, pong_config=self.options.pong_config,
                          lifecycle=ticket.lifecycle, client_config=ticket.config)
        session.half_open(not self.faults.answer_pings)
        conn = Connection(ticket.device_id, ticket.app_id, ticket_id, session, now_platform, peer, send, close)
        self.connections[conn.conn_id] = conn
        self.counters["connections_opened"] += 1
        self._live.clear()
        self._notify()
        return conn

    def unregister(self, conn: Connection, code: int | None = None) -> None:
        conn.close_code = code
        if self.connections.get(conn.conn_id) is conn:
            del self.connections[conn.conn_id]
        self._deadlines.discard(conn.conn_id)
        self._live.clear()
        self.counters["connections_closed"] += 1
        if conn.session.counters.pings == 0:
            self.counters["never_pinged"] += 1  # a client that connected and never sent a ping
        for pending in conn.session.close():
            _resolve(pending, _LOST)
        self._notify()

    # -- incoming messages --------------------------------------------------------------------------
    async def on_message(self, conn: Connection, data: bytes | str) -> None:
        for ev in conn.session.receive(data, self.monotonic()):
            if isinstance(ev, Acked):
                self._on_acked(ev)
            elif isinstance(ev, Problem):
                self.counters[ev.kind] += 1
                log.info("connection %s: %s: %s", conn.conn_id, ev.kind, ev.detail)
            else:  # Pong
                await conn.send(ev.data)

    def _on_acked(self, ev: Acked) -> None:
        fut = ev.pending.token
        faults = self.faults
        if (faults.drop_acks or faults.ack_delay_s > 0) and isinstance(fut, asyncio.Future):
            # Held back: judged after the delay, and at the message's deadline at the latest.
            loop = fut.get_loop()
            loop.call_later(max(0.0, ev.pending.deadline - self.monotonic()), self._expire_held, fut)
            if faults.drop_acks:
                self.counters["acks_dropped"] += 1
            else:
                loop.call_later(faults.ack_delay_s, _resolve, ev.pending, ev)
            return
        _resolve(ev.pending, ev)

    def _expire_held(self, fut: asyncio.Future[Result]) -> None:
        if not fut.done():
            self.counters["expired_held"] += 1
            fut.set_result(_TIMEOUT)

    # -- delivery -----------------------------------------------------------------------------------
    def live(self, app_id: str) -> list[Connection]:
        """The app's live connections, in connection order (cached until a connection comes or goes)."""
        conns = self._live.get(app_id)
        if conns is None:
            conns = self._live[app_id] = [c for c in self.connections.values()
                                          if c.app_id == app_id and c.session.lifecycle.live]
        return conns

    async def deliver(self, app_id: str, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        """One attempt: pick a live connection of ``app_id`` at random, send, judge the ack."""
        raw = canonical_json(envelope)
        att = Attempt(event_id=event_id_of(envelope), event_type=event_type_of(envelope), attempt=attempt_no,
                      channel=Channel.LONGCONN, outcome=Outcome.NOT_DELIVERED, sent_at=sent_at, latency_ms=0.0,
                      request_body=raw.decode("utf-8"))
        conns = self.live(app_id)
        if not conns:
            att.detail = f"no connection of app {app_id} online"
            if app_id not in self.options.apps:
                att.detail += f" (not an app of this platform, which serves {', '.join(self.options.apps)})"
            self.counters["not_delivered"] += 1
            return att
        conn = conns[0] if len(conns) == 1 else self._choice.choice(conns)
        att.target = conn.conn_id
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        message_id = self._ids.uuid()
        trace_id = self._ids.hex(32)
        kind = callback_kind(att.event_type)  # a callback: its frame type and its answer (platform/callbacks.py)
        if kind is AnswerKind.CARD_ACTION:
            tell_listeners(self.on_click, app_id, envelope)
        t0 = self.monotonic()
        frames = conn.session.send_event(raw, message_id=message_id, trace_id=trace_id, now=t0, token=fut,
                                         kind=frame_type(kind, self.options.card_frame))
        self._watch(conn.conn_id, t0 + self.options.ack_budget_s)
        att.extra = {"message_id": message_id, "trace_id": trace_id, "fragments": len(frames)}
        budget = self.options.ack_budget_s
        try:
            await _send_all(conn.send, frames, budget)
        except asyncio.TimeoutError:  # the client does not read: the frame did not go out within the budget
            conn.session.forget(message_id)
            _settle(fut, _STUCK)
            self._drop_stuck(conn)
        except Exception as exc:  # the socket died under us: same verdict as a loss before the ack
            conn.session.forget(message_id)
            _settle(fut, _LOST)
            log.info("send to %s failed: %r", conn.conn_id, exc)
        self._judge(att, conn, await fut, t0, kind)
        self.counters[str(att.outcome)] += 1
        return att

    def _drop_stuck(self, conn: Connection) -> None:
        """Close (once, in the background) a connection that could not take a frame within the ack budget."""
        if not conn.session.lifecycle.live:
            return
        conn.session.closing()  # no new events for it, from now
        self._live.clear()
        self.counters["closed_stuck"] += 1
        log.info("connection %s did not take a frame within %g s: closing it", conn.conn_id, self.options.ack_budget_s)
        task = asyncio.get_running_loop().create_task(self._close(conn, 1011, "client not reading"))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _judge(self, att: Attempt, conn: Connection, result: Result, t0: float, kind: AnswerKind | None) -> None:
        if not isinstance(result, Acked):
            att.latency_ms = (self.monotonic() - t0) * 1000.0
            if result == _TIMEOUT:
                att.outcome = Outcome.TIMEOUT
                att.detail = f"no ack within {self.options.ack_budget_s:g} s"
            elif result == _STUCK:
                att.outcome = Outcome.TIMEOUT
                att.detail = (f"connection {conn.conn_id} did not take the frame within "
                              f"{self.options.ack_budget_s:g} s (not reading its socket?): closed")
            else:
                att.outcome = Outcome.CONNECTION_ERROR
                att.detail = f"connection {conn.conn_id} lost before the ack"
            return
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

    # -- ack deadlines ------------------------------------------------------------------------------
    @property
    def wake_at(self) -> float | None:
        """When the ack timer fires next (session clock); ``None`` while nothing is pending."""
        return self._timer_at

    def _watch(self, conn_id: str, when: float) -> None:
        """``conn_id`` has a message due at ``when``: make sure the timer fires by then."""
        if self._deadlines.schedule(conn_id, when) and (self._timer_at is None or when < self._timer_at):
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        delay = max(0.0, when - self.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self.judge_deadlines)

    def judge_deadlines(self) -> None:
        """Judge every message whose ack budget ran out, then sleep until the next deadline (the timer
        calls it; calling it early is harmless)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_at = None
        now = self.monotonic()
        for conn_id in self._deadlines.pop_due(now):
            conn = self.connections.get(conn_id)
            if conn is None:
                continue
            for expired in conn.session.expire(now):
                _resolve(expired.pending, _TIMEOUT)
            later = conn.session.next_deadline()
            if later is not None:
                self._deadlines.schedule(conn_id, later)
        when = self._deadlines.next()
        if when is not None:
            self._arm(when)

    # -- faults -------------------------------------------------------------------------------------
    def _connection(self, conn_id: str) -> Connection:
        conn = self.connections.get(conn_id)
        if conn is None:
            raise ConfigError(f"no connection {conn_id!r}")
        return conn

    async def close_connection(self, conn_id: str, code: int = 1000, reason: str = "") -> None:
        check_close_code(code)
        await self._close(self._connection(conn_id), code, reason)

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        if conn.session.lifecycle.live:
            conn.session.closing()  # no new events for it while the close handshake runs
            self._live.clear()
        self.counters["closed_by_platform"] += 1
        await conn.close(code, reason)

    async def reconnect_all(self, code: int = 1012, reason: str = "service restart") -> int:
        """Close every connection; the SDK clients reconnect on their own
        (docs/protocol.md#close-reconnect-and-handshake-failures)."""
        check_close_code(code)
        conns = list(self.connections.values())
        await asyncio.gather(*(self._close(conn, code, reason) for conn in conns))  # a stuck one holds no other
        return len(conns)

    def answer_pings(self, answer: bool, conn_id: str | None = None) -> None:
        """``False``: stop answering pings (a half-open connection as the client sees it)."""
        if conn_id is None:
            self.faults.answer_pings = answer
            targets = list(self.connections.values())
        else:
            targets = [self._connection(conn_id)]
        for conn in targets:
            conn.session.half_open(not answer)

    def ack_judgement(self, *, delay_s: float = 0.0, drop: bool = False) -> None:
        """Judge each ack ``delay_s`` later (past the budget: a timeout), or ignore acks (``drop``)."""
        if delay_s < 0:
            raise ConfigError("ack delay must be >= 0")
        self.faults.ack_delay_s = float(delay_s)
        self.faults.drop_acks = bool(drop)

    def set_client_config(self, **keys: int) -> ClientConfig:
        """Change some ClientConfig keys (``ping_interval=1`` or ``PingInterval=1``) for later discoveries
        and, through the next pong, for live clients; returns the new config."""
        return self._use_config(self.config.replace(**keys))

    def _use_config(self, config: ClientConfig) -> ClientConfig:
        self.admission.config = config
        for conn in self.connections.values():
            conn.session.set_config(config)
        return config

    # -- inspection ---------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"apps": list(self.options.apps), "client_config": self.config.to_json(),
                "faults": self.faults.as_dict(), "counters": dict(self.counters),
                "connections": [c.info() for c in self.connections.values()]}

    def clear(self) -> None:
        """Forget counters, lift every fault, restore the configured ClientConfig. Live connections stay."""
        self.counters.clear()
        self.faults = Faults()
        self._use_config(self.options.client_config)
        for conn in self.connections.values():
            conn.session.half_open(False)

    async def wait_for_clients(self, n: int, timeout: float, app_id: str | None = None) -> list[Connection]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._changed = self._changed or asyncio.Event()
        while True:
            conns = [c for c in self.connections.values() if app_id is None or c.app_id == app_id]
            if len(conns) >= n:
                return conns
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TargetError(f"{len(conns)} of {n} clients connected after {timeout:g} s")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()


def _settle(fut: asyncio.Future[Result], result: Result) -> None:
    if not fut.done():
        fut.set_result(result)


async def _send_all(send: Sender, frames: list[bytes], timeout: float) -> None:
    """Send ``frames`` in order, all within ``timeout`` seconds (``asyncio.TimeoutError`` otherwise)."""
    async def in_order() -> None:
        for data in frames:
            await send(data)

    if sys.version_info < (3, 11):
        return await asyncio.wait_for(in_order(), timeout)  # a task per message
    async with asyncio.timeout(timeout):  # one timer handle, no task: this is the hot path
        await in_order()


def _resolve(pending: Pending, result: Result) -> None:
    fut = pending.token
    if isinstance(fut, asyncio.Future) and not fut.done():
        fut.set_result(result)

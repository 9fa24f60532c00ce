"""Endpoint discovery and the WebSocket handshake's checks (docs/protocol.md#endpoint-discovery,
docs/protocol.md#close-reconnect-and-handshake-failures), without I/O.

Discovery checks the app's credentials and hands out a one-time ticket in the connection URL, with the
ClientConfig; the handshake accepts an ``issued`` ticket while the app is under its connection limit.

The ticket (and the URL's ``access_key``) are credentials: they come from ``secrets``, never from the seeded
source, so knowing a run's seed (printed in logs and transcripts) does not let anyone open a connection.
The seed still fixes the ids that are not secret (``device_id``, ``service_id``).
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections import Counter, OrderedDict
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from simulator.platform.session import Phase
from simulator.platform.state import (
    CODE_AUTH_FAILED,
    CODE_BAD_REQUEST,
    CODE_EXCEED_CONN_LIMIT,
    CODE_OK,
    MAX_TICKETS,
    WS_PATH,
    Connection,
    PlatformOptions,
    Rejection,
    Ticket,
)
from simulator.rand import SimRandom
from simulator.wire.frames import ClientConfig


class Admission:
    def __init__(self, options: PlatformOptions, ids: SimRandom, counters: Counter[str]) -> None:
        self.options = options
        self.config: ClientConfig = options.client_config  # what discovery hands out now
        self.tickets: OrderedDict[str, Ticket] = OrderedDict()
        self._ids = ids
        self._counters = counters

    def discover(self, body: bytes, ws_base: str) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON answer for ``POST /callback/ws/endpoint``."""
        counters = self._counters
        counters["endpoint_requests"] += 1
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("AppID"), str) \
                or not isinstance(doc.get("AppSecret"), str):
            counters["endpoint_bad_requests"] += 1
            return 400, {"code": CODE_BAD_REQUEST, "msg": 'expected {"AppID": ..., "AppSecret": ...}', "data": {}}
        app_id, secret = doc["AppID"], doc["AppSecret"]
        known = self.options.apps.get(app_id)
        if known is None or not hmac.compare_digest(known.encode(), secret.encode()):
            counters["endpoint_auth_failed"] += 1
            # A non-zero code other than 1 / 1000040343 is fatal for both SDKs when ``data`` is present.
            return 200, {"code": CODE_AUTH_FAILED, "msg": "auth failed: unknown app or wrong secret", "data": {}}
        ids = self._ids
        ticket = str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))
        device_id = ids.digits(19)
        service_id = ids.randint(1 << 24, (1 << 31) - 1)
        self.tickets[ticket] = Ticket(app_id, device_id, service_id, config=self.config)
        while len(self.tickets) > MAX_TICKETS:
            self.tickets.popitem(last=False)
        # A dummy parameter first: the Node client parses the whole URL with qs
        # (docs/protocol.md#websocket-url-and-query).
        query = urlencode({"fpid": 493, "aid": 552564, "device_id": device_id, "access_key": secrets.token_hex(16),
                           "service_id": service_id, "ticket": ticket})
        return 200, {"code": CODE_OK, "msg": "ok",
                     "data": {"URL": f"{ws_base}{WS_PATH}?{query}", "ClientConfig": self.config.to_json()}}

    def admit(self, ticket_id: str | None, connections: Iterable[Connection]) -> Ticket | Rejection:
        """The ticket of an acceptable upgrade (now ``open``), or why it is refused; ``connections``: the
        live ones."""
        ticket = self.tickets.get(ticket_id or "")
        if ticket is None or not ticket.issued:
            self._counters["handshake_bad_ticket"] += 1
            # The real code for a bad ticket is not documented; 514 with a non-limit errcode is what the
            # Python client treats as retryable (it then re-runs discovery and gets a fresh ticket).
            reason = "unknown ticket" if ticket is None else "ticket already used"
            return Rejection(403, CODE_AUTH_FAILED, reason, 0)
        live = sum(1 for c in connections if c.app_id == ticket.app_id)
        if live >= self.options.max_connections:
            self._counters["handshake_conn_limit"] += 1
            return Rejection(403, CODE_AUTH_FAILED, "exceed connection limit", CODE_EXCEED_CONN_LIMIT)
        ticket.lifecycle.move(Phase.OPEN)  # claimed now: a second upgrade with it is refused
        return ticket

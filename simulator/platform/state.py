"""The long-connection platform's records: discovery codes, tickets, connections, fault switches and
options. ``Platform`` (``core.py``) holds them and does the work; nothing here does I/O."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from simulator import constants as C
from simulator.errors import ConfigError
from simulator.platform.callbacks import check_card_frame
from simulator.platform.session import Lifecycle, Phase, PongConfig, Session
from simulator.wire.frames import DEFAULT_FRAGMENT_SIZE, ClientConfig

# Endpoint discovery codes (docs/protocol.md#endpoint-discovery, Python SDK ``ws/const.py``).
CODE_OK = 0
CODE_SYSTEM_BUSY = 1
CODE_FORBIDDEN = 403
CODE_AUTH_FAILED = 514
CODE_EXCEED_CONN_LIMIT = 1000040350
# Not a documented code: the answer to a body that is not ``{"AppID":..,"AppSecret":..}`` (HTTP 400).
CODE_BAD_REQUEST = 10003

WS_PATH = "/ws/v2"
MAX_TICKETS = 10_000

# Tests use short intervals: the first ping comes at once, later ones every 5 s; reconnects are immediate.
TEST_CLIENT_CONFIG = ClientConfig(reconnect_count=-1, reconnect_interval=1, reconnect_nonce=0, ping_interval=5)

# Close codes a server may send (RFC 6455 §7.4: 1004-1006 and 1015 are reserved, 3000-4999 are free).
_SENDABLE_CLOSE = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}


def check_close_code(code: int) -> int:
    if code in _SENDABLE_CLOSE or 3000 <= code <= 4999:
        return code
    raise ConfigError(f"invalid close code {code}: use 1000-1003, 1007-1014 or 3000-4999")


@dataclass(frozen=True)
class Rejection:
    """A refused WebSocket handshake: HTTP ``status`` plus the three ``Handshake-*`` headers
    (docs/protocol.md#close-reconnect-and-handshake-failures)."""

    status: int
    handshake_status: int
    message: str
    auth_errcode: int

    def headers(self) -> dict[str, str]:
        return {"Handshake-Status": str(self.handshake_status), "Handshake-Msg": self.message,
                "Handshake-Autherrcode": str(self.auth_errcode)}


@dataclass
class Ticket:
    """What discovery hands out; its ``lifecycle`` (``issued`` until a handshake claims it) becomes the
    connection's. ``config``: the ClientConfig discovery gave with it (what the client runs with until a pong
    says otherwise)."""

    app_id: str
    device_id: str
    service_id: int
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    config: ClientConfig | None = None

    @property
    def issued(self) -> bool:
        return self.lifecycle.phase is Phase.ISSUED


Sender = Callable[[bytes], Awaitable[None]]
Closer = Callable[[int, str], Awaitable[None]]


@dataclass
class Connection:
    """One live client connection (``conn_id`` is the ``device_id`` of its URL)."""

    conn_id: str
    app_id: str
    ticket: str
    session: Session
    connected_at: float  # platform time
    peer: str
    send: Sender
    close: Closer
    close_code: int | None = None  # the client's close code, once closed

    @property
    def phase(self) -> Phase:
        return self.session.lifecycle.phase

    def info(self) -> dict[str, Any]:
        return {"conn_id": self.conn_id, "app_id": self.app_id, "service_id": self.session.service_id,
                "connected_at": self.connected_at, "peer": self.peer, "phase": str(self.phase),
                "pending": self.session.pending, "answer_pings": self.session.answer_pings,
                "counters": self.session.counters.as_dict()}


@dataclass
class Faults:
    """Platform-wide fault switches (``reset`` by ``clear``)."""

    answer_pings: bool = True
    ack_delay_s: float = 0.0  # judge each ack this much later (a delay past the budget gives a timeout)
    drop_acks: bool = False  # ignore acks entirely: every message times out

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PlatformOptions:
    """Static configuration of a platform. ``apps`` maps app id -> app secret; ``scopes`` app id -> the
    permission scopes it was granted (an app not named, or None: every scope; openapi/scopes.py)."""

    apps: dict[str, str] = field(default_factory=lambda: {C.DEFAULT_APP_ID: C.DEFAULT_APP_SECRET})
    client_config: ClientConfig = field(default_factory=ClientConfig)
    ack_budget_s: float = C.LONGCONN_ACK_BUDGET_S
    fragment_size: int = DEFAULT_FRAGMENT_SIZE
    max_connections: int = C.MAX_CONNECTIONS_PER_APP
    pong_config: PongConfig = PongConfig.ALWAYS
    seed: int | None = None  # ids, the cluster choice and (through the pusher) events
    card_frame: str = "event"  # the ``type`` header of card.action.trigger frames: event or card (callbacks.py)
    scopes: dict[str, frozenset[str]] | None = None

    def __post_init__(self) -> None:
        if not self.apps:
            raise ConfigError("at least one app is required")
        for app_id, secret in self.apps.items():
            if not app_id or not secret:
                raise ConfigError("app id and app secret must not be empty")
        if self.ack_budget_s <= 0:
            raise ConfigError("ack budget must be > 0")
        if self.fragment_size < 1:
            raise ConfigError("fragment size must be >= 1")
        if self.max_connections < 1:
            raise ConfigError("max connections must be >= 1")
        check_card_frame(self.card_frame)
        unknown = [a for a in self.scopes or {} if a not in self.apps]
        if unknown:
            raise ConfigError(f"scopes for unknown app {unknown[0]!r}")

    @property
    def default_app(self) -> str:
        return next(iter(self.apps))

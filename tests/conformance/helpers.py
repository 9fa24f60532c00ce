"""What the conformance tests share: a push over real HTTP, and the official lark-oapi SDK's dispatcher as they
drive it -- a handler recording what each type's handler receives (behind a webhook, or behind the long
connection's client), a sealed envelope handed to it as the request it parses, and the body its typed model
marshals back to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import lark_oapi as lark

from simulator.engine.core import Simulator
from simulator.generation import catalog
from simulator.platform_server import PlatformServer
from simulator.verdicts.model import Delivery
from simulator.wire.seal import SealedRequest
from tests.longconn.lark_ws import connected_client


def push_over_http(sim: Simulator, url: str, envelopes: list[dict[str, Any]]) -> list[Delivery]:
    """Push ``envelopes`` to ``url`` through ``sim``'s webhook channel (closed after); blocks."""

    async def go() -> list[Delivery]:
        async with sim.webhook(url) as channel:
            return await sim.push(channel, envelopes)

    return asyncio.run(go())


class Recorder:
    """An ``EventDispatcherHandler`` (``handler``) with a handler for each of ``types`` -- the typed
    ``register_p2_*`` one the catalogue names, else ``register_p2_customized_event``
    (docs/protocol.md#vc-event-models-across-sdks) -- that
    records what each type's handler received, and every event id in the order they came (safe across
    threads: the long connection's client calls from its own)."""

    def __init__(self, types: Iterable[str], encrypt_key: str = "", verification_token: str = "") -> None:
        self.lock = threading.Lock()
        self.received: dict[str, list[Any]] = defaultdict(list)
        self.order: list[str] = []
        b = lark.EventDispatcherHandler.builder(encrypt_key, verification_token, lark.LogLevel.CRITICAL)
        for event_type in types:
            register = catalog.get(event_type).sdk_register
            if register is not None:
                b = getattr(b, register)(self._record(event_type))
            else:
                b = b.register_p2_customized_event(event_type, self._record(event_type))
        self.handler = b.build()

    def _record(self, event_type: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            with self.lock:
                self.received[event_type].append(data)
                self.order.append(data.header.event_id)

        return record


@contextlib.contextmanager
def recording_over_the_long_connection(app_id: str, app_secret: str, types: Iterable[str],
                                       seed: int) -> Iterator[tuple[PlatformServer, Recorder]]:
    """A platform with the official ``lark.ws.Client`` connected, its dispatcher a ``Recorder`` of ``types``."""
    rec = Recorder(types)
    with PlatformServer(app_id=app_id, app_secret=app_secret, seed=seed) as platform, \
            connected_client(platform, app_id, app_secret, rec.handler):
        yield platform, rec


def as_dict(obj: Any) -> Any:
    """What the SDK's typed model marshals back to."""
    return json.loads(lark.JSON.marshal(obj))


def raw_request(sealed: SealedRequest) -> lark.RawRequest:
    """The request the dispatcher's ``do`` parses: the sealed body and headers, as sent."""
    req = lark.RawRequest()
    req.uri, req.body, req.headers = "/webhook/event", sealed.body, dict(sealed.headers)
    return req


def deliver(recorder: Recorder, sim: Simulator, envelope: dict[str, Any]) -> Any:
    """``envelope`` sealed by ``sim`` (at its create_time) and handed to the dispatcher; its response."""
    req = raw_request(sim.sealer.seal(envelope, timestamp=int(envelope["header"]["create_time"]) // 1000))
    if sim.config.app.encrypt_key:  # signed: exactly the header names the SDK looks up (case-sensitively)
        assert {"X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature"} <= set(req.headers)
    return recorder.handler.do(req)

"""The reference receiver: a Starlette app that receives like a correct Feishu receiver should.

Order of checks (a strict superset of what the official SDKs do, docs/protocol.md#signature,
docs/protocol.md#verification-token, docs/protocol.md#url-verification-challenge, docs/protocol.md#handler-responses):

1. body size limit (413, checked while the body streams in: the rest of an oversized body is not read) and
   JSON (400, also for nesting too deep to parse);
2. decrypt ``{"encrypt": ...}`` when an encrypt key is configured (400 on failure); with a key configured,
   an unencrypted *event* is refused (the SDKs accept it if signed; we insist on the platform's form);
3. URL verification: the token must match, then ``{"challenge": ...}`` is echoed (no signature check,
   as the platform may not sign challenges);
4. signature over the raw body with the three ``X-Lark-*`` headers (401 when missing or wrong; checked
   before decrypting when present);
5. verification token in ``header.token`` when one is configured (401);
6. dedupe on ``header.event_id``, and on the business key when the event type has one (the message_id of
   ``im.message.receive_v1``: a redelivery can carry a new event_id, docs/semantics.md#dedupe-and-event_id-reuse):
   a duplicate is answered 200 but not processed again;
7. ``200 {"msg":"success"}``; a callback gets a valid answer instead (``card.action.trigger``: a success
   toast, ``url.preview.get``: an inline preview titled with the link).

A legacy card request (a flat body with ``action`` and ``open_message_id``, docs/events.md#legacy-card-request-url)
is checked first: its SHA-1 signature with the verification token when one is configured (401 when wrong or
missing), then answered with a success toast.

Everything received is kept in ``ReceiverState`` (also served at ``GET /_sim/received``), within bounds:
the first ``max_events`` events, the newest ``max_rejected`` refusals, and exact counts of both.
"""

from __future__ import annotations

import hmac
import json
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator import constants as C
from simulator.errors import DecryptError
from simulator.generation import catalog
from simulator.generation.catalog import business_key
from simulator.http_limits import DEFAULT_BODY_TIMEOUT_S, Refusal, read_body, refusal
from simulator.wire.legacy_card import verify_legacy_signature
from simulator.wire.seal import AesCipher, sign

DEFAULT_MAX_BODY = 1024 * 1024


@dataclass
class Received:
    event_id: str
    event_type: str
    envelope: dict[str, Any]
    duplicate: bool
    at: float
    key: str | None = None  # the business dedupe key (``catalog.business_key``), if the type has one


@dataclass
class ReceiverState:
    events: list[Received] = field(default_factory=list)  # the first max_events
    rejected: list[tuple[int, str]] = field(default_factory=list)  # the newest max_rejected
    challenges: int = 0
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    seen_keys: OrderedDict[str, None] = field(default_factory=OrderedDict)
    max_seen: int = 100_000
    max_events: int = 10_000
    max_rejected: int = 1_000
    received_total: int = 0  # every event answered 200, duplicates included
    duplicates_total: int = 0
    rejected_total: int = 0
    rejected_by_status: Counter[int] = field(default_factory=Counter)

    @property
    def unique(self) -> list[Received]:
        return [e for e in self.events if not e.duplicate]

    def add_rejected(self, status: int, msg: str) -> None:
        self.rejected_total += 1
        self.rejected_by_status[status] += 1
        self.rejected.append((status, msg))
        if len(self.rejected) > self.max_rejected:
            del self.rejected[: len(self.rejected) - self.max_rejected]

    def clear(self) -> None:
        self.events.clear()
        self.rejected.clear()
        self.seen.clear()
        self.seen_keys.clear()
        self.challenges = 0
        self.received_total = self.duplicates_total = self.rejected_total = 0
        self.rejected_by_status.clear()


_TOAST: dict[str, Any] = {"toast": {"type": "success", "content": "received"}}


def _callback_answer(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    if event_type == "url.preview.get":
        event = payload.get("event")
        context = event.get("context") if isinstance(event, dict) else None
        url = context.get("url") if isinstance(context, dict) else None
        return {"inline": {"title": str(url or "link")}}
    return _TOAST


def _remember(seen: OrderedDict[str, None], key: str, limit: int) -> None:
    seen[key] = None
    if len(seen) > limit:
        seen.popitem(last=False)


def _msg(status: int, msg: str) -> JSONResponse:
    return JSONResponse({"msg": msg}, status_code=status, media_type=C.CONTENT_TYPE_JSON)


class ReferenceReceiver:
    def __init__(self, *, encrypt_key: str | None = None, verification_token: str | None = None,
                 max_body: int = DEFAULT_MAX_BODY, body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S,
                 verbose: bool = False) -> None:
        self.encrypt_key = encrypt_key or None
        self.verification_token = verification_token or None
        self.cipher = AesCipher(encrypt_key) if encrypt_key else None
        self.max_body = max_body
        self.body_timeout_s = body_timeout_s
        self.verbose = verbose
        self.state = ReceiverState()

    def handled(self, key: str) -> int:
        """How many received events with this business key (a message_id, or ``<event_type>:<key>``) were
        processed rather than deduped: the ``handled`` probe of ``simulator.audit.run_audit``."""
        return sum(1 for e in self.state.events
                   if not e.duplicate and e.key is not None and (e.key == key or e.key.endswith(":" + key)))

    def reject(self, status: int, msg: str, *, close: bool = False) -> JSONResponse:
        self.state.add_rejected(status, msg)
        if self.verbose:
            print(f"rejected {status} {msg}", flush=True)
        return refusal(status, msg, close=close)

    def _token_ok(self, token: object) -> bool:
        if self.verification_token is None:
            return token in (None, "")
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.verification_token.encode())

    async def handle(self, request: Request) -> Response:
        raw = await read_body(request, max_bytes=self.max_body, timeout_s=self.body_timeout_s)
        if isinstance(raw, Refusal):
            return self.reject(raw.status, raw.msg, close=raw.close)
        outer = self._json_object(raw)
        if isinstance(outer, Response):
            return outer
        if "action" in outer and "open_message_id" in outer and "schema" not in outer:
            return self._legacy_card(raw, outer, dict(request.headers))
        signed = self._signature(request, raw)
        if isinstance(signed, Response):
            return signed
        encrypted = "encrypt" in outer
        payload = self._decrypted(outer) if encrypted else outer
        if isinstance(payload, Response):
            return payload
        if payload.get("type") == "url_verification" and "schema" not in payload:
            return self._challenge(payload)
        if self.cipher is not None and not encrypted:
            return self.reject(400, "unencrypted event but an encrypt key is configured")
        if self.cipher is not None and not signed:
            return self.reject(401, "missing signature headers")
        return self._event(payload)

    def _json_object(self, raw: bytes) -> dict[str, Any] | Response:
        try:
            outer = json.loads(raw)
        except RecursionError:
            return self.reject(400, "body is JSON nested too deeply")
        except ValueError:
            return self.reject(400, "body is not JSON")
        return outer if isinstance(outer, dict) else self.reject(400, "body is not a JSON object")

    def _signature(self, request: Request, raw: bytes) -> bool | Response:
        """Whether the request is validly signed (authenticating the exact bytes before the ciphertext is
        touched); a refusal when the signature headers are partial or wrong."""
        if self.cipher is None:
            return False
        ts = request.headers.get(C.HEADER_TIMESTAMP)
        nonce = request.headers.get(C.HEADER_NONCE)
        sig = request.headers.get(C.HEADER_SIGNATURE)
        if not (ts or nonce or sig):
            return False
        if not ts or not nonce or not sig:
            return self.reject(401, "missing signature headers")
        if not hmac.compare_digest(sign(ts, nonce, self.cipher.encrypt_key, raw), sig):
            return self.reject(401, "signature verification failed")
        return True

    def _decrypted(self, outer: dict[str, Any]) -> dict[str, Any] | Response:
        if self.cipher is None:
            return self.reject(400, "encrypted body but no encrypt key configured")
        try:
            payload = json.loads(self.cipher.decrypt(str(outer["encrypt"])))
        except RecursionError:
            return self.reject(400, "decrypted body is JSON nested too deeply")
        except (DecryptError, ValueError) as exc:  # ValueError: not JSON
            return self.reject(400, f"cannot decrypt: {exc}")
        return payload if isinstance(payload, dict) else self.reject(400, "decrypted body is not a JSON object")

    def _challenge(self, payload: dict[str, Any]) -> Response:
        # The platform may not sign challenges (docs/protocol.md#signature-headers-without-an-encrypt-key): the
        # token authenticates them.
        if not self._token_ok(payload.get("token")):
            return self.reject(401, "invalid verification token")
        self.state.challenges += 1
        return JSONResponse({"challenge": payload.get("challenge")}, media_type=C.CONTENT_TYPE_JSON)

    def _event(self, payload: dict[str, Any]) -> Response:
        header = payload.get("header")
        if payload.get("schema") != C.SCHEMA_V2 or not isinstance(header, dict):
            return self.reject(400, "not a v2.0 event")
        if not self._token_ok(header.get("token")) and not (self.cipher is not None and "token" not in header):
            return self.reject(401, "invalid verification token")
        event_id = str(header.get("event_id", ""))
        key = business_key(payload)
        duplicate = event_id in self.state.seen or (key is not None and key in self.state.seen_keys)
        if not duplicate:
            _remember(self.state.seen, event_id, self.state.max_seen)
            if key is not None:
                _remember(self.state.seen_keys, key, self.state.max_seen)
        self.state.received_total += 1
        self.state.duplicates_total += duplicate
        if len(self.state.events) < self.state.max_events:
            self.state.events.append(Received(event_id, str(header.get("event_type", "")), payload, duplicate,
                                              time.time(), key))
        if self.verbose:
            print(f"{'duplicate' if duplicate else 'received'} {event_id} {header.get('event_type')}", flush=True)
        spec = catalog.find(str(header.get("event_type", "")))
        if spec is not None and spec.callback is not None:
            return JSONResponse(_callback_answer(spec.event_type, payload), media_type=C.CONTENT_TYPE_JSON)
        return _msg(200, "success")

    def _legacy_card(self, raw: bytes, body: dict[str, Any], headers: dict[str, str]) -> Response:
        if self.verification_token is not None and not verify_legacy_signature(headers, self.verification_token, raw):
            return self.reject(401, "legacy card signature verification failed")
        if len(self.state.events) < self.state.max_events:
            self.state.events.append(Received("", "card.action.trigger_v1", body, False, time.time()))
        return JSONResponse(_TOAST, media_type=C.CONTENT_TYPE_JSON)

    async def received(self, request: Request) -> Response:
        return JSONResponse({
            "events": [{"event_id": e.event_id, "event_type": e.event_type, "duplicate": e.duplicate}
                       for e in self.state.events],
            "rejected": [{"status": s, "msg": m} for s, m in self.state.rejected],
            "challenges": self.state.challenges,
            "counts": {"received": self.state.received_total, "duplicates": self.state.duplicates_total,
                       "rejected": self.state.rejected_total,
                       "rejected_by_status": {str(k): v for k, v in sorted(self.state.rejected_by_status.items())}},
        })

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route(f"{C.CONTROL_PREFIX}/received", self.received, methods=["GET"]),
            Route("/{path:path}", self.handle, methods=["POST"]),
        ])


def make_receiver_app(**kwargs: Any) -> Starlette:
    return ReferenceReceiver(**kwargs).app()

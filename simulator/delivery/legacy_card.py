"""Delivery to a legacy card request URL (the "消息卡片请求网址", ``card.action.trigger_v1``).

The engine hands this channel ``card.action.trigger`` envelopes like any other; the channel sends the
same click as the legacy request: the flat body (``legacy_request``), compact JSON, never encrypted, with
``X-Lark-Request-Timestamp``, ``X-Lark-Request-Nonce`` and ``X-Lark-Signature = sha1_hex(timestamp + nonce +
verification_token + body)`` (``simulator.wire.legacy_card``; docs/protocol.md#card-callbacks-over-webhook).
The answer is judged as a legacy answer (the replacement card JSON, ``{}``, or a toast). Each attempt's
``event_type`` is ``card.action.trigger_v1`` (what was sent); the delivery keeps the click's event id.

It wraps a webhook channel (a URL, or an app in this process) and uses its ``send``: the same budget, the
same late-answer rule, the same app-exception reporting. Without a verification token the signature is
computed with an empty token: the official handlers check it only when configured with one.
"""

from __future__ import annotations

from typing import Any

from simulator import constants as C
from simulator.delivery.webhook import WebhookChannel
from simulator.generation.families.callbacks.legacy import LEGACY_TYPE, legacy_request
from simulator.verdicts.answers import AnswerKind
from simulator.verdicts.model import Attempt, Channel, Outcome
from simulator.wire.envelope import event_id_of
from simulator.wire.legacy_card import legacy_body, legacy_card_headers


class LegacyCardChannel:
    """Sends clicks as legacy card requests through ``inner`` (whose sealer supplies the seeded nonces)."""

    channel = Channel.WEBHOOK

    def __init__(self, inner: WebhookChannel, verification_token: str | None) -> None:
        self.inner = inner
        self.verification_token = verification_token or ""

    @property
    def url(self) -> str:
        return self.inner.url

    def request(self, envelope: dict[str, Any], *, timestamp: int) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one legacy request for the click in ``envelope`` (a fresh nonce)."""
        body = legacy_body(legacy_request(envelope))
        rand = self.inner.sealer.rand
        nonce = str(rand.randint(100_000_000, 9_999_999_999))
        headers = {"Content-Type": C.CONTENT_TYPE_JSON, C.HEADER_REQUEST_ID: rand.uuid(),
                   **legacy_card_headers(str(int(timestamp)), nonce, self.verification_token, body)}
        return body, headers

    async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        body, headers = self.request(envelope, timestamp=int(sent_at))
        att = Attempt(event_id=event_id_of(envelope), event_type=LEGACY_TYPE, attempt=attempt_no,
                      channel=self.channel, outcome=Outcome.CONNECTION_ERROR, sent_at=sent_at, latency_ms=0.0,
                      target=self.inner.url, request_headers=headers, request_body=body.decode("utf-8"))
        return await self.inner.send(body, headers, att, answer=AnswerKind.LEGACY_CARD)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> LegacyCardChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

"""``Simulator``: the one engine behind the CLI, the pytest plugin and the load generator.

generate -> wrap in envelope -> seal -> deliver -> judge -> record. The engine owns the seeded random
source, the clock, the retry ladder and the record of every delivery; channels (webhook, long
connection) make single attempts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from .clock import Clock, SystemClock, VirtualClock
from .config import SimConfig
from .delivery import DeliveryChannel
from .delivery.webhook import WebhookChannel
from .errors import NotAcked
from .generator import EventFactory
from .overrides import Overrides
from .rand import SimRandom
from .seal import Sealer
from .transcript import TranscriptWriter
from .verdict import Delivery, Summary

AttemptHook = Callable[[Delivery], None]


def default_clock(config: SimConfig) -> Clock:
    if config.time_scale is None:
        return SystemClock() if config.start_time is None else VirtualClock(config.start_time, scale=1.0)
    return VirtualClock(config.start_time, scale=config.time_scale)


class Simulator:
    """A seeded run against one app. Async core; ``run()`` is the sync facade for scripts."""

    def __init__(self, config: SimConfig | None = None, *, clock: Clock | None = None,
                 transcript: TranscriptWriter | None = None) -> None:
        self.config = config or SimConfig()
        self.rand = SimRandom(self.config.seed)
        self.clock: Clock = clock or default_clock(self.config)
        self.factory = EventFactory(app=self.config.app, rand=self.rand, clock=self.clock, locale=self.config.locale)
        self.sealer = Sealer(self.config.app.encrypt_key, self.rand.fork("seal"))
        self.transcript = transcript
        self.deliveries: list[Delivery] = []
        self.on_delivery: list[AttemptHook] = []

    # -- generation --------------------------------------------------------------------------------
    def generate(self, event_type: str, *, overrides: Overrides | None = None, validate: bool | None = None,
                 longconn: bool = False) -> dict[str, Any]:
        return self.factory.generate(event_type, overrides=overrides,
                                     validate=self.config.validate if validate is None else validate,
                                     longconn=longconn)

    def generate_many(self, event_type: str, count: int, *, overrides: Overrides | None = None,
                      validate: bool | None = None, longconn: bool = False) -> list[dict[str, Any]]:
        """``count`` envelopes, event times spread a few seconds apart on a virtual clock."""
        out = []
        for _ in range(count):
            out.append(self.generate(event_type, overrides=overrides, validate=validate, longconn=longconn))
            if isinstance(self.clock, VirtualClock) and self.clock.scale == 0:
                self.clock.advance(self.rand.uniform(0.5, 20.0))
        return out

    # -- channels ----------------------------------------------------------------------------------
    def webhook(self, url: str, *, client: httpx.AsyncClient | None = None,
                transport: httpx.AsyncBaseTransport | None = None) -> WebhookChannel:
        return WebhookChannel(url, self.sealer, budget=self.config.budget, accept_2xx=self.config.accept_2xx,
                              client=client, transport=transport)

    # -- delivery ----------------------------------------------------------------------------------
    async def deliver(self, envelope: dict[str, Any], channel: DeliveryChannel, *,
                      expect_rejected: bool = False) -> Delivery:
        """Deliver one envelope through the retry ladder; every attempt is re-sealed."""
        header = envelope.get("header", {})
        d = Delivery(event_id=str(header.get("event_id", "")), event_type=str(header.get("event_type", "")),
                     envelope=envelope, expect_rejected=expect_rejected)
        self.deliveries.append(d)
        delays = (0.0, *self.config.retries.delays)
        for number, delay in enumerate(delays, start=1):
            if number > 1:
                await self.clock.sleep(delay)
            att = await channel.attempt(envelope, attempt_no=number, sent_at=self.clock.now())
            d.record(att)
            if self.transcript is not None:
                self.transcript.attempt(att)
            if att.outcome.ok:
                break
        d.close()
        if self.transcript is not None:
            self.transcript.delivery(d)
        for hook in self.on_delivery:
            hook(d)
        return d

    async def push(self, channel: DeliveryChannel, envelopes: Iterable[dict[str, Any]], *, concurrency: int = 1,
                   expect_rejected: bool = False) -> list[Delivery]:
        """Deliver ``envelopes`` in order with at most ``concurrency`` in flight; results in input order."""
        items = list(envelopes)
        results: list[Delivery | None] = [None] * len(items)
        if concurrency <= 1:
            for i, env in enumerate(items):
                results[i] = await self.deliver(env, channel, expect_rejected=expect_rejected)
        else:
            sem = asyncio.Semaphore(concurrency)

            async def one(i: int, env: dict[str, Any]) -> None:
                async with sem:
                    results[i] = await self.deliver(env, channel, expect_rejected=expect_rejected)

            await asyncio.gather(*(one(i, e) for i, e in enumerate(items)))
        return [r for r in results if r is not None]

    # -- results -----------------------------------------------------------------------------------
    def summary(self) -> Summary:
        return Summary.of(self.deliveries)

    def unexpected(self) -> list[Delivery]:
        """Deliveries that did not end as expected: not acked (unless a rejection was expected)."""
        return [d for d in self.deliveries if d.acked == d.expect_rejected]

    def assert_all_acked(self) -> None:
        bad = [d for d in self.deliveries if not d.acked]
        if bad:
            raise NotAcked(f"{len(bad)} of {len(self.deliveries)} deliveries not acked: " + bad[0].summary_line())

    def assert_acked(self, event_id: str) -> Delivery:
        for d in self.deliveries:
            if d.event_id == event_id:
                if not d.acked:
                    raise NotAcked(d.summary_line())
                return d
        raise NotAcked(f"no delivery with event_id {event_id}")

"""``Simulator``: the one engine behind the CLI, the pytest plugin and the load generator.

generate -> wrap in envelope -> seal -> deliver -> judge -> record. The engine owns the seeded random
source, the clock, the retry ladder and the record of every delivery; channels (webhook, long
connection) make single attempts.

Delivery semantics (docs/semantics.md#retry-ladder, docs/semantics.md#documented-long-connection-rules), the same for
every channel: an attempt that is not acked
(non-200, timeout, connection error, ack code != 200, no ack in 3 s, no connection online) is retried
after the ``RetryPolicy`` gaps (Feishu: 15 s, 5 min, 1 h, 6 h), measured between the attempts' platform
send times; the retry carries the same envelope (same event_id) and the channel seals it afresh. Every
delivery ends ``acked`` (at attempt k) or ``exhausted``. Whether a type is retried at all is its
``EventSpec.retried``: callbacks are not (one attempt, judged by its answer, and no duplicates). Seeded
faults (``faults.py``) add duplicates, reorders, delays, lost answers and bursts. All attempts are ordered
by platform time through one discrete-event ``Scheduler`` (``schedule.py``), which is what keeps
concurrent ladders deterministic on a virtual clock.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from simulator.clock import Clock, make_clock
from simulator.config import SimConfig
from simulator.delivery import DeliveryChannel
from simulator.delivery.live import LiveWebhookChannel
from simulator.delivery.webhook import WebhookChannel
from simulator.engine.faults import Duplicate, FaultPlan
from simulator.engine.generating import Generating
from simulator.engine.schedule import TIME_EPSILON, Batch, Feed, Flow, Scheduler
from simulator.engine.sources import PLAN_WINDOW, Source, Timed, Window, later, timed
from simulator.errors import NotAcked, SimulatorError
from simulator.generation import catalog
from simulator.generation.factory import EventFactory
from simulator.rand import SimRandom
from simulator.verdicts.model import Delivery, DeliveryLog, Outcome, Summary
from simulator.verdicts.transcript import TranscriptWriter
from simulator.wire.envelope import event_id_of, event_type_of
from simulator.wire.seal import Sealer

AttemptHook = Callable[[Delivery], None]
Planning = tuple[Window, Callable[[], None]]  # a push's window, and what plans more when there is room


@dataclass(eq=False)
class _Job:
    """A delivery in progress: which channel, its fault key and its place in the send order."""

    delivery: Delivery
    channel: DeliveryChannel
    key: str
    order: tuple[int, int]
    batch: Batch

    @property
    def retried(self) -> bool:
        """Whether a failed attempt goes on the ladder: ``EventSpec.retried``, which is false exactly for the
        callbacks (recorded as ``Delivery.callback``)."""
        return self.delivery.callback is None


class Simulator(Generating):
    """A seeded run against one app; every method that delivers is a coroutine (``FeishuSim`` is the
    blocking face). An async context manager: ``async with Simulator(config) as sim:`` closes, on the
    way out, the channels that ``webhook()`` made."""

    plan_window = PLAN_WINDOW  # with faults: events planned ahead of those started (``stream``)

    def __init__(self, config: SimConfig | None = None, *, clock: Clock | None = None,
                 transcript: TranscriptWriter | None = None) -> None:
        self.config = config or SimConfig()
        self.rand = SimRandom(self.config.seed)
        self.clock: Clock = clock or make_clock(self.config.time_scale, self.config.start_time)
        self.factory = EventFactory(app=self.config.app, rand=self.rand, clock=self.clock, locale=self.config.locale,
                                    validate_all=self.config.validate_all)
        self.sealer = Sealer(self.config.app.encrypt_key, self.rand.fork("seal"))
        self.transcript = transcript
        self.deliveries = DeliveryLog()  # a platform shares one (bounded) log among its engines
        self.on_delivery: list[AttemptHook] = []
        self._scenario_runs = 0
        self.faults = FaultPlan(self.config.faults, self.rand.fork("faults"))
        self._sched: Scheduler | None = None
        self._submitted = 0
        self._channels: list[WebhookChannel] = []
        self._stopping = False
        # Started, not ended (by id: deliveries compare by value), with the batch (push) each belongs to.
        self._open: dict[int, tuple[Delivery, Batch]] = {}
        self._on_end: dict[Batch, AttemptHook] = {}  # a stream's own hook for its event deliveries
        self._ended = Summary()  # running summary of the ended deliveries (the log may be bounded)

    async def __aenter__(self) -> Simulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the channels ``webhook()`` made (a channel built elsewhere and given to ``push`` stays its
        owner's). The simulator stays usable: a later ``webhook()`` makes a new channel."""
        channels, self._channels = self._channels, []
        for channel in channels:
            await channel.aclose()

    # -- channels ----------------------------------------------------------------------------------
    def webhook(self, url: str, *, client: httpx.AsyncClient | None = None,
                transport: httpx.AsyncBaseTransport | None = None) -> WebhookChannel:
        """A channel to ``url`` sealing with this run's app and budget; ``aclose()`` (or leaving
        ``async with``) closes it. Without an injected ``client`` or ``transport`` the requests go over
        the load path's HTTP client (``LiveWebhookChannel``), with the same verdicts as through httpx."""
        channel: WebhookChannel
        if client is None and transport is None:
            channel = LiveWebhookChannel(url, self.sealer, budget=self.config.budget, accept_2xx=self.config.accept_2xx)
        else:
            channel = WebhookChannel(url, self.sealer, budget=self.config.budget, accept_2xx=self.config.accept_2xx,
                                     client=client, transport=transport)
        self._channels.append(channel)
        return channel

    # -- delivery ----------------------------------------------------------------------------------
    def _scheduler(self) -> Scheduler:
        loop = asyncio.get_running_loop()
        if self._sched is None or self._sched.loop is not loop:
            self._sched = Scheduler(self.clock)
        return self._sched

    def _new_delivery(self, envelope: dict[str, Any], batch: Batch, *, expect_rejected: bool, origin: str = "event",
                      duplicate_of: str | None = None) -> Delivery:
        event_type = event_type_of(envelope)
        spec = catalog.find(event_type)
        d = Delivery(event_id=event_id_of(envelope), event_type=event_type, envelope=envelope,
                     expect_rejected=expect_rejected, origin=origin, duplicate_of=duplicate_of,
                     seq=self.deliveries.total,
                     callback=None if spec is None or spec.callback is None else spec.callback.value)
        self.deliveries.append(d)
        self._open[id(d)] = (d, batch)
        return d

    def _submit(self, sched: Scheduler, batch: Batch, envelope: dict[str, Any], channel: DeliveryChannel, *,
                base: float, expect_rejected: bool, window: Planning | None = None) -> Delivery:
        index = self._submitted
        self._submitted += 1
        release = self.faults.release(index)
        d = self._new_delivery(envelope, batch, expect_rejected=expect_rejected)
        job = _Job(d, channel, key=f"e{index}", order=(release.order, 0), batch=batch)
        due = base + release.offset
        if window is None:
            self._schedule_attempt(sched, job, due)
        else:  # the same entry, whose start makes room in the window
            sched.schedule(batch, due, (*job.order, 1), functools.partial(self._first_of_window, *window, sched, job,
                                                                           due))
        return d

    def _schedule_attempt(self, sched: Scheduler, job: _Job, due: float) -> None:
        number = len(job.delivery.attempts) + 1
        # A partial rather than a closure: fewer GC-tracked objects per planned attempt (cells, function),
        # which matters when hundreds of thousands of retries or duplicates wait for their times at once.
        sched.schedule(job.batch, due, (*job.order, number), functools.partial(self._attempt, sched, job, number, due))

    async def _attempt(self, sched: Scheduler, job: _Job, number: int, due: float) -> None:
        d = job.delivery
        now = self.clock.now()
        # On time (always, on an instant clock) the send time is the planned one exactly, so the gaps are
        # exactly the ladder's; late (all slots were busy, or a compressed clock ran on) it is the real one.
        sent_at = now if now - due > TIME_EPSILON else due
        att = await job.channel.attempt(d.envelope, attempt_no=number, sent_at=sent_at)
        if att.outcome.ok and self.faults.drop(job.key, number):
            att.outcome = Outcome.DROPPED
            att.detail = "fault: the receiver's answer was lost; the platform counts a failure and retries"
            att.extra["fault"] = "drop"
        d.record(att)
        if self.transcript is not None:
            self.transcript.attempt(att, d.envelope if number == 1 else None, delivery=d.seq, origin=d.origin)
        delays = self.config.retries.delays if job.retried else ()
        going = not (self._stopping or job.batch.halted)
        if att.outcome.ok:
            if d.origin == "event" and job.retried and going:  # a callback is answered once
                for dup in self.faults.duplicates(job.key):
                    self._spawn_duplicate(sched, job, dup, att.sent_at)
        elif number <= len(delays):
            if going:
                self._schedule_attempt(sched, job, att.sent_at + delays[number - 1])
            return  # pending: a retry is due (or the run was stopped before it)
        self._close(d)
        hook = self._on_end.get(job.batch) if d.origin == "event" else None
        if hook is not None:
            hook(d)

    def _spawn_duplicate(self, sched: Scheduler, job: _Job, dup: Duplicate, acked_sent_at: float) -> None:
        parent = job.delivery
        envelope = parent.envelope
        if dup.new_id is not None:
            envelope = copy.deepcopy(envelope)
            envelope.setdefault("header", {})["event_id"] = dup.new_id
        d = self._new_delivery(envelope, job.batch, expect_rejected=parent.expect_rejected, origin=dup.kind,
                               duplicate_of=parent.event_id)
        d.parent = parent
        rank = 1 if dup.new_id is None else 2
        twin = _Job(d, job.channel, key=f"{job.key}.{dup.kind}", order=(job.order[0], rank), batch=job.batch)
        self._schedule_attempt(sched, twin, acked_sent_at + dup.after)

    def _close(self, d: Delivery, *, cut_short: bool = False) -> None:
        if not cut_short:
            d.close()
        self._open.pop(id(d), None)
        self._ended.add(d)
        if self.transcript is not None:
            try:
                self.transcript.delivery(d)
            except SimulatorError:
                if not cut_short:  # a push fails with its transcript; what a stop left is recorded if it can be
                    raise
        for hook in self.on_delivery:
            hook(d)

    async def _run_batch(self, sched: Scheduler, batch: Batch) -> None:
        try:
            await asyncio.shield(batch.done)
        except asyncio.CancelledError:
            sched.cancel(batch)
            raise

    async def deliver(self, envelope: dict[str, Any], channel: DeliveryChannel, *,
                      expect_rejected: bool = False) -> Delivery:
        """Deliver one envelope through the retry ladder (and the configured faults); every attempt is
        re-sealed by the channel. Returns when the ladder -- and any duplicate it spawned -- is over."""
        sched = self._scheduler()
        batch = sched.batch(None)
        d = self._submit(sched, batch, envelope, channel, base=self.clock.now(), expect_rejected=expect_rejected)
        await self._run_batch(sched, batch)
        return d

    async def push(self, channel: DeliveryChannel, envelopes: Iterable[dict[str, Any]], *, concurrency: int = 1,
                   expect_rejected: bool = False) -> list[Delivery]:
        """Deliver ``envelopes`` with at most ``concurrency`` attempts in flight (a burst fault raises that
        to the burst size); events go out in input order unless faults delay or reorder them. Returns the
        deliveries in input order; fault-injected duplicates are in ``deliveries`` and the summary."""
        out: list[Delivery] = []
        await self.stream(channel, envelopes, concurrency=concurrency, expect_rejected=expect_rejected,
                          on_start=out.append)
        return out

    async def stream(self, channel: DeliveryChannel, envelopes: Source, *, concurrency: int = 1,
                     expect_rejected: bool = False, on_start: AttemptHook | None = None,
                     on_end: AttemptHook | None = None, flow: Flow | None = None) -> None:
        """``push`` without the list: envelopes are drawn from ``envelopes`` only when the scheduler reaches
        them (with faults, which reorder and delay, a window of ``plan_window`` events ahead of those
        started) and nothing is kept per event beyond ``deliveries`` (bound it with ``DeliveryLog(keep=N)``)
        and the running ``summary()``, so memory stays flat whatever the count. ``Released`` envelopes are
        not pushed before their time. ``on_start`` sees each event's delivery as it is created, in input
        order; ``on_end`` each as it ends (not the fault-injected copies, nor those a stop cut short).
        ``stop()`` ends it early, and so does ``flow.halt()`` (this push alone); ``flow.pause()`` holds it."""
        items = timed(envelopes)
        first = next(items, None)
        if first is None:
            return
        items = itertools.chain((first,), items)
        sched = self._scheduler()
        batch = sched.batch(max(concurrency, self.faults.min_in_flight, 1))
        base = self.clock.now()
        if self.faults.spec.active:
            spec = self.faults.spec
            window = Window(items, max(self.plan_window, concurrency, spec.burst, spec.reorder))
            plan = functools.partial(self._plan, sched, batch, window, channel, base, expect_rejected, on_start)
            try:
                plan()
            except BaseException:
                sched.cancel(batch)
                raise
        else:
            # No faults: the first attempts are due at ``base`` (or their release times, nondecreasing) in input
            # order, and a retry is due later than its own first attempt, so the scheduler can make them as it
            # reaches them -- the same order as planning them all at once, without holding a planned attempt
            # (or an envelope) per event.
            sched.feed(batch, self._first_attempts(sched, batch, items, channel, base, expect_rejected, on_start))
        if flow is not None:
            flow.bind(sched, batch)
        if on_end is not None:
            self._on_end[batch] = on_end
        try:
            await self._run_batch(sched, batch)
        finally:
            self._on_end.pop(batch, None)

    def _plan(self, sched: Scheduler, batch: Batch, window: Window, channel: DeliveryChannel, base: float,
              expect_rejected: bool, on_start: AttemptHook | None) -> None:
        """With faults: plan first attempts until ``window`` is full (all of them when the push is no longer
        than it: exactly the plan of a push planned at once). Each planned attempt, when it starts, makes room
        for one more, whose release (delay, burst, reorder) is the same function of its index: an attempt
        whose due time has passed by the time it is planned starts at once, in (due, order) among the others."""
        while not (self._stopping or batch.halted) and (item := window.next()) is not None:
            not_before, env = item
            d = self._submit(sched, batch, env, channel, base=later(base, not_before), expect_rejected=expect_rejected,
                             window=(window, functools.partial(self._plan, sched, batch, window, channel, base,
                                                               expect_rejected, on_start)))
            if on_start is not None:
                on_start(d)

    async def _first_of_window(self, window: Window, plan: Callable[[], None], sched: Scheduler, job: _Job,
                               due: float) -> None:
        window.ahead -= 1
        plan()
        await self._attempt(sched, job, 1, due)

    def _first_attempts(self, sched: Scheduler, batch: Batch, items: Iterator[Timed], channel: DeliveryChannel,
                        base: float, expect_rejected: bool, on_start: AttemptHook | None) -> Feed:
        due = base
        for not_before, env in items:
            due = later(due, not_before)  # nondecreasing, as a feed must be
            index = self._submitted
            self._submitted += 1
            yield due, (index, 0, 1), functools.partial(self._first_attempt, sched, batch, env, channel, index, due,
                                                        expect_rejected, on_start)

    async def _first_attempt(self, sched: Scheduler, batch: Batch, envelope: dict[str, Any], channel: DeliveryChannel,
                             index: int, base: float, expect_rejected: bool, on_start: AttemptHook | None) -> None:
        d = self._new_delivery(envelope, batch, expect_rejected=expect_rejected)
        if on_start is not None:
            on_start(d)
        await self._attempt(sched, _Job(d, channel, key=f"e{index}", order=(index, 0), batch=batch), 1, base)

    def stop(self) -> None:
        """Stop delivering (Ctrl-C): no attempt starts any more -- first attempts, retries and duplicates not
        yet started are dropped -- and the attempts in flight finish. A delivery whose ladder was cut short
        stays pending (``open_deliveries``); ``push`` / ``stream`` return once nothing is in flight."""
        self._stopping = True
        if self._sched is not None:
            self._sched.drain()

    @property
    def stopped(self) -> bool:
        return self._stopping

    def open_deliveries(self) -> list[Delivery]:
        """Deliveries started and not ended (in flight, waiting for a retry, or cut short by ``stop``)."""
        return [d for d, _ in self._open.values()]

    def retire(self, flow: Flow) -> list[Delivery]:
        """After a push that ``flow.halt()`` or ``stop()`` cut short (call it once the push returned): its
        deliveries still open -- waiting for a retry or for a duplicate's turn -- end as they are, ``pending``:
        the transcript's delivery line, the running summary and the ``on_delivery`` hooks get them, and the
        engine holds them no more (a long-lived platform halts pushes whose reader went away). Returns them."""
        left = [d for d, batch in self._open.values() if batch is flow.batch]
        for d in left:
            self._close(d, cut_short=True)
        return left

    # -- results -----------------------------------------------------------------------------------
    def summary(self) -> Summary:
        """Every delivery of this engine, ended or not. With a bounded ``deliveries`` log it is the running
        count (exact, whatever the log let go)."""
        if self.deliveries.keep is None:
            return Summary.of(self.deliveries)
        s = copy.deepcopy(self._ended)
        for d, _ in self._open.values():
            s.add(d)
        return s

    def unexpected(self) -> list[Delivery]:
        """Deliveries that did not end as expected, judged on what the app did (``Delivery.as_expected``):
        not acked (unless a rejection was expected, or the ``drop`` fault lost every ack the app gave)."""
        return [d for d in self.deliveries if not d.as_expected]

    def assert_all_acked(self) -> None:
        bad = [d for d in self.deliveries if not d.acked]
        if bad:
            raise NotAcked(f"{len(bad)} of {len(self.deliveries)} deliveries not acked: " + bad[0].summary_line)

    def assert_acked(self, event_id: str) -> Delivery:
        for d in self.deliveries:
            if d.event_id == event_id:
                if not d.acked:
                    raise NotAcked(d.summary_line)
                return d
        raise NotAcked(f"no delivery with event_id {event_id}")

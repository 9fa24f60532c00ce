"""``/_sim/push`` with ``"stream": true``: NDJSON, one line per event's delivery as it ends, then a summary line.

Each delivery line is the delivery's JSON as in the one-document answer's ``deliveries`` (with ``api_calls`` when
the platform serves the mock OpenAPI); the last line is ``{"summary": ...}``, the running summary of the lines
before it, with ``"error"`` when the platform was stopped during the push (the deliveries that stop left waiting
for a retry have their ``pending`` lines before it). Nothing is kept per event: the lines not written yet wait in
a bounded queue, and a reader slower than the push holds the push (``PushRun.pause``) while ``MAX_QUEUED`` wait.
A reader that goes away halts the push: nothing new starts, what is in flight finishes.

The bot's calls (``api_calls``) are attributed as they are made, by ``openapi/related.py``'s rule, among the
deliveries of the push that are in flight or not yet written: a line waits for its delivery's answer. It is
written once the delivery has one and no further call came for it for ``SETTLE_S`` (calls made before its
verdict need no quiet period), or ``wait_replies`` seconds after its verdict at most -- at once when it awaits
none (``related.awaits_answer``), with ``wait_replies`` 0, or while ``MAX_HELD`` lines already wait. Lines are
written in the order the deliveries ended, so one that waits holds those after it for that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

from simulator.errors import SimulatorError
from simulator.platform.openapi.calls import ApiCall, CallLog
from simulator.platform.openapi.related import (
    SETTLE_S,
    Subject,
    answered_by,
    awaits_answer,
    call_keys,
    subject_keys,
    subject_of,
)
from simulator.platform.pushing import PushRun
from simulator.verdicts.model import Delivery
from simulator.wire.seal import canonical_json

log = logging.getLogger("simulator.platform")
MAX_QUEUED = 8192  # lines ended and not written: the push is held above this, resumed at half of it
MAX_HELD = 4096  # lines waiting for the bot's answer: beyond this the oldest is written without it
POLL_S = 0.02  # how often the call log is read while a line waits for an answer
CHUNK_LINES = 1024  # lines per write at most
NDJSON = "application/x-ndjson"
_background: set[asyncio.Task[None]] = set()  # pushes whose reader went away, finishing what is in flight


class _Line:
    """A delivery of the push, from its start until its line is written."""

    __slots__ = ("awaits", "calls", "deadline", "delivery", "end_seq", "last_at", "last_seq", "order", "subject")

    def __init__(self, delivery: Delivery, order: int, subject: Subject) -> None:
        self.delivery = delivery
        self.order = order
        self.subject = subject
        self.calls: list[ApiCall] = []
        self.last_seq = self.end_seq = 0
        self.last_at = self.deadline = 0.0
        self.awaits = False


class _Answers:
    """The bot's calls, each given when it is seen to the delivery of the window (started, line not written)
    that it answers best: a message match over a chat match, then the latest sent before the call."""

    def __init__(self, calls: CallLog, since: int) -> None:
        self.log = calls
        self.seen = since
        self._index: dict[tuple[str, str], dict[int, _Line]] = {}
        self._order = 0

    def watch(self, d: Delivery) -> _Line:
        self._order += 1
        line = _Line(d, self._order, subject_of(d.envelope))
        for key in subject_keys(line.subject):
            self._index.setdefault(key, {})[line.order] = line
        return line

    def unwatch(self, line: _Line) -> None:
        for key in subject_keys(line.subject):
            lines = self._index.get(key)
            if lines is not None:
                lines.pop(line.order, None)
                if not lines:
                    del self._index[key]

    def poll(self, now: float) -> None:
        for call in self.log.since(self.seen):
            self.seen = call.seq
            self._add(call, now)

    def _add(self, call: ApiCall, now: float) -> None:
        found = {line.order: line for key in call_keys(call) for line in self._index.get(key, {}).values()}
        lines = [found[order] for order in sorted(found)]
        pos = answered_by(call, [(line.subject, line.delivery) for line in lines])
        if pos is None:
            return
        line = lines[pos]
        line.calls.append(call)
        line.last_seq, line.last_at = call.seq, now


class PushStream:
    """The NDJSON body of one streamed push (``body``)."""

    def __init__(self, run: PushRun, calls: CallLog | None, wait_s: float) -> None:
        self.run = run
        self.answers = None if calls is None else _Answers(calls, calls.last_seq)
        self.wait_s = wait_s
        self.queue: deque[_Line] = deque()
        self.started: dict[int, _Line] = {}
        self.paused = False
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    # -- the push's hooks ------------------------------------------------------------------------------
    def _started(self, d: Delivery) -> None:
        if self.answers is not None:
            self.started[id(d)] = self.answers.watch(d)

    def _ended(self, d: Delivery) -> None:
        now = self.loop.time()
        line = self.started.pop(id(d), None) if self.answers is not None else None
        if line is None:
            line = _Line(d, 0, Subject())
        elif self.answers is not None:
            self.answers.poll(now)  # what the bot did before the verdict is its answer already
            line.end_seq = self.answers.seen
            line.awaits = self.wait_s > 0 and awaits_answer(d, line.subject)
        line.deadline = now + self.wait_s
        self.queue.append(line)
        if len(self.queue) >= MAX_QUEUED and not self.paused:
            self.paused = True
            self.run.pause()
        self.wake.set()

    # -- writing ---------------------------------------------------------------------------------------
    def _ready(self, line: _Line, now: float, flush: bool) -> bool:
        if flush or not line.awaits or len(self.queue) > MAX_HELD or now >= line.deadline:
            return True
        return bool(line.calls) and (line.last_seq <= line.end_seq or now - line.last_at >= min(SETTLE_S, self.wait_s))

    def _lines(self, flush: bool) -> bytes:
        now = self.loop.time()
        if self.answers is not None:
            self.answers.poll(now)
        out: list[bytes] = []
        while self.queue and len(out) < CHUNK_LINES and self._ready(self.queue[0], now, flush):
            line = self.queue.popleft()
            doc: dict[str, Any] = line.delivery.to_json()
            if self.answers is not None:
                self.answers.unwatch(line)
                doc["api_calls"] = [c.to_json() for c in line.calls]
            out.append(canonical_json(doc))
        if self.paused and len(self.queue) <= MAX_QUEUED // 2:
            self.paused = False
            self.run.resume()
        return b"\n".join(out) + b"\n" if out else b""

    async def body(self) -> AsyncIterator[bytes]:
        task = self.loop.create_task(self.run.run(on_start=self._started, on_end=self._ended))
        task.add_done_callback(lambda _: self.wake.set())
        try:
            while True:
                self.wake.clear()
                failed = task.done() and _error(task) is not None
                chunk = self._lines(flush=failed)
                if chunk:
                    yield chunk
                    continue
                if task.done() and not self.queue:
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), POLL_S if self.queue else None)
            yield self._summary(task)
        finally:
            if not task.done():  # the reader went away: start nothing more, let what is in flight finish
                self.run.halt()
                _background.add(task)
                task.add_done_callback(_forget)

    def _summary(self, task: asyncio.Task[None]) -> bytes:
        doc: dict[str, Any] = {"summary": self.run.summary.to_json()}
        exc = _error(task)
        if isinstance(exc, SimulatorError):
            doc["error"] = str(exc)
        elif exc is not None:
            raise exc
        return canonical_json(doc) + b"\n"


def _error(task: asyncio.Task[None]) -> BaseException | None:
    return asyncio.CancelledError() if task.cancelled() else task.exception()


def _forget(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    exc = _error(task)
    if exc is not None:
        log.info("a push whose reader went away ended with: %r", exc)


def stream_response(run: PushRun, calls: CallLog | None, wait_s: float) -> StreamingResponse:
    return StreamingResponse(PushStream(run, calls, wait_s).body(), media_type=NDJSON)

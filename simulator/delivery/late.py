"""In-process handlers past the budget finish their work, as they do behind a real server.

Behind a real server (uvicorn, gunicorn, a WSGI server's worker thread) a handler that takes longer than
the platform's 3 s budget is not stopped: the platform gives up, judges a timeout and retries later, while
the handler finishes and its side effects happen. In process, the budget used to cancel an async (ASGI)
handler mid-way, so its side effects never happened, unlike a WSGI app on its worker thread.

Here every in-process call of the app runs as a task of its own, awaited through ``asyncio.shield``: the
budget ends the *attempt* (judged ``timeout`` at the budget, as before) but not the app's task. Its
answer, when it comes, is noted on the attempt (``extra["late_answer"]``, e.g. ``HTTP 200 after 4012 ms``,
and in ``detail``). Before another attempt of the same event (a retry, a duplicate: minutes later on the
platform, at once on a virtual clock) and when the push ends, the channel waits for the app's running
calls, up to ``LATE_GRACE_S`` seconds; a call still running then is cancelled (an ASGI task) or left to
its thread (WSGI), and noted as such. So a test sees the side effects of a slow handler once ``push``
returns, and a retry never overtakes the handler of the attempt before it.

An ASGI handler that *blocks* the event loop (``time.sleep`` in ``async def``) answers while the budget's
timer cannot fire; its attempt is judged from the measured latency, with the answer it gave.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from simulator.verdicts.model import Attempt, Outcome

LATE_GRACE_S = 10.0  # how long a push waits, at most, for the app's calls that outlived their attempt

_calls: contextvars.ContextVar[list[AppCall] | None] = contextvars.ContextVar("feishu_sim_app_calls", default=None)


@dataclass(eq=False)
class AppCall:
    """One call of the app: its task and when it started and ended (``perf_counter``)."""

    task: asyncio.Future[httpx.Response]
    t0: float
    t1: float | None = None

    def finished(self, task: asyncio.Future[httpx.Response]) -> None:
        self.t1 = time.perf_counter()
        if not task.cancelled():
            task.exception()  # retrieved: no "Task exception was never retrieved" for an abandoned call

    def answer(self) -> str:
        """``HTTP 200 after 612 ms``, how the call ended otherwise, or ``still running``."""
        task = self.task
        if not task.done():
            return "still running"
        if task.cancelled():
            return "cancelled"
        exc = task.exception()
        if exc is not None:
            return f"{type(exc).__name__}: {exc}"
        ms = ((self.t1 or time.perf_counter()) - self.t0) * 1000
        return f"HTTP {task.result().status_code} after {ms:.0f} ms"


class DetachedTransport(httpx.AsyncBaseTransport):
    """Calls the app (through ``inner``) in a task of its own that the attempt's budget cannot cancel."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        call = AppCall(asyncio.ensure_future(self.inner.handle_async_request(request)), time.perf_counter())
        call.task.add_done_callback(call.finished)
        calls = _calls.get()
        if calls is not None:
            calls.append(call)
        return await asyncio.shield(call.task)

    async def aclose(self) -> None:
        await self.inner.aclose()


class LateCalls:
    """The app's calls that outlived their attempts, by event id (what ``InProcessChannel`` waits for)."""

    def __init__(self, grace_s: float = LATE_GRACE_S) -> None:
        self.grace_s = grace_s
        self._running: dict[str, set[AppCall]] = {}

    @contextlib.contextmanager
    def collecting(self) -> Iterator[list[AppCall]]:
        """The app calls made inside the block (by this task and the tasks it starts)."""
        calls: list[AppCall] = []
        token = _calls.set(calls)
        try:
            yield calls
        finally:
            _calls.reset(token)

    async def judge(self, att: Attempt, calls: list[AppCall], *, over_budget: str) -> None:
        """After the attempt was judged: a call that already answered although the attempt timed out (the
        app blocked the loop) gives the attempt its answer; a call still running is watched."""
        for call in calls:
            if call.task.done():
                if att.outcome is Outcome.TIMEOUT and att.status is None and not call.task.cancelled() \
                        and call.task.exception() is None:
                    resp = call.task.result()
                    await resp.aread()
                    att.status = resp.status_code
                    att.response_headers = dict(resp.headers)
                    att.response_body = resp.content.decode("utf-8", "replace")[:2000]
                    att.detail = f"answered {call.answer()}, {over_budget}"
                continue
            self._running.setdefault(att.event_id, set()).add(call)
            call.task.add_done_callback(functools.partial(self._answered, att, call))

    def _answered(self, att: Attempt, call: AppCall, _task: object = None) -> None:
        running = self._running.get(att.event_id)
        if running is not None:
            running.discard(call)
            if not running:
                del self._running[att.event_id]
        late = call.answer()
        if late == "cancelled":
            late = f"still running after the {self.grace_s:g} s grace: cancelled"
        att.extra["late_answer"] = late
        att.detail = f"{att.detail}; the app answered {late}, too late" if att.detail else f"the app answered {late}"

    async def settle(self, event_id: str | None = None) -> None:
        """Wait (up to the grace) for the running calls of ``event_id`` (all of them: None); cancel what is
        still running after that (a WSGI call's thread cannot be stopped: it is left to finish)."""
        calls = [c for key, group in self._running.items() if event_id is None or key == event_id for c in group]
        if not calls:
            return
        tasks = [c.task for c in calls]
        _done, pending = await asyncio.wait(tasks, timeout=self.grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)


__all__ = ["LATE_GRACE_S", "AppCall", "DetachedTransport", "LateCalls"]

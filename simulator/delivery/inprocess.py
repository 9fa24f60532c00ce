"""Webhook delivery straight into an app in this process: no port, no server, the same sealed bytes.

* ASGI apps (Starlette, FastAPI, Django's ``ASGIHandler``, Quart) are called through
  ``httpx.ASGITransport`` in the caller's event loop.
* WSGI apps (Flask, Django's ``WSGIHandler``) are called through ``httpx.WSGITransport`` on a worker
  thread. ``WSGITransport`` is synchronous; running it on a thread (rather than converting the app to
  ASGI with an adapter such as ``a2wsgi``) keeps httpx's own WSGI environ, needs no extra dependency, and
  behaves like a threaded WSGI server: the event loop -- and with it the 3 s budget -- keeps running while
  the app works, so a slow WSGI handler is judged ``timeout`` just as it would be on the wire.

An ASGI app runs on the caller's event loop: one that blocks the loop (``time.sleep`` in a handler) is
still judged against the budget, from the measured latency. An exception raised by the app is answered
``500`` (what a server in front of it would send) and its text is added to the attempt's ``detail``, so a
failing test names the app's error, not just the status. The requests go to ``http://testserver`` +
path (the host Django's test settings allow).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable
from typing import Any, Literal

import httpx

from simulator.config import Budget
from simulator.delivery.late import DetachedTransport, LateCalls
from simulator.delivery.live import LiveWebhookChannel
from simulator.delivery.webhook import WebhookChannel, check_url
from simulator.errors import ConfigError
from simulator.verdicts.answers import AnswerKind
from simulator.verdicts.model import Attempt
from simulator.wire.seal import Sealer

AppKind = Literal["asgi", "wsgi"]
BASE_URL = "http://testserver"

# Exceptions raised by the app during the current attempt. A context variable, because concurrent
# attempts run in separate tasks (ASGI) or copy the context into their worker thread (WSGI).
_app_errors: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar(
    "feishu_sim_app_errors", default=None)


def _record(exc: BaseException) -> None:
    errors = _app_errors.get()
    if errors is not None:
        errors.append(exc)


def app_kind(obj: object) -> AppKind | None:
    """``asgi``, ``wsgi`` or ``None``: an ASGI app is an async callable ``(scope, receive, send)``,
    a WSGI app a callable ``(environ, start_response)``."""
    if obj is None or isinstance(obj, (str, bytes, int, float, dict, list, tuple)) or not callable(obj):
        return None
    call = obj if inspect.isfunction(obj) or inspect.ismethod(obj) else type(obj).__call__
    if inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        params = [p for p in inspect.signature(obj).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        return None
    if len(params) == 3:  # a sync callable returning an awaitable (some ASGI wrappers)
        return "asgi"
    if len(params) == 2:
        return "wsgi"
    return None


def describe(obj: object) -> str:
    text = repr(obj)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(obj).__module__}.{type(obj).__qualname__})"


class _CapturingASGI:
    """Records the app's exception for the attempt, then lets the transport answer 500."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            _record(exc)
            raise


class ThreadedWSGITransport(httpx.AsyncBaseTransport):
    """``httpx.WSGITransport`` run on a worker thread, so async code can deliver into a WSGI app."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._wsgi = httpx.WSGITransport(app=app, raise_app_exceptions=True)

    def _call(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            response = self._wsgi.handle_request(request)
            body = response.read()
        except Exception as exc:
            _record(exc)
            return 500, [(b"content-type", b"text/plain")], b"Internal Server Error"
        return response.status_code, response.headers.raw, body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sync_request = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        status, headers, content = await asyncio.to_thread(self._call, sync_request)
        return httpx.Response(status, headers=headers, content=content, request=request)


def app_transport(app: object, kind: AppKind) -> httpx.AsyncBaseTransport:
    if kind == "asgi":
        return httpx.ASGITransport(app=_CapturingASGI(app), raise_app_exceptions=False)  # type: ignore[arg-type]
    return ThreadedWSGITransport(app)  # type: ignore[arg-type]


def detached_transport(app: object, kind: AppKind) -> DetachedTransport:
    """``app_transport`` whose calls outlive the attempt's budget (``simulator.delivery.late``)."""
    return DetachedTransport(app_transport(app, kind))


class InProcessChannel(WebhookChannel):
    """A ``WebhookChannel`` whose transport is an app in this process.

    An ASGI app shares the caller's event loop: if it blocks the loop, the budget's timer cannot fire
    before the answer is in; the late answer is judged a timeout, as the platform would. A handler past
    the budget is not cancelled: it finishes, as behind a real server (``simulator.delivery.late``); the
    channel waits for it before the next attempt of the same event and in ``aclose()``.
    """

    late_answer_hint = " (does the app block the event loop?)"

    def __init__(self, app: object, kind: AppKind, path: str, sealer: Sealer, *, budget: Budget | None = None,
                 accept_2xx: bool = False) -> None:
        super().__init__(BASE_URL + check_path(path), sealer, budget=budget, accept_2xx=accept_2xx,
                         transport=detached_transport(app, kind))
        self.kind = kind
        self.app = app
        self.late = LateCalls()

    async def send(self, body: bytes, headers: dict[str, str], att: Attempt, *,
                   answer: AnswerKind | None = None) -> Attempt:
        await self.late.settle(att.event_id)  # the app is still handling an earlier attempt of this event
        errors: list[BaseException] = []
        token = _app_errors.set(errors)
        try:
            with self.late.collecting() as calls:
                att = await super().send(body, headers, att, answer=answer)
        finally:
            _app_errors.reset(token)
        await self.late.judge(att, calls, over_budget=f"over the {self.budget.total_s:g} s budget"
                                                      f"{self.late_answer_hint}")
        if errors:
            exc = errors[0]
            att.detail = f"{att.detail}; app raised {type(exc).__name__}: {exc}".lstrip("; ")
            att.extra["app_exception"] = f"{type(exc).__name__}: {exc}"
        return att

    async def aclose(self) -> None:
        """Wait for the app's calls that outlived their attempts (up to ``LATE_GRACE_S``), then close."""
        try:
            await self.late.settle()
        finally:
            await super().aclose()


def check_path(path: str) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError(f"invalid path {path!r}: must start with '/'")
    return path


def resolve(target: object) -> tuple[str, object]:
    """``("url", url)``, ``("asgi", app)`` or ``("wsgi", app)``; ``ConfigError`` for anything else."""
    if isinstance(target, str):
        if "://" not in target:
            raise ConfigError(f"target {target!r} is not an http(s) URL (expected http(s)://host[:port]/path)")
        return "url", check_url(target)
    kind = app_kind(target)
    if kind is None:
        raise ConfigError(f"target {describe(target)} is neither an http(s) URL, an ASGI app (async callable "
                          f"(scope, receive, send)) nor a WSGI app (callable (environ, start_response))")
    return kind, target


def channel_for(target: object, *, sealer: Sealer, path: str, budget: Budget | None = None,
                accept_2xx: bool = False) -> WebhookChannel:
    """A channel to ``target``: an ``http(s)://`` URL (live server), an ASGI app or a WSGI app."""
    kind, obj = resolve(target)
    if kind == "url":
        return LiveWebhookChannel(str(obj), sealer, budget=budget, accept_2xx=accept_2xx)
    return InProcessChannel(obj, "asgi" if kind == "asgi" else "wsgi", path, sealer, budget=budget,
                            accept_2xx=accept_2xx)

"""``BotApi``: what a test asks about the OpenAPI calls its bot made (``server.api`` on a ``PlatformServer``),
in the style of respx: ``calls``, ``last``, ``sent_messages(chat_id=...)``, ``assert_replied(...)``,
``wait_for_reply(...)``, ``answers_to(delivery)``; plus the switches a test flips (``fail``,
``set_availability``, ``card_token``). Where a message id is asked for, a ``Delivery`` of an event about a
message (``im.message.receive_v1``, a reaction, a card click) does too: its message is meant.

Reads go through the thread-safe call log; anything that touches the state runs on the platform's loop
(``run``), so the helpers are safe from the test's thread while the bot calls in.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from simulator.errors import BotCallMissing, UsageError
from simulator.generation.families.im.world import ImWorld
from simulator.platform.openapi.calls import ApiCall
from simulator.platform.openapi.content import Content
from simulator.platform.openapi.faults import FaultRule
from simulator.platform.openapi.messages import message_json
from simulator.platform.openapi.related import answers, subject_of
from simulator.platform.openapi.state import OpenApiState
from simulator.verdicts.model import Delivery

T = TypeVar("T")
Runner = Callable[[Callable[[], Any]], Any]
TextMatch = str | re.Pattern[str] | None
Target = str | Delivery  # a message id, or the delivery of an event about a message

_SEND = "POST /open-apis/im/v1/messages"
_REPLY = "POST /open-apis/im/v1/messages/:message_id/reply"


def message_text(message: dict[str, Any]) -> str:
    """The text of a message object: a text message's text, a post's text runs, else the raw content."""
    raw = str(message.get("body", {}).get("content", ""))
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw
    kind = str(message.get("msg_type", ""))
    if isinstance(doc, dict) and kind in ("text", "post"):
        return Content(kind, raw, doc).text
    return raw


def _text_matches(message: dict[str, Any], text: TextMatch) -> bool:
    if text is None:
        return True
    got = message_text(message)
    return bool(text.search(got)) if isinstance(text, re.Pattern) else got == text


class BotApi:
    def __init__(self, state: OpenApiState, run: Runner | None = None) -> None:
        self.state = state
        self._run: Runner = run or (lambda fn: fn())

    # -- the record --------------------------------------------------------------------------------------------
    @property
    def calls(self) -> list[ApiCall]:
        """Every retained call, oldest first."""
        return self.state.calls.calls()

    @property
    def last(self) -> ApiCall | None:
        calls = self.calls
        return calls[-1] if calls else None

    def counts(self) -> dict[str, Any]:
        """Exact counts of every call since the last ``clear()``: total, per API, per answer code."""
        return self.state.calls.counts()

    def find(self, method: str | None = None, path: str | None = None, *, ok: bool | None = None) -> list[ApiCall]:
        """Calls by HTTP method and path glob (``/open-apis/im/v1/messages/*/reply``); ``ok``: succeeded or not."""
        return [c for c in self.calls if (method is None or c.method == method.upper())
                and (path is None or fnmatch.fnmatchcase(c.path, path)) and (ok is None or c.ok == ok)]

    def sent_messages(self, chat_id: str | None = None) -> list[dict[str, Any]]:
        """The message objects the bot sent (send and reply answers), oldest first, optionally in one chat."""
        return [c.data for c in self.calls if c.ok and c.api in (_SEND, _REPLY)
                and (chat_id is None or c.data.get("chat_id") == chat_id)]

    def replies_to(self, message: Target) -> list[dict[str, Any]]:
        """The message objects of the bot's successful replies to ``message`` (an id, or an event's delivery)."""
        message_id = message_id_of(message)
        return [c.data for c in self.calls if _is_reply_to(c, message_id)]

    def answers_to(self, delivery: Delivery) -> list[ApiCall]:
        """Every retained call that answers the delivered event (docs/bots.md#what-answers-an-event): replies to
        its message, updates of it, reactions on it, a card update with its token, sends into its chat or to
        its user; refused calls included."""
        return answers(subject_of(delivery.envelope), self.calls)

    def wait_for_answer(self, delivery: Delivery, timeout: float = 5.0) -> ApiCall:
        """Block until a call answers the delivered event (as ``answers_to``), at most ``timeout`` seconds."""
        __tracebackhide__ = True
        subject = subject_of(delivery.envelope)
        if not subject:
            raise UsageError(f"a {delivery.event_type} event names no message, chat or user to answer")
        call = self.state.calls.wait(lambda c: bool(answers(subject, [c])), timeout)
        if call is None:
            raise BotCallMissing(f"no call answering {delivery.event_type} {delivery.event_id} within {timeout:g} s; "
                                 f"calls: {self._listing()}")
        return call

    def assert_replied(self, message: Target, *, text: TextMatch = None, in_thread: bool | None = None,
                       msg_type: str | None = None) -> dict[str, Any]:
        """The bot's reply to ``message`` (an id, or an event's delivery) matching ``text`` (a string: equal; a
        compiled pattern: found in it), ``in_thread`` and ``msg_type``; ``BotCallMissing`` listing what the bot
        did send otherwise."""
        __tracebackhide__ = True
        message_id = message_id_of(message)
        for reply in self.replies_to(message_id):
            if _reply_matches(reply, text, in_thread, msg_type):
                return reply
        raise BotCallMissing(self._missing(message_id, text, in_thread, msg_type))

    def wait_for_reply(self, message: Target, timeout: float = 5.0, *, text: TextMatch = None,
                       in_thread: bool | None = None, msg_type: str | None = None) -> dict[str, Any]:
        """Block until the bot replies to ``message`` (as ``assert_replied`` matches), at most ``timeout``
        seconds; ``BotCallMissing`` listing what the bot did send when it does not."""
        __tracebackhide__ = True
        message_id = message_id_of(message)
        call = self.state.calls.wait(lambda c: _is_reply_to(c, message_id)
                                     and _reply_matches(c.data, text, in_thread, msg_type), timeout)
        if call is None:
            raise BotCallMissing(f"after {timeout:g} s: " + self._missing(message_id, text, in_thread, msg_type))
        return call.data

    async def await_reply(self, message: Target, timeout: float = 5.0, *, text: TextMatch = None,
                          in_thread: bool | None = None, msg_type: str | None = None) -> dict[str, Any]:
        """``wait_for_reply`` for async tests: waits in a worker thread, so a bot on the caller's loop runs on."""
        return await asyncio.to_thread(self.wait_for_reply, message, timeout, text=text, in_thread=in_thread,
                                       msg_type=msg_type)

    def wait_for_call(self, method: str, path: str, timeout: float = 5.0) -> ApiCall:
        """Block until a call with this method and path glob arrives (counting retained ones)."""
        call = self.state.calls.wait(lambda c: c.method == method.upper() and fnmatch.fnmatchcase(c.path, path),
                                     timeout)
        if call is None:
            raise BotCallMissing(f"no {method.upper()} {path} within {timeout:g} s; calls: {self._listing()}")
        return call

    def _missing(self, message_id: str, text: TextMatch, in_thread: bool | None, msg_type: str | None) -> str:
        want = [f"text {text.pattern!r} (pattern)" if isinstance(text, re.Pattern) else f"text {text!r}"] \
            if text is not None else []
        if in_thread is not None:
            want.append("in thread" if in_thread else "not in thread")
        if msg_type is not None:
            want.append(f"msg_type {msg_type}")
        head = f"no reply to {message_id}" + (f" with {', '.join(want)}" if want else "")
        return f"{head}; the bot sent: {self._listing()}"

    def _listing(self) -> str:
        sent = self.sent_messages()
        failed = [c for c in self.calls if not c.ok]
        lines = [_describe(m) for m in sent[-10:]] or ["nothing"]
        if len(sent) > 10:
            lines.insert(0, f"({len(sent) - 10} earlier messages not shown)")
        if failed:
            last = failed[-1]
            msg = last.answer.get("msg") if isinstance(last.answer, dict) else ""
            lines.append(f"{len(failed)} refused call(s), the last: {last.line()} {msg!r}")
        return "\n  " + "\n  ".join(lines)

    # -- switches ----------------------------------------------------------------------------------------------
    def fail(self, path: str = "*", *, method: str = "*", count: int = 1, code: int | None = None,
             status: int | None = None, msg: str = "", latency_ms: float = 0.0) -> FaultRule:
        """Fail (``code``, HTTP ``status``: 400, or 429 for 99991400) and/or delay (``latency_ms``) the next
        ``count`` calls of ``method`` ``path`` (a glob); ``count=0``: until ``clear()``."""
        doc: dict[str, Any] = {"path": path, "method": method, "count": count, "code": code, "msg": msg,
                               "latency_ms": latency_ms}
        if status is not None:
            doc["status"] = status
        rule = FaultRule.from_json(doc)
        return self._call(lambda: self.state.faults.add(rule))

    def set_availability(self, open_ids: Iterable[str] | None, app_id: str | None = None) -> None:
        """Restrict who the bot may message (None: everyone, the default)."""
        ids = None if open_ids is None else list(open_ids)
        self._call(lambda: self.state.set_availability(ids, app_id))

    def card_token(self, message_id: str, *, app_id: str | None = None, open_id: str = "") -> str:
        """A ``c-`` token for the delayed card update of ``message_id`` (30 minutes, 2 uses)."""
        return self._call(lambda: self.state.card_token(message_id, app_id=app_id, open_id=open_id))

    def token(self, app_id: str | None = None) -> str:
        """A valid tenant access token for ``app_id`` (for raw HTTP calls in tests)."""
        app = app_id or self.state.default_app
        return self._call(lambda: self.state.tokens.issue(app, self.state.apps[app], self.state.clock.now())[0])

    def message(self, message: Target, app_id: str | None = None) -> dict[str, Any] | None:
        """A message as it is now (a card after its updates), shaped as ``GET /open-apis/im/v1/messages/:id``
        answers it; None when the world does not know it."""
        message_id = message_id_of(message)
        app = app_id or self.state.default_app

        def read() -> dict[str, Any] | None:
            found = self.state.world(app).message(message_id)
            return None if found is None else message_json(self.state, app, found)
        return self._call(read)

    def world(self, app_id: str | None = None) -> ImWorld:
        """The app's ``ImWorld`` (chats, people, messages). Change it through ``call`` while the server runs."""
        return self._call(lambda: self.state.world(app_id))

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the platform's loop (where the OpenAPI runs) and return its result."""
        return self._call(fn)

    def clear(self) -> None:
        self._call(self.state.clear)

    def _call(self, fn: Callable[[], T]) -> T:
        result: T = self._run(fn)
        return result


def message_id_of(message: Target) -> str:
    """``message`` itself, or the message a delivered event is about (``UsageError`` when it names none)."""
    if isinstance(message, str):
        return message
    if isinstance(message, Delivery):
        found = subject_of(message.envelope).message_id
        if not found:
            raise UsageError(f"a {message.event_type} event names no message: ask answers_to(delivery) instead")
        return found
    raise UsageError(f"expected a message id or a Delivery, got {type(message).__name__}")


def _is_reply_to(call: ApiCall, message_id: str) -> bool:
    return call.ok and call.api == _REPLY and call.path.rstrip("/").split("/")[-2] == message_id


def _reply_matches(reply: dict[str, Any], text: TextMatch, in_thread: bool | None, msg_type: str | None) -> bool:
    return (_text_matches(reply, text) and (in_thread is None or bool(reply.get("thread_id")) == in_thread)
            and (msg_type is None or reply.get("msg_type") == msg_type))


def _describe(message: dict[str, Any]) -> str:
    text = message_text(message)
    where = f"in {message.get('chat_id')}"
    if message.get("parent_id"):
        where = f"reply to {message['parent_id']}" + (" in thread" if message.get("thread_id") else "")
    return f"{message.get('msg_type')} {text[:120]!r} ({where})"

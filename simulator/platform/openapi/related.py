"""Which OpenAPI calls answer which event, sans-IO: the bot's replies printed under each event's verdict
(``feishu-sim push --platform``, ``/_sim/push`` with ``wait_replies``) and ``BotApi.answers_to(delivery)``.

An event names its *subject*: the message it is about (``event.message.message_id``, ``event.message_id``, a
card click's ``context.open_message_id``), the chat (``event.message.chat_id``, ``event.chat_id``,
``context.open_chat_id``), the user who caused it (the sender, operator or reacting user's ``open_id``) and a
card click's ``c-`` token. A call answers the event when

* its path names the subject message (a reply, a card update, a reaction, a read of the message or of its
  resources): a *message* match;
* it is a ``card/update`` with the click's token: a *message* match too;
* it is a send into the subject chat, or to the user by ``open_id``: a *chat* match.

A call made before the event was created (``header.create_time``, on the platform's clock like the calls) answers
none of it: the bot's earlier card in the chat does not answer a later click on it. Token, bot-info and upload
calls answer no event. When one call matches several events of a push, it goes to
the events of its best match kind, fault-injected copies last, and among those to the latest one sent
before the call (platform time): a "thanks" sent into a group after three messages there answers the third.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from simulator.platform.openapi.calls import ApiCall, CallLog
from simulator.verdicts.model import Delivery, Outcome

SEND = "POST /open-apis/im/v1/messages"
CARD_UPDATE = "POST /open-apis/interactive/v1/card/update"
MESSAGE = 2  # match strengths
CHAT = 1
SETTLE_S = 0.25  # how long the bot must stay quiet once every event has an answer
POLL_S = 0.02
# Outcomes of attempts that reached the bot (its replies are worth waiting for).
_REACHED = {Outcome.ACKED, Outcome.REJECTED, Outcome.TIMEOUT, Outcome.DROPPED}


@dataclass(frozen=True)
class Subject:
    """What an event is about: ``message_id``, ``chat_id``, the ``open_id`` of the user behind it, a click's
    callback ``token`` (each "" when the event has none); ``since_ms``: when it was created (0: unknown)."""

    message_id: str = ""
    chat_id: str = ""
    open_id: str = ""
    token: str = ""
    since_ms: int = 0

    def __bool__(self) -> bool:
        return bool(self.message_id or self.chat_id or self.open_id or self.token)


def _get(doc: Any, *path: str) -> str:
    for key in path:
        if not isinstance(doc, dict):
            return ""
        doc = doc.get(key)
    return doc if isinstance(doc, str) else ""


def _first(event: Any, *paths: tuple[str, ...]) -> str:
    return next((v for v in (_get(event, *p) for p in paths) if v), "")


# The event fields a subject is read from: an event with none of them (a meeting's) has an empty subject.
_SUBJECT_FIELDS = frozenset({"message", "message_id", "context", "chat_id", "sender", "operator_id", "operator",
                             "user_id", "token"})


def subject_of(envelope: dict[str, Any]) -> Subject:
    """The subject of a v2 envelope (empty for events about no message, chat or user, e.g. meetings)."""
    event = envelope.get("event")
    created = _get(envelope, "header", "create_time")
    if not isinstance(event, dict) or _SUBJECT_FIELDS.isdisjoint(event):
        return Subject(since_ms=int(created) if created.isdigit() else 0)
    token = _get(event, "token")
    return Subject(
        message_id=_first(event, ("message", "message_id"), ("message_id",), ("context", "open_message_id")),
        chat_id=_first(event, ("message", "chat_id"), ("chat_id",), ("context", "open_chat_id")),
        open_id=_first(event, ("sender", "sender_id", "open_id"), ("operator_id", "open_id"), ("operator", "open_id"),
                       ("operator", "operator_id", "open_id"), ("user_id", "open_id")),
        token=token if token.startswith("c-") else "", since_ms=int(created) if created.isdigit() else 0)


def _path_message(call: ApiCall) -> str:
    """The message id a ``.../messages/:message_id...`` call names ("" for other calls)."""
    if ":message_id" not in call.api:
        return ""
    parts = call.path.rstrip("/").split("/")
    return parts[parts.index("messages") + 1] if "messages" in parts[:-1] else ""


def _send_target(call: ApiCall) -> tuple[str, str]:
    """``(chat_id, open_id)`` a send went to, as far as the call tells."""
    receive_id = _get(call.body, "receive_id")
    id_type = call.query.get("receive_id_type", "")
    chat = str(call.data.get("chat_id") or "") or (receive_id if id_type == "chat_id" else "")
    return chat, receive_id if id_type == "open_id" else ""


def match(subject: Subject, call: ApiCall) -> int:
    """How the call answers an event about ``subject``: ``MESSAGE``, ``CHAT`` or 0 (it does not)."""
    if not subject or call.time * 1000 < subject.since_ms:
        return 0
    if subject.message_id and _path_message(call) == subject.message_id:
        return MESSAGE
    if call.api == CARD_UPDATE:
        token = call.body.get("token") if isinstance(call.body, dict) else None
        return MESSAGE if subject.token and token == subject.token else 0
    if call.api == SEND:
        chat, open_id = _send_target(call)
        if (subject.chat_id and chat == subject.chat_id) or (subject.open_id and open_id == subject.open_id):
            return CHAT
    return 0


def answers(subject: Subject, calls: Iterable[ApiCall]) -> list[ApiCall]:
    """The calls that answer an event about ``subject``, in call order."""
    return [c for c in calls if match(subject, c)]


def _sent_at(d: Delivery) -> float:
    return d.attempts[0].sent_at if d.attempts else float("inf")


def subject_keys(subject: Subject) -> list[tuple[str, str]]:
    """The keys a call is looked up by to find the deliveries it may answer (``call_keys`` gives the call's)."""
    return [(kind, value) for kind, value in (("message", subject.message_id), ("chat", subject.chat_id),
                                              ("user", subject.open_id), ("token", subject.token)) if value]


def call_keys(call: ApiCall) -> list[tuple[str, str]]:
    """The subject keys a call could answer (``match`` decides)."""
    keys = [("message", _path_message(call))]
    if call.api == CARD_UPDATE:
        keys.append(("token", _get(call.body, "token")))
    elif call.api == SEND:
        chat, open_id = _send_target(call)
        keys += [("chat", chat), ("user", open_id)]
    return [k for k in keys if k[1]]


class Attribution:
    """For each delivery of a push (same order), the calls that answer it; each call goes to one delivery at
    most. Calls are added as they come (``add``), each looked up by the message, chat, user or token it names,
    so a push of many events and a chatty bot cost one lookup per call, not one per pair."""

    def __init__(self, deliveries: Sequence[Delivery]) -> None:
        self.deliveries = deliveries
        self.subjects = [subject_of(d.envelope) for d in deliveries]
        self.found: list[list[ApiCall]] = [[] for _ in deliveries]
        self._index: dict[tuple[str, str], list[int]] = {}
        for i, subject in enumerate(self.subjects):
            for key in subject_keys(subject):
                self._index.setdefault(key, []).append(i)

    def add(self, calls: Iterable[ApiCall]) -> None:
        for call in calls:
            candidates = sorted({i for key in call_keys(call) for i in self._index.get(key, ())})
            pos = answered_by(call, [(self.subjects[i], self.deliveries[i]) for i in candidates])
            if pos is not None:
                self.found[candidates[pos]].append(call)


def answered_by(call: ApiCall, candidates: Sequence[tuple[Subject, Delivery]]) -> int | None:
    """Of ``candidates`` (subject and delivery, in send order), the position of the one ``call`` answers: the
    best ``match``, originals before fault-injected copies, then the latest sent before the call; None when
    none matches."""
    scored = [(match(subject, call), pos) for pos, (subject, _) in enumerate(candidates)]
    best = max((score for score, _ in scored), default=0)
    if not best:
        return None
    top = [pos for score, pos in scored if score == best]
    originals = [pos for pos in top if candidates[pos][1].origin == "event"] or top
    before = [pos for pos in originals if _sent_at(candidates[pos][1]) <= call.time] or originals[:1]
    return before[-1]


def attribute(deliveries: Sequence[Delivery], calls: Iterable[ApiCall]) -> list[list[ApiCall]]:
    """For each delivery (same order), the calls that answer it; each call goes to one delivery at most."""
    attribution = Attribution(deliveries)
    attribution.add(calls)
    return attribution.found


def awaits_answer(d: Delivery, subject: Subject | None = None) -> bool:
    """Worth waiting for: the event has a subject (``subject``: already known), and some attempt reached the
    bot."""
    subject = subject_of(d.envelope) if subject is None else subject
    return bool(subject) and d.origin == "event" and any(a.outcome in _REACHED for a in d.attempts)


async def await_answers(log: CallLog, deliveries: Sequence[Delivery], *, since: int, wait_s: float,
                        settle_s: float = SETTLE_S) -> list[list[ApiCall]]:
    """The calls after sequence number ``since`` that answer each delivery, once every delivery that
    ``awaits_answer`` has one and no call came for ``settle_s`` seconds, or after ``wait_s`` seconds at most
    (real time: the bot is a real program). Awaited on the loop the OpenAPI runs on; each call is looked at
    once."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + max(wait_s, 0.0)
    attribution = Attribution(deliveries)
    waiting = {i for i, d in enumerate(deliveries) if awaits_answer(d, attribution.subjects[i])}
    # Calls made while the events were delivered (a webhook bot answers before it acks) need no quiet period.
    seen, quiet_since = since, start - settle_s
    before = log.last_seq
    while True:
        new = log.since(seen)
        now = loop.time()
        if new:
            attribution.add(new)
            seen = new[-1].seq
            quiet_since = now if seen > before else quiet_since
            waiting = {i for i in waiting if not attribution.found[i]}
        if now >= deadline or (not waiting and now - quiet_since >= min(settle_s, wait_s)):
            return attribution.found
        await asyncio.sleep(min(POLL_S, deadline - now))


# -- for people ---------------------------------------------------------------------------------------------
def _content(msg_type: Any, content: Any) -> str:
    """A short rendering of message content: a text's text, else the message type."""
    if msg_type == "text" and isinstance(content, str):
        try:
            doc = json.loads(content)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("text"), str):
            text = doc["text"]
            return f"text {text[:100] + '...' if len(text) > 100 else text!r}"
    return str(msg_type or "content")


def describe(call: dict[str, Any]) -> str:
    """One line for a call as ``ApiCall.to_json`` gives it: what the bot did and how the platform answered,
    e.g. ``reply to om_... in thread: text 'hi' -> ok om_...`` or ``send to chat oc_...: text 'x' -> 230002 ...``."""
    api, body, path = str(call.get("api", "")), call.get("body"), str(call.get("path", ""))
    b = body if isinstance(body, dict) else {}
    parts = path.rstrip("/").split("/")
    target = parts[parts.index("messages") + 1] if "messages" in parts[:-1] else ""
    what = {
        SEND: f"send to {call.get('query', {}).get('receive_id_type', '?')} {b.get('receive_id', '?')}",
        "POST /open-apis/im/v1/messages/:message_id/reply":
            f"reply to {target}" + (" in thread" if b.get("reply_in_thread") else ""),
        "PATCH /open-apis/im/v1/messages/:message_id": f"update card {target}",
        "POST /open-apis/im/v1/messages/:message_id/reactions":
            f"reaction {_get(b, 'reaction_type', 'emoji_type')} on {target}",
        "DELETE /open-apis/im/v1/messages/:message_id/reactions/:reaction_id": f"remove reaction on {target}",
        CARD_UPDATE: "card update with the callback token",
    }.get(api, f"{call.get('method', '')} {path}")
    if "msg_type" in b or "content" in b:
        what += ": " + _content(b.get("msg_type", "interactive"), b.get("content"))
    answer = call.get("answer")
    code = call.get("code", 0)
    if call.get("status") == 200 and code == 0:
        data = answer.get("data") if isinstance(answer, dict) else None
        made = data.get("message_id") if isinstance(data, dict) else None
        return f"{what} -> ok" + (f" {made}" if made else "")
    msg = answer.get("msg", "") if isinstance(answer, dict) else ""
    return f"{what} -> HTTP {call.get('status')} code {code} {msg!r}"

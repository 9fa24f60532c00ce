"""Callbacks in tests: click a card or ask for a link preview, get the judged answer, assert on it.

The methods of ``FeishuSim`` (``simulator.testing``) that deal with callbacks::

    answer = feishu_sim.click(app, value={"approve": True})   # card.action.trigger, judged
    assert answer.toast_type == "success"
    feishu_sim.assert_toast(type="success", content="Approved")  # the last answer, or pass one
    feishu_sim.assert_card(type="raw")
    preview = feishu_sim.preview(app, url="https://wiki.example.com/p/1")  # url.preview.get

A click is delivered like any push (the same channels, budget and records; never retried), so the
after-test check covers it: an invalid answer fails the test unless the click says ``expect_rejected=True``.
The returned ``Answer`` is the judged body; when the app gave no 200 answer at all, it has no body and one
problem saying what happened instead (``no answer: timeout: no complete response within 3 s``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from simulator.errors import BadAnswer, UsageError
from simulator.generation.families.callbacks.legacy import CLICK
from simulator.generation.overrides import Overrides
from simulator.testing_world import WorldSource, shared_events
from simulator.verdicts.answers import Answer, AnswerKind
from simulator.verdicts.model import Delivery

if TYPE_CHECKING:
    from simulator.engine.core import Simulator

PREVIEW: Final = "url.preview.get"


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

# What an answer may show, read off the judged answer: the part (toast, or card JSON / template reference), its type.
_SHOWN: Final[dict[str, tuple[Callable[[Answer], dict[str, Any] | None], Callable[[Answer], str | None]]]] = {
    "toast": (lambda a: a.toast, lambda a: a.toast_type),
    "card": (lambda a: a.card_data, lambda a: a.card_type),
}


class CallbackHelpers:
    """Mixed into ``FeishuSim``: what it needs from it is declared here."""

    if TYPE_CHECKING:
        sim: Simulator

        def _resolve(self, target: object, path: str | None) -> None: ...
        def _not_in_loop(self, sync: str, async_: str) -> None: ...
        def _run_blocking(self, target: object, envelopes: list[dict[str, Any]], path: str | None,
                          encrypt_key: str | None, expect_rejected: bool, legacy: bool) -> list[Delivery]: ...
        def _longconn(self, target: object) -> bool: ...
        def _shared(self) -> WorldSource | None: ...
        async def _deliver(self, target: object, envelopes: list[dict[str, Any]], path: str | None,
                           encrypt_key: str | None, concurrency: int, expect_rejected: bool, *,
                           legacy: bool = False) -> list[Delivery]: ...

    _last_answer: Answer | None = None

    # -- clicking -----------------------------------------------------------------------------------
    async def aclick(self, target: object, *, value: Any = UNSET, tag: str | None = None,
                     overrides: Overrides | None = None, path: str | None = None, legacy: bool = False,
                     expect_rejected: bool = False, encrypt_key: str | None = UNSET,
                     message: str | dict[str, Any] | None = None) -> Answer:
        """Click a card the bot sent (``card.action.trigger``) and return the app's judged answer.

        ``value``: the clicked component's value (an object; the doc also allows a string, which the official
        SDKs cannot parse); ``tag``: the kind of component clicked (``button``, ``select_static``,
        ``date_picker``... or ``form`` for a form submit); ``overrides``: fields by dotted path; ``legacy``: send
        the click as a legacy card request (flat body, SHA-1 signature, the answer is the replacement card);
        ``message``: the card clicked (its message id, or the message object the bot's send answered, e.g. from
        ``feishu_platform.api.sent_messages()``; default: a recent bot card of the world, or a new one);
        ``target``, ``path``, ``expect_rejected``, ``encrypt_key``: as for ``push``."""
        __tracebackhide__ = True
        envelope = self._callback(target, path, CLICK, _click_params(value, tag, message), overrides, legacy)
        (d,) = await self._deliver(target, [envelope], path, encrypt_key, 1, expect_rejected, legacy=legacy)
        return self._answered(d, AnswerKind.LEGACY_CARD if legacy else AnswerKind.CARD_ACTION)

    def click(self, target: object, *, value: Any = UNSET, tag: str | None = None, overrides: Overrides | None = None,
              path: str | None = None, legacy: bool = False, expect_rejected: bool = False,
              encrypt_key: str | None = UNSET, message: str | dict[str, Any] | None = None) -> Answer:
        """Blocking ``aclick`` for sync tests."""
        __tracebackhide__ = True
        self._not_in_loop("click", "aclick")
        envelope = self._callback(target, path, CLICK, _click_params(value, tag, message), overrides, legacy)
        (d,) = self._run_blocking(target, [envelope], path, encrypt_key, expect_rejected, legacy)
        return self._answered(d, AnswerKind.LEGACY_CARD if legacy else AnswerKind.CARD_ACTION)

    async def apreview(self, target: object, *, url: str | None = None, overrides: Overrides | None = None,
                       path: str | None = None, expect_rejected: bool = False,
                       encrypt_key: str | None = UNSET) -> Answer:
        """Ask ``target`` for a link preview (``url.preview.get``, of ``url`` or a generated link of the app's
        domain) and return its judged answer."""
        __tracebackhide__ = True
        envelope = self._callback(target, path, PREVIEW, _preview_params(url), overrides, False)
        (d,) = await self._deliver(target, [envelope], path, encrypt_key, 1, expect_rejected)
        return self._answered(d, AnswerKind.URL_PREVIEW)

    def preview(self, target: object, *, url: str | None = None, overrides: Overrides | None = None,
                path: str | None = None, expect_rejected: bool = False, encrypt_key: str | None = UNSET) -> Answer:
        """Blocking ``apreview`` for sync tests."""
        __tracebackhide__ = True
        self._not_in_loop("preview", "apreview")
        envelope = self._callback(target, path, PREVIEW, _preview_params(url), overrides, False)
        (d,) = self._run_blocking(target, [envelope], path, encrypt_key, expect_rejected, False)
        return self._answered(d, AnswerKind.URL_PREVIEW)

    # -- assertions ---------------------------------------------------------------------------------
    def assert_answer_valid(self, answer: Answer | None = None) -> Answer:
        """``answer`` (default: the last callback's) is a valid answer; ``BadAnswer`` says what is wrong."""
        __tracebackhide__ = True
        a = self._pick(answer)
        if not a.valid:
            raise BadAnswer(f"invalid {a.kind} answer: {a.describe()}")
        return a

    def assert_toast(self, answer: Answer | None = None, *, type: str | None = None,
                     content: str | None = None) -> dict[str, Any]:
        """The answer is valid and shows a toast (of this ``type``, with this ``content``); returns the toast."""
        __tracebackhide__ = True
        a, toast = self._shown(answer, "toast", type)
        if content is not None and a.toast_content != content:
            raise BadAnswer(f"expected toast content {content!r}, got {a.toast_content!r}")
        return toast

    def assert_card(self, answer: Answer | None = None, *, type: str | None = None,
                    template_id: str | None = None) -> dict[str, Any]:
        """The answer is valid and replaces the card (``raw`` or ``template``, this template); returns the card
        JSON or the template reference."""
        __tracebackhide__ = True
        _, data = self._shown(answer, "card", type)
        if template_id is not None and data.get("template_id") != template_id:
            raise BadAnswer(f"expected template {template_id!r}, got {data.get('template_id')!r}")
        return data

    def _shown(self, answer: Answer | None, what: str, type: str | None) -> tuple[Answer, dict[str, Any]]:
        """The answer is valid and shows a ``what`` (toast or card) of this ``type``: the answer and that part."""
        __tracebackhide__ = True
        a = self.assert_answer_valid(answer)
        part_of, type_of = _SHOWN[what]
        part = part_of(a)
        if part is None:
            raise BadAnswer(f"expected a {what}, the answer has none: {a.describe()}")
        if type is not None and type_of(a) != type:
            raise BadAnswer(f"expected a {type} {what}, got {type_of(a)}: {a.describe()}")
        return a, part

    # -- plumbing -----------------------------------------------------------------------------------
    def _callback(self, target: object, path: str | None, event_type: str, params: dict[str, Any],
                  overrides: Overrides | None, legacy: bool) -> dict[str, Any]:
        __tracebackhide__ = True
        self._resolve(target, path)
        longconn = self._longconn(target)
        if legacy and longconn:
            raise UsageError("legacy=True needs a webhook target: the long connection does not carry the legacy "
                             "card request")
        world = self._shared()
        if world is not None:  # the platform's world: the card the bot sent through its OpenAPI, a token it takes
            return shared_events(world, self.sim.config.app, event_type, 1, overrides=overrides, params=params,
                                 longconn=longconn)[0]
        factory = self.sim.factory
        return factory.generate(event_type, overrides=overrides, validate=self.sim.config.validate,
                                ctx=factory.context(params=params), longconn=longconn)

    def _answered(self, d: Delivery, kind: AnswerKind) -> Answer:
        answer = d.answer
        if answer is None:
            last = d.last
            why = "not sent" if last is None else f"{last.outcome}: {last.detail or last.status}"
            answer = Answer(kind, b"", None, (f"no answer: {why}",))
        self._last_answer = answer
        return answer

    def _pick(self, answer: Answer | None) -> Answer:
        __tracebackhide__ = True
        if answer is not None:
            return answer
        if self._last_answer is not None:
            return self._last_answer
        for d in reversed(self.sim.deliveries):
            if d.answer is not None:
                return d.answer
        raise BadAnswer("no callback has been answered yet (click or preview first, or pass the answer)")


def _click_params(value: Any, tag: str | None, message: str | dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if message is not None:
        params["message"] = message.get("message_id") if isinstance(message, dict) else message
    if value is not UNSET:
        params["value"] = value
    if tag is not None:
        params["tag"] = tag
    return params


def _preview_params(url: str | None) -> dict[str, Any]:
    return {} if url is None else {"url": url, "temporary": False}

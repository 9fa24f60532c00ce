"""A card bot built on the official lark-oapi 1.7.5 SDK, as an app developer would write it: a
``register_p2_card_action_trigger`` handler answering ``P2CardActionTriggerResponse``, a
``register_p2_url_preview_get`` handler answering ``P2URLPreviewGetResponse``, and a legacy
``lark.CardActionHandler`` answering the replacement card. Served as an ASGI app or on a loopback port
(in process, ``serving``), or, run as a script, in a process of its own::

    python -m tests.callbacks.lark_bot MODE ENCRYPT_KEY VERIFICATION_TOKEN   # prints {"port": N}

``MODE`` decides what the click handler answers: ``toast`` (a success toast naming the clicked value),
``raw`` (a raw card), ``template`` (a template card), ``empty`` (``P2CardActionTriggerResponse()``: ``{}``),
``none`` (returns nothing), ``bad_toast`` (toast type ``ok``), ``slow`` (a valid toast after ``delay``,
3.5 s), ``huge`` (a 40 KB card).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse
from lark_oapi.event.callback.model.p2_url_preview_get import P2URLPreviewGetResponse
from starlette.applications import Starlette

from tests.lark_receiver import MAX_BODY, lark_asgi
from tests.sdk_http_receiver import SdkHttpServer

RAW_CARD: dict[str, Any] = {"schema": "2.0", "config": {"update_multi": True},
                            "body": {"elements": [{"tag": "markdown", "content": "**Approved**"}]}}
TEMPLATE: dict[str, Any] = {"template_id": "AAqi6xJ8rabcd", "template_version_name": "1.0.0",
                            "template_variable": {"n": 1}}
HUGE_CARD: dict[str, Any] = {"schema": "2.0", "body": {"elements": [{"tag": "markdown", "content": "x" * 40_000}]}}


class Bot:
    """Records what its handlers received; answers according to ``mode``."""

    def __init__(self, mode: str = "toast", encrypt_key: str = "", verification_token: str = "", *,
                 delay: float = 3.5) -> None:
        self.mode = mode
        self.delay = delay  # how long a ``slow`` bot takes
        self.clicks: list[Any] = []
        self.previews: list[Any] = []
        self.legacy: list[Any] = []
        self.lock = threading.Lock()
        self.events = (lark.EventDispatcherHandler.builder(encrypt_key, verification_token, lark.LogLevel.CRITICAL)
                       .register_p2_card_action_trigger(self.on_click)
                       .register_p2_url_preview_get(self.on_preview).build())
        self.cards = lark.CardActionHandler.builder(encrypt_key, verification_token, lark.LogLevel.CRITICAL) \
            .register(self.on_legacy).build()

    def answer(self, title: str) -> dict[str, Any]:
        mode = self.mode
        if mode == "slow":
            time.sleep(self.delay)
        if mode in ("toast", "slow"):
            return {"toast": {"type": "success", "content": title}}
        if mode == "raw":
            return {"toast": {"type": "info", "content": title}, "card": {"type": "raw", "data": RAW_CARD}}
        if mode == "template":
            return {"card": {"type": "template", "data": TEMPLATE}}
        if mode == "bad_toast":
            return {"toast": {"type": "ok", "content": title}}
        if mode == "huge":
            return {"card": {"type": "raw", "data": HUGE_CARD}}
        return {}

    def on_click(self, data: Any) -> P2CardActionTriggerResponse | None:
        with self.lock:
            self.clicks.append(data)
        if self.mode == "none":  # a handler that forgets to return a response
            return None
        value = data.event.action.value or {}
        return P2CardActionTriggerResponse(self.answer(str(value.get("action", "clicked")).capitalize()))

    def on_preview(self, data: Any) -> P2URLPreviewGetResponse:
        with self.lock:
            self.previews.append(data)
        return P2URLPreviewGetResponse({"inline": {"title": f"Preview of {data.event.context.url}"}})

    def on_legacy(self, card: Any) -> Any:
        with self.lock:
            self.legacy.append(card)
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "huge":
            return HUGE_CARD
        if self.mode == "bad_toast":
            return {"toast": {"type": "ok", "content": "x"}, **RAW_CARD}
        return {"toast": {"type": "success", "content": "Done"}, **RAW_CARD}

    def do(self, req: lark.RawRequest) -> lark.RawResponse:
        """Over HTTP: ``/card...`` paths go to the legacy card handler, the others to the event dispatcher."""
        return (self.cards if req.uri.startswith("/card") else self.events).do(req)

    def asgi(self, *, legacy: bool = False) -> Starlette:
        return lark_asgi(self.cards if legacy else self.events)  # type: ignore[arg-type]


@contextlib.contextmanager
def serving(bot: Bot) -> Iterator[str]:
    """``with serving(bot) as base_url:`` the bot on a loopback port, in a thread of this process."""
    server = SdkHttpServer(bot, max_body=MAX_BODY)
    with server:
        yield server.base


def main(argv: list[str]) -> None:
    mode, key, token = argv
    server = SdkHttpServer(Bot(mode, key, token), max_body=MAX_BODY)
    print(json.dumps({"port": server.port}), flush=True)
    server.server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])

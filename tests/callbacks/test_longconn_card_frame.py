"""``card_frame="card"`` over the long connection, to the unmodified ``lark.ws.Client`` (lark-oapi 1.7.5): it
drops ``card`` frames without an ack. A module of its own: the client of tests/callbacks/test_longconn.py
lives as long as that module's tests, and one ``lark.ws.Client`` runs per process at a time."""

from __future__ import annotations

import pytest

from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer
from simulator.verdicts.model import Outcome
from tests.callbacks.lark_bot import Bot
from tests.longconn.lark_ws import connected_client

pytestmark = pytest.mark.lark_sdk

APP_ID, SECRET = "cli_c0ffee00c0ffee00", "callbacks-ws-secret"


def test_card_frames_are_dropped_by_the_official_client() -> None:
    """``card_frame="card"``: the lark-oapi client returns without an ack, so the click times out."""
    bot = Bot("toast")
    with PlatformServer(app_id=APP_ID, app_secret=SECRET, seed=5, client_config=TEST_CLIENT_CONFIG,
                        ack_budget_s=0.5, card_frame="card") as platform, \
            connected_client(platform, APP_ID, SECRET, bot.events):
        (click,) = platform.push("card.action.trigger", timeout=30)
        (preview,) = platform.push("url.preview.get", timeout=30)
    assert click.last is not None and click.last.outcome is Outcome.TIMEOUT and bot.clicks == []
    assert preview.acked  # only card.action.trigger goes in card frames

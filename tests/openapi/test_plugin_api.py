"""``feishu_platform.api`` through the pytest plugin (pytester, in process): the OpenAPI is on the fixture's
origin, and its record is cleared before each test like the rest of the platform."""

from __future__ import annotations

import textwrap

import pytest

import simulator.pytest_plugin  # noqa: F401  (loaded once: pytester drops modules first imported in a run)
from tests.plugin.test_pytest_plugin import PLUGIN

pytest_plugins = ["pytester"]

SUITE = '''
import json

import httpx
import pytest

from simulator.errors import BotCallMissing


def send(platform, chat_id, text):
    headers = {"Authorization": f"Bearer {platform.api.token()}"}
    return httpx.post(f"{platform.domain}/open-apis/im/v1/messages", params={"receive_id_type": "chat_id"},
                      json={"receive_id": chat_id, "msg_type": "text", "content": json.dumps({"text": text})},
                      headers=headers)


def test_first_sends(feishu_platform):
    chat = feishu_platform.api.world().groups()[0]
    assert send(feishu_platform, chat.chat_id, "hello").json()["code"] == 0
    [sent] = feishu_platform.api.sent_messages(chat_id=chat.chat_id)
    assert json.loads(sent["body"]["content"]) == {"text": "hello"}


def test_second_starts_clean(feishu_platform):
    assert feishu_platform.api.calls == [] and feishu_platform.api.counts()["total"] == 0
    with pytest.raises(BotCallMissing, match="the bot sent:"):
        feishu_platform.api.assert_replied("om_0")
'''


def test_feishu_platform_fixture_has_the_openapi(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=textwrap.dedent(SUITE))
    result = pytester.runpytest_inprocess(*PLUGIN)
    result.assert_outcomes(passed=2)

"""The examples of docs/bots.md and README.md's "A bot's replies", run as written: the pytest suites with
pytester, the long-connection script in a subprocess, the shell commands against ``feishu-sim serve`` with a
lark-oapi bot on each side (long connection and webhook)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask  # noqa: F401  (kept loaded across in-process runs, see tests/plugin/test_pytest_plugin.py)
import httpx
import lark_oapi as lark
import pytest
from lark_oapi.api.im.v1 import P2ImMessageReceiveV1, ReplyMessageRequest, ReplyMessageRequestBody

import simulator.pytest_plugin  # noqa: F401
from simulator.cli import main
from tests.botloop.echo_bot import EchoBot, api_client
from tests.docs_examples import ROOT, example
from tests.longconn.lark_ws import LarkWsThread
from tests.openapi.helpers import forget_sdk_token
from tests.plugin.test_pytest_plugin import PLUGIN
from tests.polling import wait_for_ready_file, wait_until
from tests.sdk_http_receiver import SdkHttpServer

pytestmark = pytest.mark.lark_sdk
pytest_plugins = ["pytester"]

BOT_FILES = ("bots-my-bot", "bots-conftest")


def write(pytester: pytest.Pytester, name: str) -> str:
    code = example(name).code
    match = re.match(r"# (\w+\.py)\n", code)
    assert match, f"{name} must start with '# <file>.py'"
    (pytester.path / match.group(1)).write_text(code, encoding="utf-8")
    return code


@pytest.mark.parametrize("suite", ["bots-pytest", "readme-bot", "bots-card-pytest"])
def test_the_pytest_examples_pass(pytester: pytest.Pytester, suite: str) -> None:
    for name in BOT_FILES:
        write(pytester, name)
    code = write(pytester, suite)
    app_id = re.search(r'"APP_ID", "(cli_\w+)"', example("bots-my-bot").code)
    assert app_id is not None
    forget_sdk_token(app_id.group(1))  # lark-oapi's process-wide cache may hold another platform's token
    result = pytester.runpytest_inprocess(*PLUGIN)
    result.assert_outcomes(passed=len(re.findall(r"^def test_", code, re.M)))


def test_the_long_connection_example_runs() -> None:
    # A subprocess: the example leaves its lark.ws.Client thread running until the interpreter exits.
    out = subprocess.run([sys.executable, "-c", example("bots-longconn").code],
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]


# -- the shell examples -------------------------------------------------------------------------------------
def commands(name: str) -> list[list[str]]:
    return example(name).commands()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The example's ``feishu-sim serve`` on a free port, in a directory of its own (for its transcript)."""
    serve = commands("bots-cli-longconn")[0]
    argv = serve[1:]
    argv[argv.index("--port") + 1] = "0"
    cwd = tmp_path_factory.mktemp("bots-serve")
    ready = cwd / "ready"
    proc = subprocess.Popen([sys.executable, "-m", "simulator", *argv, "--ready-file", str(ready)], cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        yield wait_for_ready_file(proc, ready, timeout=15), cwd
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()


def credentials() -> tuple[str, str]:
    serve = commands("bots-cli-longconn")[0]
    return serve[serve.index("--app-id") + 1], serve[serve.index("--app-secret") + 1]


class HiBot:
    """What docs/bots.md's bot does, on the long connection: "hi" in a group gets a reply in thread."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def on_message(self, data: P2ImMessageReceiveV1) -> None:
        message = data.event.message
        if message.chat_type == "group" and "hi" in json.loads(message.content).get("text", "").lower():
            body = ReplyMessageRequestBody.builder().msg_type("text").reply_in_thread(True) \
                .content(json.dumps({"text": "hi! how can I help?"})).build()
            self.client.im.v1.message.reply(ReplyMessageRequest.builder().message_id(message.message_id)
                                            .request_body(body).build())

    def handler(self) -> lark.EventDispatcherHandler:
        return lark.EventDispatcherHandler.builder("", "").register_p2_im_message_receive_v1(self.on_message).build()


def test_push_platform_prints_the_long_connection_bots_replies(served: tuple[str, Path],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    domain, cwd = served
    app_id, secret = credentials()
    push = [a.replace("http://127.0.0.1:9001", domain) for a in commands("bots-cli-longconn")[1]]
    bot = HiBot(api_client(domain, app_id, secret))
    with LarkWsThread(domain, app_id, secret, handler=bot.handler()):
        wait_until(lambda: httpx.get(f"{domain}/_sim/connections", trust_env=False).json(), "the bot to connect",
                   timeout=10)
        assert main(push[1:]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 4 and lines[0].startswith("acked ") and lines[2].startswith("acked "), out
    for api in lines[1::2]:
        assert re.fullmatch(r"    api: reply to om_\w{32} in thread: text 'hi! how can I help\?' -> ok om_\w{32}",
                            api), api
    assert "the bot made 2 API call(s)" in err
    transcript = [json.loads(line) for line in (cwd / "run.ndjson").read_text().splitlines()]
    replies = [t for t in transcript if t["kind"] == "api_call" and t["api"].endswith("/reply")]
    assert len(replies) == 2 and all(r["code"] == 0 for r in replies)


def test_push_url_platform_feeds_a_webhook_bot(served: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    domain, _ = served
    app_id, secret = credentials()
    key, token = "docs-key", "docs-token"
    bot = EchoBot(api_client(domain, app_id, secret))
    with SdkHttpServer(bot.handler(key, token)) as url:
        argv = [{"$KEY": key, "$TOKEN": token}.get(a, a).replace("http://127.0.0.1:9001", domain)
                .replace("http://127.0.0.1:8000/webhook/event", url) for a in commands("bots-cli-webhook")[0]]
        assert main(argv[1:]) == 0
    doc = json.loads(capsys.readouterr().out)
    [delivery] = doc["deliveries"]
    [call] = delivery["api_calls"]
    assert delivery["final"] == "acked" and doc["target"] == url
    assert call["api"] == "POST /open-apis/im/v1/messages" and call["code"] == 0 and not bot.errors
    assert json.loads(call["body"]["content"])["text"].startswith("收到你发送的消息：hello")


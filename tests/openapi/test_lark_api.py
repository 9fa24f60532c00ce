"""The real lark-oapi 1.7.5 client pointed at the platform's OpenAPI (docs/openapi.md): tokens, send, reply in
thread, card patch, reactions, bot info, message get, resources, uploads, and every error code as ``resp.code``."""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import lark_oapi as lark
import pytest
from lark_oapi.api.auth.v3 import InternalTenantAccessTokenRequest, InternalTenantAccessTokenRequestBody
from lark_oapi.api.im.v1 import (
    CreateFileRequest,
    CreateFileRequestBody,
    CreateImageRequest,
    CreateImageRequestBody,
    CreateMessageReactionRequest,
    CreateMessageReactionRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
    DeleteMessageReactionRequest,
    Emoji,
    GetMessageRequest,
    GetMessageResourceRequest,
    PatchMessageRequest,
    PatchMessageRequestBody,
    ReplyMessageRequest,
    ReplyMessageRequestBody,
)

from simulator.errors import BotCallMissing
from simulator.platform.openapi import codes
from simulator.platform_server import PlatformServer
from tests.openapi.helpers import a_group, forget_sdk_token, lark_client, user_says

pytestmark = pytest.mark.lark_sdk

APP, SECRET = "cli_0a1b2c3d4e5f6071", "api-secret"
CARD = {"config": {"update_multi": True}, "elements": [{"tag": "markdown", "content": "**building**"}]}


@pytest.fixture(scope="module")
def server() -> Iterator[PlatformServer]:
    with PlatformServer(app_id=APP, app_secret=SECRET, seed=21) as s:
        yield s


@pytest.fixture
def client(server: PlatformServer) -> Any:
    server.clear()
    return lark_client(server, APP, SECRET)


def text(t: str) -> str:
    return json.dumps({"text": t})


def send(client: Any, receive_id: str, content: str, *, id_type: str = "chat_id", msg_type: str = "text",
         uuid: str | None = None) -> Any:
    body = CreateMessageRequestBody.builder().receive_id(receive_id).msg_type(msg_type).content(content)
    if uuid:
        body = body.uuid(uuid)
    return client.im.v1.message.create(CreateMessageRequest.builder().receive_id_type(id_type)
                                       .request_body(body.build()).build())


def reply(client: Any, message_id: str, content: str, *, in_thread: bool = False, msg_type: str = "text") -> Any:
    body = ReplyMessageRequestBody.builder().content(content).msg_type(msg_type).reply_in_thread(in_thread).build()
    return client.im.v1.message.reply(ReplyMessageRequest.builder().message_id(message_id).request_body(body).build())


def raw(client: Any, method: lark.HttpMethod, uri: str) -> Any:
    return client.request(lark.BaseRequest.builder().http_method(method).uri(uri)
                          .token_types({lark.AccessTokenType.TENANT}).build())


# -- tokens ---------------------------------------------------------------------------------------------------
def test_tenant_token_endpoint(server: PlatformServer, client: Any) -> None:
    def ask(secret: str, app_id: str = APP) -> Any:
        body = InternalTenantAccessTokenRequestBody.builder().app_id(app_id).app_secret(secret).build()
        return client.auth.v3.tenant_access_token.internal(
            InternalTenantAccessTokenRequest.builder().request_body(body).build())

    resp = ask(SECRET)
    doc = json.loads(resp.raw.content)
    assert resp.code == 0 and doc["msg"] == "ok" and doc["expire"] == 7200
    assert re.fullmatch(r"t-[0-9a-f]{40}", doc["tenant_access_token"])
    assert json.loads(ask(SECRET).raw.content)["tenant_access_token"] == doc["tenant_access_token"]
    assert ask("wrong").code == codes.TOKEN_BAD_SECRET
    assert ask("x", "cli_ffffffffffffffff").code == codes.TOKEN_UNKNOWN_APP
    request = server.api.calls[0]
    assert request.api == "POST /open-apis/auth/v3/tenant_access_token/internal"
    assert request.body == {"app_id": APP, "app_secret": "***"}  # the secret is not kept


def test_missing_and_bad_tokens(server: PlatformServer) -> None:
    url = f"{server.domain}/open-apis/im/v1/messages?receive_id_type=chat_id"
    for headers, code in (({}, codes.MISSING_TOKEN), ({"Authorization": "Bearer t-nope"}, codes.INVALID_TOKEN)):
        r = httpx.post(url, json={}, headers=headers)
        doc = r.json()
        assert (r.status_code, doc["code"]) == (400, code)
        assert doc["msg"] == codes.MESSAGES[code] + (" ext=unknown token" if code == codes.INVALID_TOKEN else "")
        assert r.headers["X-Tt-Logid"] == doc["error"]["log_id"] and doc["error"]["troubleshooter"]
        assert set(doc["error"]) >= {"field_violations", "permission_violations", "helps"}


# -- sending ----------------------------------------------------------------------------------------------------
def test_send_to_chat_id_and_open_id(server: PlatformServer, client: Any) -> None:
    chat = a_group(server)
    resp = send(client, chat.chat_id, text("hello group"))
    assert resp.code == 0, resp.msg
    d = resp.data
    assert d.message_id.startswith("om_") and d.chat_id == chat.chat_id and d.msg_type == "text"
    assert (d.sender.id, d.sender.id_type, d.sender.sender_type) == (APP, "app_id", "app")
    assert json.loads(d.body.content) == {"text": "hello group"}
    assert server.api.call(lambda: server.api.state.world().message(d.message_id)) is not None
    person = server.api.world().population.people[7]
    direct = send(client, person.open_id(APP), text("hello you"), id_type="open_id")
    assert direct.code == 0
    p2p = server.api.call(lambda: server.api.state.world().p2p_chat(person))
    assert direct.data.chat_id == p2p.chat_id
    assert [m["chat_id"] for m in server.api.sent_messages()] == [chat.chat_id, p2p.chat_id]
    assert server.api.sent_messages(chat_id=p2p.chat_id)[0]["message_id"] == direct.data.message_id


def test_same_uuid_same_message(server: PlatformServer, client: Any) -> None:
    chat = a_group(server)
    first = send(client, chat.chat_id, text("once"), uuid="deploy-42")
    again = send(client, chat.chat_id, text("once"), uuid="deploy-42")
    assert first.code == again.code == 0 and again.data.message_id == first.data.message_id
    assert len({m["message_id"] for m in server.api.sent_messages()}) == 1


def test_reply_in_thread_and_assert_replied(server: PlatformServer, client: Any) -> None:
    asked = user_says(server, "status?", mention_bot=True)
    resp = reply(client, asked.message_id, text("all green"), in_thread=True)
    assert resp.code == 0
    assert (resp.data.parent_id, resp.data.root_id) == (asked.message_id, asked.message_id)
    assert resp.data.thread_id.startswith("omt_")
    got = server.api.assert_replied(asked.message_id, text=re.compile("green"), in_thread=True)
    assert got["message_id"] == resp.data.message_id
    with pytest.raises(BotCallMissing, match=r"no reply to om_\w+ with text 'red'.*the bot sent:\s+text 'all green'"):
        server.api.assert_replied(asked.message_id, text="red")
    with pytest.raises(BotCallMissing, match="not in thread"):
        server.api.assert_replied(asked.message_id, in_thread=False)


def test_wait_for_reply_from_another_thread(server: PlatformServer, client: Any) -> None:
    asked = user_says(server, "ping")
    start = threading.Event()

    def bot() -> None:
        start.wait(5)
        reply(client, asked.message_id, text("pong"))

    worker = threading.Thread(target=bot)
    worker.start()
    start.set()
    assert server.api.wait_for_reply(asked.message_id, timeout=5, text="pong")["parent_id"] == asked.message_id
    worker.join(5)
    with pytest.raises(BotCallMissing, match=r"after 0.2 s: no reply"):
        server.api.wait_for_reply(user_says(server, "anyone?").message_id, timeout=0.2)


def test_await_reply_lets_an_async_bot_on_the_same_loop_run(server: PlatformServer, client: Any) -> None:
    asked = user_says(server, "async ping")

    async def bot() -> Any:
        await asyncio.sleep(0.05)  # the test is already waiting when the bot answers
        body = ReplyMessageRequestBody.builder().content(text("async pong")).msg_type("text").build()
        return await client.im.v1.message.areply(ReplyMessageRequest.builder().message_id(asked.message_id)
                                                 .request_body(body).build())

    async def scenario() -> tuple[dict[str, Any], Any]:
        task = asyncio.ensure_future(bot())
        got = await server.api.await_reply(asked.message_id, timeout=5, text="async pong")
        return got, await task

    got, resp = asyncio.run(scenario())
    assert resp.code == 0 and got["message_id"] == resp.data.message_id


# -- cards, reactions, reading --------------------------------------------------------------------------------
def test_patch_card(server: PlatformServer, client: Any) -> None:
    sent = send(client, a_group(server).chat_id, json.dumps(CARD), msg_type="interactive")
    assert sent.code == 0
    done = {**CARD, "elements": [{"tag": "markdown", "content": "**done**"}]}
    resp = client.im.v1.message.patch(PatchMessageRequest.builder().message_id(sent.data.message_id).request_body(
        PatchMessageRequestBody.builder().content(json.dumps(done)).build()).build())
    assert resp.code == 0, resp.msg
    got = client.im.v1.message.get(GetMessageRequest.builder().message_id(sent.data.message_id).build())
    assert got.code == 0 and json.loads(got.data.items[0].body.content) == done and got.data.items[0].updated
    unshared = send(client, a_group(server).chat_id, json.dumps({"elements": []}), msg_type="interactive")
    refused = client.im.v1.message.patch(PatchMessageRequest.builder().message_id(unshared.data.message_id)
                                         .request_body(PatchMessageRequestBody.builder().content(json.dumps(done))
                                                       .build()).build())
    assert refused.code == codes.INVALID_PARAM and "update_multi" in refused.msg


def test_reaction_as_typing_indicator(server: PlatformServer, client: Any) -> None:
    asked = user_says(server, "long job")
    made = client.im.v1.message_reaction.create(CreateMessageReactionRequest.builder().message_id(asked.message_id)
                                                .request_body(CreateMessageReactionRequestBody.builder().reaction_type(
                                                    Emoji.builder().emoji_type("Typing").build()).build()).build())
    assert made.code == 0 and made.data.reaction_type.emoji_type == "Typing"
    assert (made.data.operator.operator_id, made.data.operator.operator_type) == (APP, "app")
    gone = client.im.v1.message_reaction.delete(DeleteMessageReactionRequest.builder().message_id(asked.message_id)
                                                .reaction_id(made.data.reaction_id).build())
    assert gone.code == 0 and gone.data.reaction_id == made.data.reaction_id
    assert [c.method for c in server.api.find(path="/open-apis/im/v1/messages/*/reactions*")] == ["POST", "DELETE"]


def test_bot_info_raw_request(server: PlatformServer, client: Any) -> None:
    resp = raw(client, lark.HttpMethod.GET, "/open-apis/bot/v3/info")
    doc = json.loads(resp.raw.content)
    assert resp.code == 0 and resp.get_log_id() == doc_log(server)
    assert doc["bot"]["open_id"] == server.api.world().bot.open_id and doc["bot"]["activate_status"] == 2
    assert "data" not in doc


def doc_log(server: PlatformServer) -> str:
    last = server.api.last
    assert last is not None
    return last.log_id


def test_upload_send_and_download(server: PlatformServer, client: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100
    img = client.im.v1.image.create(CreateImageRequest.builder().request_body(
        CreateImageRequestBody.builder().image_type("message").image(io.BytesIO(png)).build()).build())
    assert img.code == 0, img.msg
    assert re.fullmatch(r"img_v3_02[0-9a-f]{2}_[0-9a-f-]{35}g", img.data.image_key)
    pdf = client.im.v1.file.create(CreateFileRequest.builder().request_body(
        CreateFileRequestBody.builder().file_type("pdf").file_name("周报.pdf").file(io.BytesIO(b"%PDF-1.7")).build())
        .build())
    assert pdf.code == 0 and pdf.data.file_key.startswith("file_v3_00")
    upload = server.api.find("POST", "/open-apis/im/v1/files")[0]
    assert upload.body["file_name"] == "周报.pdf" and upload.body["file"]["size"] == 8
    sent = send(client, a_group(server).chat_id, json.dumps({"image_key": img.data.image_key}), msg_type="image")
    assert sent.code == 0
    got = client.im.v1.message_resource.get(GetMessageResourceRequest.builder().message_id(sent.data.message_id)
                                            .file_key(img.data.image_key).type("image").build())
    assert got.code == 0 and got.file.read() == png and got.file_name == img.data.image_key + ".png"
    users = user_says(server, "", msg_type="file", content={"file_key": "file_v3_00ab_x", "file_name": "数据.csv"})
    theirs = client.im.v1.message_resource.get(GetMessageResourceRequest.builder().message_id(users.message_id)
                                               .file_key("file_v3_00ab_x").type("file").build())
    assert theirs.code == 0 and theirs.file_name == "数据.csv" and len(theirs.file.read()) == 1024
    wrong = client.im.v1.message_resource.get(GetMessageResourceRequest.builder().message_id(users.message_id)
                                              .file_key("file_v3_00ab_other").type("file").build())
    assert wrong.code == codes.INVALID_PARAM


def test_unserved_path_is_a_recorded_404(server: PlatformServer, client: Any) -> None:
    resp = raw(client, lark.HttpMethod.GET, "/open-apis/contact/v3/users/ou_1")
    assert resp.code == 404 and resp.raw.status_code == 404
    assert server.api.last is not None and server.api.last.path == "/open-apis/contact/v3/users/ou_1"


# -- errors as resp.code --------------------------------------------------------------------------------------
def _errors(server: PlatformServer, client: Any) -> dict[int, Any]:
    world = server.api.world()
    outside = server.api.call(lambda: server.api.state.world().new_group(bot_member=False))
    recalled = user_says(server, "oops")
    server.api.call(lambda: setattr(recalled, "recalled", True))
    person = world.population.people[3]
    server.api.set_availability([world.population.people[4].open_id(APP)])
    out = {
        codes.INVALID_PARAM: send(client, "ou_" + "0" * 32, text("x"), id_type="open_id"),
        codes.BOT_NOT_IN_CHAT: send(client, outside.chat_id, text("x")),
        codes.NO_AVAILABILITY: send(client, person.open_id(APP), text("x"), id_type="open_id"),
        codes.RECALLED: reply(client, recalled.message_id, text("x")),
        codes.CONTENT_TOO_LONG: send(client, a_group(server).chat_id, text("x" * 160_000)),
        codes.CARD_FAILED: send(client, a_group(server).chat_id, json.dumps({"nope": 1}), msg_type="interactive"),
    }
    server.api.set_availability(None)
    chat = a_group(server).chat_id
    for _ in range(5):
        assert send(client, chat, text("flood")).code in (0, codes.RECIPIENT_RATE_LIMIT)
    out[codes.RECIPIENT_RATE_LIMIT] = next(
        (r for r in (send(client, chat, text("flood")) for _ in range(10)) if r.code), None)
    return out


def test_every_message_error_code_reaches_the_sdk(server: PlatformServer, client: Any) -> None:
    for code, resp in _errors(server, client).items():
        assert resp is not None and resp.code == code, (code, resp and resp.msg)
        assert resp.msg.startswith(codes.MESSAGES[code]) and resp.raw.status_code == 400
        assert resp.error["log_id"] == resp.get_log_id() and resp.error["log_id"]  # the SDK keeps error a dict


def test_faults_through_the_control_api(server: PlatformServer, client: Any) -> None:
    asked = user_says(server, "hi")
    r = httpx.post(f"{server.domain}/_sim/openapi/faults",
                   json={"path": "/open-apis/im/v1/messages/*/reply", "code": 230020, "count": 2})
    assert r.status_code == 200 and r.json()["faults"][0]["count"] == 2
    assert [reply(client, asked.message_id, text("x")).code for _ in range(3)] == [230020, 230020, 0]
    httpx.post(f"{server.domain}/_sim/openapi/faults", json={"code": 99991400, "method": "GET"})
    limited = raw(client, lark.HttpMethod.GET, "/open-apis/bot/v3/info")
    assert (limited.code, limited.raw.status_code) == (99991400, 429)
    server.api.fail("/open-apis/bot/v3/info", latency_ms=300)
    slow = raw(client, lark.HttpMethod.GET, "/open-apis/bot/v3/info")
    assert slow.code == 0 and server.api.last is not None and server.api.last.latency_ms >= 300
    calls = httpx.get(f"{server.domain}/_sim/openapi/calls?limit=2").json()
    assert calls["counts"]["per_code"]["230020"] == 2 and len(calls["calls"]) == 2
    assert httpx.post(f"{server.domain}/_sim/openapi/faults", json={"count": -1}).status_code == 400


def test_card_token_through_the_control_api(server: PlatformServer, client: Any) -> None:
    sent = send(client, a_group(server).chat_id, json.dumps(CARD), msg_type="interactive")
    token = httpx.post(f"{server.domain}/_sim/openapi/card_token", json={"message_id": sent.data.message_id}).json()
    new = {**CARD, "elements": [{"tag": "markdown", "content": "clicked"}]}
    resp = client.request(lark.BaseRequest.builder().http_method(lark.HttpMethod.POST)
                          .uri("/open-apis/interactive/v1/card/update").token_types({lark.AccessTokenType.TENANT})
                          .body({"token": token["token"], "card": new}).build())
    assert resp.code == 0, resp.msg
    stored = server.api.call(lambda: server.api.state.world().message(sent.data.message_id))
    assert stored is not None and json.loads(stored.content) == new


def test_control_routes_need_the_control_token() -> None:
    with PlatformServer(app_id=APP, app_secret=SECRET, control_token="ctl") as guarded:
        url = f"{guarded.domain}/_sim/openapi/state"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer ctl"}).json()["calls"]["total"] == 0
    forget_sdk_token(APP)

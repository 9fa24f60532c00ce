"""Shared by the OpenAPI tests: an official lark-oapi client pointed at a platform, the SDK's token cache, and a
user message put in the platform's world."""

from __future__ import annotations

import json
from typing import Any

import lark_oapi as lark
from lark_oapi.core.token.manager import TokenManager

from simulator.generation.families.im.world import Chat, Message
from simulator.platform_server import PlatformServer


def forget_sdk_token(app_id: str) -> None:
    """lark-oapi caches tenant tokens process-wide per app id (docs/openapi.md#sdk-client-behaviours)."""
    TokenManager.cache.cache.pop(f"self_tenant_token:{app_id}", None)


def lark_client(server: PlatformServer, app_id: str, secret: str) -> Any:
    forget_sdk_token(app_id)
    return lark.Client.builder().app_id(app_id).app_secret(secret).domain(server.domain) \
        .log_level(lark.LogLevel.ERROR).build()


def a_group(server: PlatformServer) -> Chat:
    return server.api.world().groups()[0]


def user_says(server: PlatformServer, text: str, *, chat: Chat | None = None, mention_bot: bool = False,
              msg_type: str = "text", content: dict[str, Any] | None = None) -> Message:
    """A message a member of ``chat`` (a group with the bot by default) sent, recorded in the platform's world."""
    def put() -> Message:
        world = server.api.state.world()
        where = chat or world.groups()[0]
        person = where.members[-1]
        mentions: list[dict[str, Any]] = []
        body = text
        if mention_bot:
            body = f"@_user_1 {text}"
            mentions = [{"key": "@_user_1", "id": {"open_id": world.bot.open_id, "union_id": world.bot.union_id},
                         "name": world.bot.name,
                         "tenant_key": server.api.state.tenant_key}]
        now_ms = server.api.state.now_ms()
        return world.record(Message(world.new_message_id(), where.chat_id, now_ms, person, msg_type,
                                    json.dumps(content if content is not None else {"text": body}, ensure_ascii=False),
                                    mentions=mentions, update_time_ms=now_ms))
    return server.api.call(put)

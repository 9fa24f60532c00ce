"""Chat membership events: the bot added to / removed from a group, users added, removed or withdrawn.

Each names a group of the run's ``ImWorld`` and updates it, so later events agree: a bot removed from a
chat is no longer a member (no more messages reach it from there), users added are members, users who
left are not. Params (each also read from ``GenContext.scene``):

- ``chat``: the group (``Chat`` or chat id). Default: ``bot.added_v1`` a group the bot left or a new one;
  the others a group the bot is in;
- ``operator``: who acted (``Person`` or id; ``GenContext.operator`` works too). Default: the owner or a
  member; for ``user.deleted_v1`` often the user who left;
- ``users``: the people added / removed / whose invitation was withdrawn (``user.*`` events).

Body shape (the doc's key order): ``chat_id, operator_id, external, operator_tenant_key, [users,] name,
i18n_names``; ``i18n_names`` is left out for a chat without a name.
"""

from __future__ import annotations

from typing import Any

from simulator.errors import ConfigError
from simulator.generation.catalog._base import GenContext, Generator
from simulator.generation.families.im.ids import person_ids
from simulator.generation.families.im.scene import chat_param, people_param, person_param, tenant_of, world
from simulator.generation.families.im.world import Chat, ImWorld
from simulator.generation.population import Person


def group_of(ctx: GenContext, w: ImWorld) -> Chat:
    chat = chat_param(ctx)
    if chat is None:
        return w.pick_group(ctx.rand)
    if chat.chat_type != "group":
        raise ConfigError(f"param chat={chat.chat_id}: a p2p chat has no members to change")
    return chat


def operator_of(ctx: GenContext, chat: Chat, *, owner_share: float = 0.5) -> Person:
    op = person_param(ctx, "operator") or ctx.operator
    if op is None:
        op = chat.owner if ctx.rand.chance(owner_share) else ctx.rand.choice(chat.members)
    return op


def head(ctx: GenContext, chat: Chat, operator: Person) -> dict[str, Any]:
    return {"chat_id": chat.chat_id, "operator_id": person_ids(operator, ctx.app_id), "external": chat.external,
            "operator_tenant_key": tenant_of(ctx)}


def names(chat: Chat) -> dict[str, Any]:
    out: dict[str, Any] = {"name": chat.name}
    i18n = chat.i18n_names()
    if i18n:
        out["i18n_names"] = i18n
    return out


def users_json(ctx: GenContext, users: list[Person]) -> list[dict[str, Any]]:
    tenant = tenant_of(ctx)
    return [{"name": p.name, "tenant_key": tenant, "user_id": person_ids(p, ctx.app_id)} for p in users]


def chat_body(ctx: GenContext, chat: Chat, operator: Person, users: list[Person] | None = None) -> dict[str, Any]:
    """The body of an event about ``chat`` (membership, disbanding) in the doc's key order, ``users`` when the
    event names some; ``chat`` becomes the scene's chat, for the events that follow."""
    ctx.scene["chat"] = chat
    named = {} if users is None else {"users": users_json(ctx, users)}
    return {**head(ctx, chat, operator), **named, **names(chat)}


def _outsiders(ctx: GenContext, chat: Chat, k: int) -> list[Person]:
    """``k`` (or fewer, at least one) tenant users who are not in ``chat``."""
    inside = {p.key for p in chat.members}
    pool = [p for p in ctx.population.staff if p.key not in inside]
    if not pool:  # everyone is in (a tiny tenant): one of them left earlier, unseen
        pool = [ctx.rand.choice([p for p in chat.members if p.key != chat.owner.key])]
        chat.members.remove(pool[0])
    return ctx.rand.sample(pool, min(k, len(pool)))


def bot_added(ctx: GenContext) -> dict[str, Any]:
    w = world(ctx)
    chat = chat_param(ctx)
    if chat is None:
        left = [c for c in w.chats.values() if c.chat_type == "group" and not c.bot_member and not c.disbanded]
        chat = ctx.rand.choice(left) if left and ctx.rand.chance(0.3) else w.new_group(bot_member=False)
    op = operator_of(ctx, chat, owner_share=0.6)
    chat.bot_member = True
    return chat_body(ctx, chat, op)


def bot_deleted(ctx: GenContext) -> dict[str, Any]:
    w = world(ctx)
    chat = group_of(ctx, w)
    op = operator_of(ctx, chat, owner_share=0.7)
    chat.bot_member = False
    return chat_body(ctx, chat, op)


def user_added(ctx: GenContext) -> dict[str, Any]:
    w = world(ctx)
    chat = group_of(ctx, w)
    users = people_param(ctx, "users") or _outsiders(ctx, chat, ctx.rand.choice((1, 1, 1, 2, 3)))
    op = person_param(ctx, "operator") or ctx.operator
    if op is None:  # joined through a link or QR code, or invited by a member
        op = users[0] if len(users) == 1 and ctx.rand.chance(0.2) else operator_of(ctx, chat)
    chat.members.extend(u for u in users if not chat.has(u))
    return chat_body(ctx, chat, op, users)


def user_deleted(ctx: GenContext) -> dict[str, Any]:
    w = world(ctx)
    chat = group_of(ctx, w)
    users = people_param(ctx, "users")
    if users is None:
        leavers = [p for p in chat.members if p.key != chat.owner.key]
        if not leavers:  # only the owner is left: someone joins first (an earlier event, not sent here)
            leavers = _outsiders(ctx, chat, 1)
            chat.members.extend(leavers)
        users = ctx.rand.sample(leavers, 1 if len(leavers) < 3 or ctx.rand.chance(0.85) else 2)
    op = person_param(ctx, "operator") or ctx.operator
    if op is None:  # left on their own, or removed by the owner
        op = users[0] if len(users) == 1 and ctx.rand.chance(0.6) else chat.owner
    gone = {u.key for u in users}
    chat.members[:] = [p for p in chat.members if p.key not in gone]
    return chat_body(ctx, chat, op, users)


def user_withdrawn(ctx: GenContext) -> dict[str, Any]:
    """An invitation was withdrawn before the invited users joined: they are not members, before or after."""
    w = world(ctx)
    chat = group_of(ctx, w)
    users = people_param(ctx, "users") or _outsiders(ctx, chat, ctx.rand.choice((1, 1, 2)))
    op = operator_of(ctx, chat)
    return chat_body(ctx, chat, op, users)


GENERATORS: dict[str, tuple[Generator, str]] = {
    "im.chat.member.bot.added_v1": (bot_added, "the bot was added to a group (机器人进群)"),
    "im.chat.member.bot.deleted_v1": (bot_deleted, "the bot was removed from a group (机器人被移出群)"),
    "im.chat.member.user.added_v1": (user_added, "users joined a group (用户进群)"),
    "im.chat.member.user.deleted_v1": (user_deleted, "users left or were removed from a group (用户出群)"),
    "im.chat.member.user.withdrawn_v1": (user_withdrawn, "an invitation into a group was withdrawn (撤销拉用户进群)"),
}

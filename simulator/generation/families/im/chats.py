"""Chat-level events: settings changed, a group disbanded, a user opening their p2p chat with the bot.

- ``im.chat.updated_v1``: one change per event -- a rename, a new description or avatar, an owner
  transfer, a permission, the chat mode, restricted mode, or who may speak (then ``moderator_list``, whose
  ``added_member_list`` always holds the owner, per the doc). ``before_change`` / ``after_change`` carry
  the changed fields only (the doc example shows every field; which ones the platform sends for a single
  change is undocumented -- an assumption). Params: ``chat``, ``operator``, ``change`` (one of
  ``CHANGES``), ``successors`` (the members an owner transfer may hand the group to, default any member:
  a scenario passes those who stay in the group to its end, so that the owner never leaves; when none
  but the owner is one, a drawn change is not a transfer). The world's chat is updated (its name, owner,
  settings).
- ``im.chat.disbanded_v1``: params ``chat``, ``operator`` (default the owner); the chat is marked
  disbanded and no later event of the run uses it.
- ``im.chat.access_event.bot_p2p_chat_entered_v1``: params ``operator`` (who opened the chat). The chat
  is their p2p chat with the bot; ``last_message_*`` name its latest message (not recalled) when there is
  one.
"""

from __future__ import annotations

from typing import Any

from simulator.errors import ConfigError
from simulator.generation.catalog._base import GenContext
from simulator.generation.families.im.ids import image_key, person_ids
from simulator.generation.families.im.members import chat_body, group_of, head, operator_of
from simulator.generation.families.im.messages import past_message
from simulator.generation.families.im.scene import now_ms, people_param, person_param, tenant_of, world
from simulator.generation.families.im.vocab import vocab
from simulator.generation.families.im.world import Chat
from simulator.generation.population import Person

CHANGES = ("name", "description", "avatar", "owner", "permission", "group_message_type", "restricted_mode",
           "moderation")
_CHANGE_WEIGHTS = ("name",) * 6 + ("description",) * 3 + ("avatar",) * 2 + ("owner",) * 2 + ("permission",) * 5 \
    + ("group_message_type", "restricted_mode", "moderation")
# Permission settings and the values they take (common.schema.json#/$defs/chat_change).
_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "add_member_permission": ("all_members", "only_owner"),
    "at_all_permission": ("all_members", "only_owner"),
    "edit_permission": ("all_members", "only_owner"),
    "share_card_permission": ("allowed", "not_allowed"),
    "membership_approval": ("no_approval_required", "approval_required"),
    "join_message_visibility": ("all_members", "only_owner", "not_anyone"),
    "leave_message_visibility": ("all_members", "only_owner", "not_anyone"),
}


def settings(ctx: GenContext, chat: Chat) -> dict[str, Any]:
    """The chat's current settings (defaults of a new group on first use)."""
    s = chat.settings
    if not s:
        s.update({"avatar": f"default-avatar_{ctx.rand.uuid()}", "group_message_type": "chat",
                  "moderation_permission": "all_members",
                  "restricted_mode_setting": {"status": False, "screenshot_has_permission_setting": "all_members",
                                              "download_has_permission_setting": "all_members",
                                              "message_has_permission_setting": "all_members"}})
        s.update({k: v[0] for k, v in _PERMISSIONS.items()})
        s["at_all_permission"] = "only_owner" if len(chat.members) > 20 else "all_members"
    return s


Change = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]  # (before, after, extra body keys)


def _name(ctx: GenContext, chat: Chat, s: dict[str, Any]) -> Change:
    before = {"name": chat.name, "i18n_names": chat.i18n_names()}
    while chat.name == before["name"]:
        world(ctx).rename(chat)
    return before, {"name": chat.name, "i18n_names": chat.i18n_names()}, {}


def _description(ctx: GenContext, chat: Chat, s: dict[str, Any]) -> Change:
    before = {"description": chat.description}
    while chat.description == before["description"]:
        chat.description = ctx.rand.choice(vocab(ctx).texts)
    return before, {"description": chat.description}, {}


def _avatar(ctx: GenContext, chat: Chat, s: dict[str, Any]) -> Change:
    before = {"avatar": s["avatar"]}
    s["avatar"] = image_key(ctx.rand)
    return before, {"avatar": s["avatar"]}, {}


def _heirs(ctx: GenContext, chat: Chat) -> list[Person] | None:
    """The people an owner transfer may hand ``chat`` to (param ``successors``, besides the owner); None: any."""
    pool = people_param(ctx, "successors")
    return None if pool is None else [p for p in pool if p.key != chat.owner.key]


def _owner(ctx: GenContext, chat: Chat, s: dict[str, Any]) -> Change:
    heirs = _heirs(ctx, chat)
    if heirs == []:
        raise ConfigError("param successors: nobody besides the owner to hand the group to")
    if heirs is None:
        heirs = [p for p in chat.members if p.key != chat.owner.key] or [ctx.population.pick(ctx.rand, staff=True)]
    before = {"owner_id": person_ids(chat.owner, ctx.app_id)}
    chat.owner = ctx.rand.choice(heirs)
    if not chat.has(chat.owner):
        chat.members.append(chat.owner)
    return before, {"owner_id": person_ids(chat.owner, ctx.app_id)}, {}


def _permission(ctx: GenContext, chat: Chat, s: dict[str, Any]) -> Change:
    key = ctx.rand.choice(tuple(_PERMISSIONS))
    old = s[key]
    s[key] = ctx.rand.choice([v for v in _PERMISSIONS[key] if v != old])
    return {key: old}, {key: s[key]}, {}


def _group_message_type(ctx: GenContext, chat: Chat, s: dict[str, Any]) -> Change:
    old = s["group_message_type"]
    s["group_message_type"] = "thread" if old == "chat" else "chat"
    return {"group_message_type": old}, {"group_message_type": s["group_message_type"]}, {}


def _restricted_mode(ctx: GenContext, chat: Chat, s: dict[str, Any]) -> Change:
    old = dict(s["restricted_mode_setting"])
    on = not old["status"]
    value = "not_anyone" if on else "all_members"
    s["restricted_mode_setting"] = {"status": on, "screenshot_has_permission_setting": value,
                                    "download_has_permission_setting": value,
                                    "message_has_permission_setting": value}
    return {"restricted_mode_setting": old}, {"restricted_mode_setting": dict(s["restricted_mode_setting"])}, {}


def _moderation(ctx: GenContext, chat: Chat, s: dict[str, Any]) -> Change:
    """Only a chosen list may speak (the owner always on it), or everyone again."""
    old = s["moderation_permission"]
    tenant = tenant_of(ctx)

    def entries(people: list[Any]) -> list[dict[str, Any]]:
        return [{"tenant_key": tenant, "user_id": person_ids(p, ctx.app_id)} for p in people]

    if old == "moderator_list":  # everyone may speak again: the listed speakers other than the owner go
        s["moderation_permission"] = "all_members"
        extra = {"moderator_list": {"added_member_list": [], "removed_member_list": entries(s.pop("moderators", []))}}
    else:
        others = [p for p in chat.members if p.key != chat.owner.key]
        s["moderators"] = ctx.rand.sample(others, min(2, len(others)))
        s["moderation_permission"] = "moderator_list"
        extra = {"moderator_list": {"added_member_list": entries([chat.owner, *s["moderators"]]),
                                    "removed_member_list": []}}
    return {"moderation_permission": old}, {"moderation_permission": s["moderation_permission"]}, extra


_CHANGERS = {"name": _name, "description": _description, "avatar": _avatar, "owner": _owner,
             "permission": _permission, "group_message_type": _group_message_type,
             "restricted_mode": _restricted_mode}


def _change(ctx: GenContext, chat: Chat, change: str) -> Change:
    """(before, after, extra body keys) for one change, applied to the world's chat."""
    return _CHANGERS.get(change, _moderation)(ctx, chat, settings(ctx, chat))


def updated(ctx: GenContext) -> dict[str, Any]:
    w = world(ctx)
    chat = group_of(ctx, w)
    change = ctx.params.get("change") or ctx.rand.choice(_CHANGE_WEIGHTS)
    if change == "owner" and not ctx.params.get("change") and _heirs(ctx, chat) == []:
        change = ctx.rand.choice([c for c in _CHANGE_WEIGHTS if c != "owner"])  # nobody to hand it to
    if change not in CHANGES:
        raise ConfigError(f"param change={change!r}: expected one of {', '.join(CHANGES)}")
    op = operator_of(ctx, chat, owner_share=0.8)
    if change == "owner":
        op = chat.owner  # only the owner transfers ownership
    before, after, extra = _change(ctx, chat, change)
    for side in (before, after):
        if side.get("i18n_names") == {}:
            del side["i18n_names"]
    ctx.scene["chat"] = chat
    return {**head(ctx, chat, op), "after_change": after, "before_change": before, **extra}


def disbanded(ctx: GenContext) -> dict[str, Any]:
    w = world(ctx)
    chat = group_of(ctx, w)
    op = operator_of(ctx, chat, owner_share=0.9)
    chat.disbanded = True
    return chat_body(ctx, chat, op)


def p2p_entered(ctx: GenContext) -> dict[str, Any]:
    w, now = world(ctx), now_ms(ctx)
    person = person_param(ctx, "operator") or ctx.operator or ctx.population.pick(ctx.rand, staff=True)
    chat = w.p2p_chat(person)
    body: dict[str, Any] = {"chat_id": chat.chat_id, "operator_id": person_ids(person, ctx.app_id)}
    seen = [m for m in w.recent_in(chat.chat_id) if m.create_time_ms < now and not m.recalled]
    if not seen and ctx.rand.chance(0.6):  # a returning user: the chat has history from before the run
        seen = [past_message(ctx, w, chat, sender=None if ctx.rand.chance(0.6) else person, before_ms=now)]
    if seen:
        last = max(seen, key=lambda m: m.create_time_ms)
        body["last_message_id"] = last.message_id
        body["last_message_create_time"] = str(last.create_time_ms)
    ctx.scene["chat"] = chat
    return body

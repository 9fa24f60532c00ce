"""``application.bot.menu_v6``: a user clicked an "event" item of the bot's custom menu.

The menu sits in the user's p2p chat with the bot, so the click also makes sure that chat exists in the
run's IM world (a reply to the click goes there). Params (each also read from ``GenContext.scene``):

- ``operator``: who clicked (``Person`` or id; ``GenContext.operator`` works too);
- ``event_key``: the item clicked; else one of ``menu`` (the menu's event keys), default ``MENU``;
- ``operator_name`` (bool, default True): send ``operator.operator_name`` (it needs the
  application:application.bot.operator_name:readonly scope).

``timestamp`` is the click time as a JSON **number** of milliseconds: the one int64 of these events that is
not a string. Its unit is unconfirmed (the doc example is in seconds, a newer fixture of the official CLI,
checked against a real click, in milliseconds); the schema accepts both, the generator sends ms.
"""

from __future__ import annotations

from typing import Any

from simulator.errors import ConfigError
from simulator.generation.catalog import register
from simulator.generation.catalog._base import EventSpec, GenContext
from simulator.generation.families.im.ids import person_ids
from simulator.generation.families.im.scene import now_ms, person_param, world

# A small bot menu: the event keys a developer sets on its items in the console.
MENU = ("help", "daily_report", "oncall_status", "submit_ticket", "my_todos", "settings")


def bot_menu(ctx: GenContext) -> dict[str, Any]:
    person = person_param(ctx, "operator") or ctx.operator or ctx.population.pick(ctx.rand, staff=True)
    world(ctx).p2p_chat(person)
    key = ctx.params.get("event_key")
    if key is None:
        key = ctx.rand.choice(tuple(ctx.params.get("menu") or MENU))
    if not isinstance(key, str) or not 1 <= len(key) <= 30:
        raise ConfigError(f"param event_key={key!r}: expected 1-30 characters")
    operator: dict[str, Any] = {}
    if ctx.params.get("operator_name", True):
        operator["operator_name"] = person.name
    operator["operator_id"] = person_ids(person, ctx.app_id)
    ctx.scene["operator"] = person
    return {"operator": operator, "event_key": key, "timestamp": now_ms(ctx) - ctx.rand.randint(20, 1500)}


register(EventSpec("application.bot.menu_v6", bot_menu, "a user clicked the bot's menu (机器人自定义菜单事件)",
                   family="application", sdk_register="register_p2_application_bot_menu_v6"))

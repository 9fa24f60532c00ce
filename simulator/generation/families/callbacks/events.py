"""Generators of the callback bodies: ``card.action.trigger`` and ``url.preview.get`` (docs/events.md#card-callbacks).

Both are synchronous callbacks (``EventSpec.callback``): never retried, and judged by their answer body.

``card.action.trigger``: a person of a chat clicks an interactive card the bot sent there (``world.py``):
``operator`` is that person (tenant population ids), ``token`` a fresh ``c-`` + 40 hex delayed-update token,
``action`` what the click on one of the card's components sends (``clicks.py``), ``host`` ``im_message`` and
``context`` the card message and its chat. ``GenContext.params``:

- ``tag``: click a component with this tag (``button``, ``overflow``, ``select_static``,
  ``multi_select_static``, ``multi_select_person``, ``date_picker``, ``picker_time``, ``picker_datetime``,
  ``input``, ``checker``, ``select_img``), or ``form`` for a form submit (``tag: button`` with ``form_value``);
- ``value``: the component's value as the app set it (an object, or a string: the doc allows one, the
  official SDKs cannot parse it).
- ``message``: the card clicked (a message id, or a ``Message``): an interactive message the bot sent, e.g.
  through the mock OpenAPI (docs/bots.md#a-card-bot) or in a chat scenario (a ``click`` step); by default a
  recent bot card, or a new one.
- ``operator``: who clicks (a ``Person``, or an open_id, union_id or user_id), a person of the card's chat;
  ``GenContext.operator`` when set; by default one of the chat's people.

``url.preview.get``: a person sends (or is typing) a message with a link matching the app's URL rules; every
viewer's client asks for the preview. ``params``: ``url`` (the link), ``temporary`` (True: typed in the
input box, not sent yet: no ``preview_token`` and empty message/chat ids, doc).
"""

from __future__ import annotations

import json
from typing import Any, Final

from simulator import constants as C
from simulator.errors import ConfigError
from simulator.generation.catalog import register
from simulator.generation.catalog._base import EventSpec, GenContext
from simulator.generation.families.callbacks.cards import CLICKABLE
from simulator.generation.families.callbacks.clicks import Clicker, action
from simulator.generation.families.callbacks.world import FORM, card_to_click, clickers, fits, operator_json
from simulator.generation.families.im.world import Message, world_of
from simulator.verdicts.answers import AnswerKind

FAMILY: Final = "callbacks"
HOST: Final = "im_message"
DOMAIN_KEY: Final = "callbacks.preview_domain"  # GenContext.world: the app's link domain for the run
TEMPORARY_SHARE: Final = 0.15  # previews asked for while the link is still being typed
_PATHS: Final = (("wiki", "/wiki/{a}"), ("docs", "/docs/{h}"), ("tickets", "/browse/OPS-{n}"),
                 ("crm", "/accounts/{n}"), ("dash", "/d/{a}/overview"), ("git", "/projects/{a}/merge_requests/{n}"))


def _tenant(ctx: GenContext) -> str:
    return ctx.tenant_key or C.DEFAULT_TENANT_KEY


def card_action_trigger(ctx: GenContext) -> dict[str, Any]:
    tag = ctx.params.get("tag")
    if tag is not None and tag != FORM and tag not in CLICKABLE:
        raise ConfigError(f"no generated card has a clickable {tag!r}; one of: "
                          f"{', '.join(sorted(CLICKABLE | {FORM}))}")
    chosen, person, _ = card_to_click(ctx, tag)
    r = ctx.rand
    target = r.choice(fits(chosen.targets, tag))
    zh = ctx.population.locale.lower().startswith("zh")
    who = Clicker(r, ctx.now, person, clickers(chosen.chat), ctx.app_id, r.faker(ctx.population.locale), zh)
    act = action(target, who)
    if "value" in ctx.params:
        act = {"value": ctx.params["value"], **{k: v for k, v in act.items() if k != "value"}}
    return {
        "operator": operator_json(person, ctx.app_id, _tenant(ctx)),
        "token": "c-" + r.hex(40),
        "action": act,
        "host": HOST,
        "context": {"open_message_id": chosen.message.message_id, "open_chat_id": chosen.chat.chat_id},
    }


def _domain(ctx: GenContext) -> str:
    found = ctx.world.get(DOMAIN_KEY)
    if not isinstance(found, str):
        found = ctx.world[DOMAIN_KEY] = str(ctx.rand.faker("en_US").domain_name())
    return found


def preview_url(ctx: GenContext) -> str:
    """A link of the app's domain, as its URL rules would match."""
    r = ctx.rand
    sub, path = r.choice(_PATHS)
    return f"https://{sub}.{_domain(ctx)}" + path.format(a=r.alnum(10, lower=True), h=r.hex(24),
                                                         n=r.randint(100, 99999))


def url_preview_get(ctx: GenContext) -> dict[str, Any]:
    r = ctx.rand
    world = world_of(ctx.world, r, ctx.population, ctx.app_id)
    url = str(ctx.params.get("url") or preview_url(ctx))
    temporary = bool(ctx.params.get("temporary", r.chance(TEMPORARY_SHARE)))
    if ctx.operator is not None:
        groups = [c for c in world.groups() if c.has(ctx.operator)]
        chat = r.choice(groups) if groups else world.p2p_chat(ctx.operator)
    else:
        chat = world.pick_group(r)
    people = clickers(chat)
    sender = ctx.operator or r.choice(people)
    if temporary:  # the sender's own client, before the message exists
        return {"operator": _preview_operator(sender, ctx), "host": HOST,
                "context": {"url": url, "open_message_id": "", "open_chat_id": ""}}
    sent_ms = int((ctx.now - r.uniform(0.2, 600.0)) * 1000)
    message = world.record(Message(world.new_message_id(), chat.chat_id, sent_ms, sender, "text",
                                   json.dumps({"text": url}, ensure_ascii=False)))
    ctx.scene["message"] = message
    ctx.scene["chat"] = chat
    viewer = sender if ctx.operator is not None or r.chance(0.4) else r.choice(people)
    return {"operator": _preview_operator(viewer, ctx), "host": HOST,
            "context": {"url": url, "preview_token": r.alnum(32), "open_message_id": message.message_id,
                        "open_chat_id": chat.chat_id}}


def _preview_operator(person: Any, ctx: GenContext) -> dict[str, Any]:
    """As the url.preview.get doc example: tenant_key, user_id, open_id (the SDK model also has union_id)."""
    op = operator_json(person, ctx.app_id, _tenant(ctx))
    del op["union_id"]
    return op


register(EventSpec("card.action.trigger", card_action_trigger,
                   "a person clicks, selects or submits on an interactive card the bot sent (callback)",
                   family=FAMILY, sdk_register="register_p2_card_action_trigger", callback=AnswerKind.CARD_ACTION))
register(EventSpec("url.preview.get", url_preview_get,
                   "a client asks for the preview of a link matching the app's URL rules (callback)",
                   family=FAMILY, sdk_register="register_p2_url_preview_get", callback=AnswerKind.URL_PREVIEW))

"""The bot's cards in the run's ``ImWorld``: which card a click lands on, and who clicks it.

A click targets an interactive message the bot sent (``Message.from_bot``, ``message_type ==
"interactive"``) in a chat that still exists, clicked by a person of that chat. The family keeps a bounded
index of recent bot cards under ``GenContext.world["callbacks.cards"]`` and also picks up bot cards that
others put in the world (the mock OpenAPI records what the app sends). Most clicks land on a recent card
(people click what they just got, and click some cards several times); when none fits, the bot "sends" a
new card first: it is recorded in the world like any message, so later events can refer to it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final

from simulator.errors import ConfigError
from simulator.generation.catalog import GenContext
from simulator.generation.families.callbacks.cards import new_card
from simulator.generation.families.callbacks.clicks import Target, targets
from simulator.generation.families.im.scene import person_param
from simulator.generation.families.im.world import Chat, ImWorld, Message, world_of
from simulator.generation.population import Person
from simulator.rand import SimRandom

CARD_INDEX: Final = "callbacks.cards"  # GenContext.world key of the index
RECENT: Final = 256  # bot cards the index remembers
SCAN: Final = 64  # newest world messages looked at for bot cards the index does not know yet
REUSE: Final = 0.75  # chance that a click lands on a card already in the world
RECENT_CHOICE: Final = 32  # a reused card is one of the newest this many that fit
FORM: Final = "form"  # a ``tag`` wish meaning "a form submit"


@dataclass(frozen=True)
class CardInChat:
    message: Message
    chat: Chat
    targets: tuple[Target, ...]


def _index(ctx: GenContext) -> OrderedDict[str, tuple[Target, ...]]:
    found = ctx.world.get(CARD_INDEX)
    if not isinstance(found, OrderedDict):
        found = ctx.world[CARD_INDEX] = OrderedDict()
    return found


def _remember(index: OrderedDict[str, tuple[Target, ...]], message: Message) -> tuple[Target, ...]:
    known = index.get(message.message_id)
    if known is None:
        try:
            card = json.loads(message.content)
        except ValueError:
            card = None
        known = index[message.message_id] = tuple(targets(card))
        while len(index) > RECENT:
            index.popitem(last=False)
    return known


def fits(targets_: tuple[Target, ...], tag: str | None) -> list[Target]:
    """The targets a click may use: all, or those of the wished ``tag`` (``form``: a form submit)."""
    if tag is None:
        return list(targets_)
    if tag == FORM:
        return [t for t in targets_ if t.form is not None]
    return [t for t in targets_ if t.tag == tag]


def clickers(chat: Chat) -> list[Person]:
    """Who can click a card in ``chat``: its people who are Feishu users (not rooms, phones or bots)."""
    people = [p for p in chat.members if p.user_type == 1]
    return people or [chat.owner]


def _usable(world: ImWorld, message: Message, operator: Person | None) -> Chat | None:
    chat = world.chat(message.chat_id)
    if chat is None or chat.disbanded or message.recalled or world.message(message.message_id) is None:
        return None
    if operator is not None and not chat.has(operator):
        return None
    return chat


def existing_card(ctx: GenContext, world: ImWorld, operator: Person | None, tag: str | None) -> CardInChat | None:
    """A recent bot card in the world that ``operator`` (if given) can see and that has a ``tag`` target."""
    index = _index(ctx)
    for m in islice(reversed(world.messages.values()), SCAN):
        if m.from_bot and m.message_type == "interactive":
            _remember(index, m)
    candidates: list[CardInChat] = []
    for message_id, found in reversed(index.items()):  # the newest first, at most RECENT_CHOICE of them
        message = world.message(message_id)
        chat = None if message is None else _usable(world, message, operator)
        if message is not None and chat is not None and fits(found, tag):
            candidates.append(CardInChat(message, chat, found))
            if len(candidates) == RECENT_CHOICE:
                break
    return ctx.rand.choice(candidates[::-1]) if candidates else None


def send_card(ctx: GenContext, world: ImWorld, operator: Person | None, tag: str | None) -> CardInChat:
    """The bot sends a new card (to a chat of ``operator`` when given) a few seconds to two hours ago."""
    r: SimRandom = ctx.rand
    if operator is not None:
        groups = [c for c in world.groups() if c.has(operator)]
        chat = r.choice(groups) if groups and r.chance(0.5) else world.p2p_chat(operator)
    elif r.chance(0.65):
        chat = world.pick_group(r)
    else:
        chat = world.p2p_chat(ctx.population.pick(r, staff=True))
    wish = None if tag is None else ("form" if tag == FORM else tag)
    card = new_card(r, ctx.population.locale, chat.members, needs=wish)
    content = json.dumps(card, ensure_ascii=False, separators=(",", ":"))
    sent_ms = int((ctx.now - r.uniform(5.0, 7200.0)) * 1000)
    message = world.record(Message(world.new_message_id(), chat.chat_id, sent_ms, None, "interactive", content))
    found = _remember(_index(ctx), message)
    return CardInChat(message, chat, found)


def asked_card(ctx: GenContext, world: ImWorld, operator: Person | None, tag: str | None) -> CardInChat | None:
    """The card ``params["message"]`` names (a message id or a ``Message``): a card the bot sent, in a chat
    ``operator`` can see, with a ``tag`` target; ``ConfigError`` saying which of these it is not."""
    asked = ctx.params.get("message")
    if asked is None:
        return None
    message_id = asked.message_id if isinstance(asked, Message) else str(asked)
    message = world.message(message_id)
    if message is None or not message.from_bot or message.message_type != "interactive":
        raise ConfigError(f"param message={message_id}: not an interactive card the bot sent (that the world knows)")
    chat = _usable(world, message, operator)
    found = _remember(_index(ctx), message)
    if chat is None or not fits(found, tag):
        why = "its chat is gone or the clicker is not in it" if chat is None else f"it has no clickable {tag!r}"
        raise ConfigError(f"param message={message_id}: cannot be clicked ({why})")
    return CardInChat(message, chat, found)


def card_to_click(ctx: GenContext, tag: str | None = None) -> tuple[CardInChat, Person, ImWorld]:
    """The card a click lands on (``params["message"]``; the scene's ``message`` when it is a bot card; a recent
    one, or a new one), and who clicks it (``ctx.operator``, else ``params["operator"]``, when given)."""
    world = world_of(ctx.world, ctx.rand, ctx.population, ctx.app_id)
    operator = ctx.operator or person_param(ctx, "operator")
    chosen = asked_card(ctx, world, operator, tag)
    scene = ctx.scene.get("message")
    if chosen is None and isinstance(scene, Message) and scene.from_bot and scene.message_type == "interactive":
        chat = _usable(world, scene, operator)
        found = _remember(_index(ctx), scene)
        if chat is not None and fits(found, tag):
            chosen = CardInChat(scene, chat, found)
    if chosen is None and ctx.rand.chance(REUSE):
        chosen = existing_card(ctx, world, operator, tag)
    if chosen is None or not fits(chosen.targets, tag):
        chosen = send_card(ctx, world, operator, tag)
    person = operator if operator is not None else ctx.rand.choice(clickers(chosen.chat))
    ctx.scene["message"] = chosen.message
    ctx.scene["chat"] = chosen.chat
    return chosen, person, world


def operator_json(person: Person, app_id: str, tenant_key: str) -> dict[str, Any]:
    """``{tenant_key, user_id, open_id, union_id}`` (CallBackOperator; user_id needs the user-ID scope, which
    the simulated app has)."""
    return {"tenant_key": tenant_key, "user_id": person.user_id, "open_id": person.open_id(app_id),
            "union_id": person.union_id}

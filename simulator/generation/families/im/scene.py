"""What an IM generator takes from its caller: the run's world, and the chat, people and message a
scenario or a test names through ``GenContext.scene`` / ``GenContext.params``.

A value may be the world object itself (a ``Chat``, ``Person``, ``Message``) or its id: a chat id
(``oc_...``), a person's open_id (for this app), union_id or user_id, a message id (``om_...``). An id the
world does not know is a ``ConfigError`` naming the param, never a silently invented object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from simulator import constants as C
from simulator.errors import ConfigError
from simulator.generation.catalog._base import GenContext
from simulator.generation.families.im.world import Chat, ImWorld, Message, world_of
from simulator.generation.population import Person

T = TypeVar("T")


def world(ctx: GenContext) -> ImWorld:
    return world_of(ctx.world, ctx.rand, ctx.population, ctx.app_id)


def now_ms(ctx: GenContext) -> int:
    """The envelope's ``create_time`` in ms: the latest time a body may name."""
    return int(ctx.now * 1000)


def tenant_of(ctx: GenContext) -> str:
    return ctx.tenant_key or C.DEFAULT_TENANT_KEY


def _given(ctx: GenContext, name: str) -> Any:
    value = ctx.params.get(name)
    return ctx.scene.get(name) if value is None else value


def _find_person(ctx: GenContext, value: object) -> Person | None:
    """The tenant person whose open_id (for this app), union_id or user_id is ``value``."""
    return world(ctx).person(open_id=str(value), union_id=str(value), user_id=str(value))


def person_param(ctx: GenContext, name: str) -> Person | None:
    """``params[name]`` (or ``scene[name]``) as a tenant ``Person``; None when not given."""
    value = _given(ctx, name)
    if value is None or isinstance(value, Person):
        return value
    found = _find_person(ctx, value)
    if found is None:
        raise ConfigError(f"param {name}={value!r}: no such person in the tenant")
    return found


def people_param(ctx: GenContext, name: str) -> list[Person] | None:
    value = _given(ctx, name)
    if value is None:
        return None
    if isinstance(value, (Person, str)):
        value = [value]
    out = []
    for item in value:
        p = item if isinstance(item, Person) else _find_person(ctx, item)
        if p is None:
            raise ConfigError(f"param {name}: no person {item!r} in the tenant")
        out.append(p)
    return out


def _world_param(ctx: GenContext, name: str, kind: type[T], adopt: Callable[[ImWorld, T], T],
                 find: Callable[[ImWorld, str], T | None], missing: str) -> T | None:
    """``params[name]`` / ``scene[name]`` as the world's ``kind``: an object of it goes through ``adopt``, an id
    through ``find``; an unknown id is a ``ConfigError`` (``missing`` says what there is not)."""
    value = _given(ctx, name)
    if value is None:
        return None
    w = world(ctx)
    if isinstance(value, kind):
        return adopt(w, value)
    found = find(w, str(value))
    if found is None:
        raise ConfigError(f"param {name}={value!r}: {missing}")
    return found


def chat_param(ctx: GenContext, name: str = "chat") -> Chat | None:
    """The chat named by ``params[name]`` / ``scene[name]`` (a ``Chat`` joins the world if new)."""
    return _world_param(ctx, name, Chat, lambda w, chat: w.chats.setdefault(chat.chat_id, chat), ImWorld.chat,
                        "no such chat in this run")


def message_param(ctx: GenContext, name: str) -> Message | None:
    """The message named by ``params[name]`` / ``scene[name]`` (a ``Message`` is recorded if new)."""
    return _world_param(ctx, name, Message, lambda w, m: m if w.message(m.message_id) is m else w.record(m),
                        ImWorld.message, "no such message in this run (or forgotten)")


def flag(ctx: GenContext, name: str) -> bool | None:
    value = _given(ctx, name)
    return None if value is None else bool(value)

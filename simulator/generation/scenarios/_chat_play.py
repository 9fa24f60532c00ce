"""Realising a checked chat scenario: one chat of the run's ``ImWorld``, its people, its messages, in time order.

Driven by one ``SimRandom`` so that the same seed gives the same sequence:

1. timing, as for a meeting: each step's start = the end of its anchor's window + a drawn delay, its events
   in [start, start + spread]; then whole milliseconds, strictly increasing (two events never share an
   instant, so a reply is always later than what it replies to);
2. the cast: each label a distinct Feishu user of the tenant (chat members are users), a crowd a group of
   them; the chat: the user's p2p chat with the bot, or a new group with the owner and first members;
3. playing the steps in time order through the IM family's generators, which keep the world up to date
   (members, reactions, recalls, reads): each event's body times are a moment before its envelope's
   ``create_time`` and never before the previous event's (``not_before_ms``). Targets are drawn from what the
   steps sent so far: a reaction, recall or reply names a message of its ``on`` / ``reply_to`` step that is
   not recalled, a read receipt the bot's messages not read yet, a click a card of its ``on`` step (else the
   bot's latest card). The bot's cards (``bot_message`` steps of message_type interactive) are card JSON as
   the bot sends it (``families.callbacks.cards``), with the components the clicks on them ask for, so that
   ``card.action.trigger`` finds them clickable. An owner transfer hands the group to a
   member who stays to the end (no later step removes them), so that the owner -- the default operator --
   never leaves, as ``_chat_check`` assumes.

One method per action (``on_<action>``), each returning the params of its event (or None for a step that
sends none), so a new chat step is a schema entry, a vocabulary entry, its checks and one method here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.generation import catalog
from simulator.generation.catalog import GenContext
from simulator.generation.factory import EventFactory
from simulator.generation.families.callbacks.cards import new_card
from simulator.generation.families.im.content import MENTIONABLE_TYPE
from simulator.generation.families.im.ids import EMOJI_TYPES
from simulator.generation.families.im.messages import bot_message
from simulator.generation.families.im.world import Chat, ImWorld, Message, world_of
from simulator.generation.population import Person, Population
from simulator.generation.scenarios._chat_check import CARD
from simulator.generation.scenarios._model import ChatTable, Scenario, Span, Step
from simulator.generation.scenarios._timeline import Plan
from simulator.rand import SimRandom

RECENT = 20  # a reaction or reply without a named target picks among the chat's latest messages


@dataclass(order=True)
class _Slot:
    time: float  # seconds from the scenario start
    rank: int
    seq: int
    step: Step = field(compare=False)
    index: int = field(compare=False)  # the event's index within its step


@dataclass
class _Reaction:
    message: Message
    emoji: str
    who: Person
    taken_back: bool = False


def _draw(r: SimRandom, span: Span) -> float:
    return span.lo if span.hi == span.lo else r.uniform(span.lo, span.hi)


def timing(plan: Plan, r: SimRandom) -> list[_Slot]:
    """Every step's events, relative to the scenario start, in time order."""
    end_of: dict[str, float] = {}
    slots: list[_Slot] = []
    for s in plan.order:
        anchor = plan.anchor[s.id]
        t0 = 0.0 if anchor is None else end_of[anchor]
        if s.at is not None:
            t0 += _draw(r, s.at)
        t0 += _draw(r, s.delay)
        n = s.count if s.count is not None else 1
        times = sorted(t0 + (r.uniform(0, s.spread) if s.spread > 0 else 0.0) for _ in range(n))
        end_of[s.id] = t0 + s.spread
        slots += [_Slot(t, plan.rank[s.id], len(slots) + i, s, i) for i, t in enumerate(times)]
    return sorted(slots)


def instants(slots: list[_Slot], *, origin: float) -> list[int]:
    """Each slot's time in whole ms, strictly increasing."""
    out: list[int] = []
    for slot in slots:
        ms = round((origin + slot.time) * 1000)
        out.append(ms if not out or ms > out[-1] else out[-1] + 1)
    return out


def play(sc: Scenario, plan: Plan, factory: EventFactory, rand: SimRandom, *, start: float | None,
         end: float | None, longconn: bool) -> list[dict[str, Any]]:
    """The scenario's envelopes in time order (``start`` / ``end`` as for a meeting: see ``_play.play``)."""
    slots = timing(plan, rand.fork("timing"))
    sends = [s.time for s in slots if s.step.event_type is not None]
    if start is None:
        start = (end - max(sends)) if end is not None else factory.clock.now()
    ms = instants(slots, origin=start)
    if end is not None:  # the bumps to whole, distinct ms never push the last event past ``end``
        late = max(m for m, s in zip(ms, slots, strict=True) if s.step.event_type is not None) - int(end * 1000)
        ms = [m - max(late, 0) for m in ms]
    player = _Player(sc, factory, rand, longconn=longconn)
    player.last_leave = {n: x for x in slots if x.step.action == "user_deleted" for n in x.step.who}
    for slot, t in zip(slots, ms, strict=True):
        player.play(slot, t)
    return player.out


def cast(sc: Scenario, factory: EventFactory, r: SimRandom) -> tuple[dict[str, Person], dict[str, list[Person]]]:
    """Labels bound to distinct Feishu users of the tenant (a bigger tenant when it is too small)."""
    need = len(sc.named) + sum(sc.crowds.values())
    staff = factory.population.staff
    if len(staff) < need:
        staff = Population(r.fork("population"), locale=factory.locale, size=2 * need + 32).staff
    picks = r.sample(staff, need)
    named = dict(zip(sc.named, picks, strict=False))
    crowds: dict[str, list[Person]] = {}
    at = len(sc.named)
    for name, n in sc.crowds.items():
        crowds[name] = picks[at:at + n]
        at += n
    return named, crowds


class _Player:
    def __init__(self, sc: Scenario, factory: EventFactory, rand: SimRandom, *, longconn: bool) -> None:
        assert sc.chat is not None
        self.sc, self.table, self.factory, self.longconn = sc, sc.chat, factory, longconn
        self.named, self.crowds = cast(sc, factory, rand.fork("people"))
        self.r = rand.fork("data")
        self.world: ImWorld = world_of(factory.world, self.r, factory.population, factory.app.app_id)
        self.chat = self._chat(self.table)
        self.sent: dict[str, list[Message]] = {}  # message / bot_message step id -> its messages
        self.recent: list[Message] = []  # this run's messages, in time order
        self.reactions: dict[str, list[_Reaction]] = {}
        self.floor = 0  # the previous instant (ms): no body time goes before it
        self.last_leave: dict[str, _Slot] = {}  # named label -> its last user_deleted event
        self.out: list[dict[str, Any]] = []

    def _chat(self, table: ChatTable) -> Chat:
        if table.p2p:
            assert table.user is not None
            return self.world.p2p_chat(self.named[table.user])
        assert table.owner is not None
        bot_later = any(s.action == "bot_added" for s in self.sc.steps)
        chat = self.world.new_group(size=2, name=table.name or "", bot_member=not bot_later)
        chat.owner = self.named[table.owner]
        chat.members = [chat.owner, *self.people(table.members)]
        chat.external = table.external
        return chat

    def people(self, labels: tuple[str, ...]) -> list[Person]:
        return [p for n in labels for p in (self.crowds[n] if n in self.crowds else [self.named[n]])]

    def ctx(self, t: int, params: dict[str, Any]) -> GenContext:
        # The middle of the millisecond, so that every int(now * 1000) is ``t`` whatever the float rounding.
        return GenContext(rand=self.r, population=self.factory.population, app_id=self.factory.app.app_id,
                          now=(t + 0.5) / 1000, tenant_key=self.factory.app.tenant_key, params=params,
                          world=self.factory.world)

    def play(self, slot: _Slot, t: int) -> None:
        s = slot.step
        params = getattr(self, "on_" + s.action)(slot, t)
        event_type = s.event_type
        if params is not None and event_type is not None:
            params = {k: v for k, v in params.items() if v is not None}
            params["not_before_ms"] = self.floor
            ctx = self.ctx(t, params)
            body = catalog.get(event_type).generate(ctx)
            self.out.append(self.factory.wrap(event_type, body, now=ctx.now, longconn=self.longconn))
            self.after(s, ctx.scene.get("message"))
        self.floor = t

    def after(self, s: Step, message: Any) -> None:
        if s.action == "message" and isinstance(message, Message):
            self.sent.setdefault(s.id, []).append(message)
            self.recent.append(message)

    # -- who ---------------------------------------------------------------------------------------------
    def someone(self, label: str | None) -> Person:
        """A named person, one of a crowd, or (no label) the p2p user / any member of the group."""
        if label is not None and label in self.crowds:
            return self.r.choice(self.crowds[label])
        if label is not None:
            return self.named[label]
        return self.chat.owner if self.table.p2p else self.r.choice(self.chat.members)

    def operator(self, s: Step) -> Person:
        """``by``, else the owner (the p2p user)."""
        return self.named[s.by] if s.by is not None else self.chat.owner

    # -- targets -----------------------------------------------------------------------------------------
    def live(self, messages: list[Message]) -> list[Message]:
        return [m for m in messages if not m.recalled]

    def reply_target(self, s: Step, t: int) -> Message | None:
        k = s.keys
        if k.reply_to is not None:
            return self.r.choice(self.live(self.sent[k.reply_to]))
        if k.replies > 0 and self.r.random.random() < k.replies:
            pool = self.live([m for m in self.world.recent_in(self.chat.chat_id, RECENT) if m.create_time_ms < t])
            if pool:
                return self.r.choice(pool)
        return None

    def message_type(self, s: Step, i: int, *, ats: bool) -> str | None:
        types = s.keys.message_types
        if types:
            return types[i % len(types)]
        return self.r.choice(MENTIONABLE_TYPE) if ats else None

    # -- steps -------------------------------------------------------------------------------------------
    def on_message(self, slot: _Slot, t: int) -> dict[str, Any]:
        s, k = slot.step, slot.step.keys
        group = not self.table.p2p
        mention_bot = k.mention_bot if k.mention_bot is not None else group and not self.table.group_msg_scope
        return {"chat": self.chat, "sender": self.someone(s.by), "group_msg_scope": self.table.group_msg_scope,
                "message_type": self.message_type(s, slot.index, ats=mention_bot or bool(k.mentions)),
                "text": k.text, "mention_bot": mention_bot,
                "mentions": [self.named[n] for n in k.mentions] if k.mentions else None,
                "reply_to": self.reply_target(s, t) or False, "thread": k.thread}

    def on_bot_message(self, slot: _Slot, t: int) -> None:
        s, k = slot.step, slot.step.keys
        kind = k.message_types[slot.index % len(k.message_types)] if k.message_types else "text"
        card = None
        if kind == CARD:  # what its clicks ask for: components other than buttons (every card has one)
            wanted = {c.keys.tag for c in self.sc.steps if c.action == "click" and c.keys.on[:1] == (s.id,)}
            card = new_card(self.r, self.factory.population.locale, self.chat.members,
                            needs=[str(x) for x in wanted - {None, "button"}])
        m = bot_message(self.ctx(t, {}), self.world, self.chat, message_type=kind, text=k.text,
                        reply_to=self.reply_target(s, t), thread=k.thread, card=card)
        self.sent.setdefault(s.id, []).append(m)
        self.recent.append(m)

    def on_click(self, slot: _Slot, t: int) -> dict[str, Any]:
        s, k = slot.step, slot.step.keys
        pool = self.sent[k.on[0]] if k.on else self.recent
        card = self.r.choice(self.cards(pool)) if k.on else self.cards(pool)[-1]
        return {"message": card, "operator": self.someone(s.by), "tag": k.tag or "button", "value": k.value}

    def cards(self, messages: list[Message]) -> list[Message]:
        return [m for m in messages if m.from_bot and m.message_type == CARD]

    def on_reaction_created(self, slot: _Slot, t: int) -> dict[str, Any]:
        s, k = slot.step, slot.step.keys
        pool = self.live(self.sent[k.on[0]] if k.on else self.recent[-RECENT:]) or self.live(self.recent)
        m = self.r.choice(pool)
        who = self.someone(s.by)
        emoji = k.emoji or self.r.choice(EMOJI_TYPES)
        if (emoji, who.key) in m.reactions:  # a person shows an emoji once on a message
            emoji = self.r.choice([e for e in dict.fromkeys(EMOJI_TYPES) if (e, who.key) not in m.reactions])
        self.reactions.setdefault(s.id, []).append(_Reaction(m, emoji, who))
        return {"message": m, "operator": who, "operator_type": "user", "emoji_type": emoji}

    def on_reaction_deleted(self, slot: _Slot, t: int) -> dict[str, Any]:
        x = self.r.choice([x for x in self.reactions[slot.step.keys.on[0]] if not x.taken_back])
        x.taken_back = True
        return {"message": x.message, "operator": x.who, "operator_type": "user", "emoji_type": x.emoji}

    def on_message_read(self, slot: _Slot, t: int) -> dict[str, Any]:
        on = slot.step.keys.on
        read = [m for b in on for m in self.sent[b]] if on else [m for m in self.recent if m.from_bot and not m.read]
        return {"reader": self.chat.owner, "messages": read}

    def on_recalled(self, slot: _Slot, t: int) -> dict[str, Any]:
        k = slot.step.keys
        return {"message": self.r.choice(self.live(self.sent[k.on[0]])), "recall_type": k.recall_type}

    def on_p2p_chat_entered(self, slot: _Slot, t: int) -> dict[str, Any]:
        return {"operator": self.chat.owner}

    def on_bot_added(self, slot: _Slot, t: int) -> dict[str, Any]:
        return {"chat": self.chat, "operator": self.operator(slot.step)}

    on_bot_deleted = on_chat_disbanded = on_bot_added

    def on_chat_updated(self, slot: _Slot, t: int) -> dict[str, Any]:
        leave = {self.named[n].key for n, x in self.last_leave.items() if x > slot}
        return {"chat": self.chat, "operator": self.operator(slot.step), "change": slot.step.keys.change,
                "successors": [p for p in self.chat.members if p.key not in leave]}

    def on_user_added(self, slot: _Slot, t: int) -> dict[str, Any]:
        return {"chat": self.chat, "users": self.people(slot.step.who), "operator": self.operator(slot.step)}

    on_user_withdrawn = on_user_added

    def on_user_deleted(self, slot: _Slot, t: int) -> dict[str, Any]:
        s = slot.step
        by = s.by if s.by is not None else s.who[0] if len(s.who) == 1 else None
        return {"chat": self.chat, "users": self.people(s.who), "operator": self.operator(s) if by is None
                else self.named[by]}

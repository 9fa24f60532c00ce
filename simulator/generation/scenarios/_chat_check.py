"""Static checks of a chat scenario: coherent for EVERY seed, in ``_check``'s terms ("surely before": for
every draw of the delays, every event of one step comes before every event of the other).

- the step fits the chat: membership, settings and the end are a group's; ``p2p_chat_entered`` and
  ``message_read`` (the user read the bot's messages) are a p2p chat's; in a p2p chat only its user acts
  and nobody is @-ed; at least one step sends an event;
- the bot receives nothing from a group it is not in: every step is surely after ``bot_added`` and surely
  before ``bot_deleted`` / ``chat_disbanded`` (at most one of each);
- members: each named person's ``user_added`` / ``user_deleted`` alternate from their first state (in the
  chat from the start or not), each surely ordered; the owner stays; whoever acts (``by``) and whoever is
  @-ed is surely in the chat at that step, and a withdrawn invitation is for someone surely not in it;
- the owner: the default operator of a group step, so always in the group. ``[chat] owner`` never leaves,
  and an owner transfer (made by the owner) hands the group to a member who stays to the end (the play
  draws one among the members no later step removes: ``_chat_play``), of whom one besides the owner must
  surely exist: a crowd among the first members, or a named member surely in and removed by no later step.
  The play and this model agree on who is in the group at every step, so whoever acts is in it;
- without ``group_msg_scope`` only messages that @ the bot reach it in a group, so they @ it and are text or
  post (the types that can @);
- targets: a reaction, a recall or a reply names (``on``, ``reply_to``) a step of the right kind that is
  surely before it, with a message not recalled by then (recalls never exceed the messages); a reaction
  without ``on`` has a message surely in the chat before it; a reaction is taken back by its author with
  no recall or departure in between; a read receipt names bot messages surely sent before it and not read
  by another receipt (each message is read once);
- clicks: a click names (``on``) a bot_message step surely before it that sends cards (message_type
  interactive), or, without ``on``, has such a step surely before it (the latest card is clicked); a
  component other than a button (``tag``) needs ``on``, and the clicks on one step's cards ask for
  components some card has together; whoever clicks (``by``) is surely in the chat.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.generation.families.callbacks.cards import card_with
from simulator.generation.families.im.content import MENTIONABLE
from simulator.generation.scenarios._model import ChatTable, Scenario, Step
from simulator.generation.scenarios._timeline import Plan

MESSAGES = ("message", "bot_message")
GROUP_ONLY = ("bot_added", "bot_deleted", "user_added", "user_deleted", "user_withdrawn", "chat_updated",
              "chat_disbanded")
P2P_ONLY = ("p2p_chat_entered", "message_read")
ACTORS = ("message", "reaction_created", "click", *GROUP_ONLY)  # steps with a ``by``
CARD = "interactive"  # the message type of the bot's cards
# A step that must come first or last, and what it means for the others.
BOUNDS = (("bot_added", True, "before the bot is added"), ("bot_deleted", False, "after the bot is removed"),
          ("chat_disbanded", False, "after the group is disbanded"))


def check_chat(sc: Scenario, plan: Plan) -> None:
    _ChatChecks(sc, plan).run()


def size(s: Step) -> int:
    """How many events (or bot messages) a step makes."""
    return s.count if s.count is not None else 1


def cards(s: Step) -> int:
    """How many cards a bot_message step sends (its message types are used in turn, text by default)."""
    types = s.keys.message_types or ("text",)
    return sum(types[i % len(types)] == CARD for i in range(size(s)))


class _ChatChecks:
    def __init__(self, sc: Scenario, plan: Plan) -> None:
        assert sc.chat is not None
        self.sc = sc
        self.plan = plan
        self.chat: ChatTable = sc.chat
        self.first = set(sc.chat.first_members())
        # named label -> its time in the chat: (added at, removed at), None for the scenario's start / end
        self.spans: dict[str, list[tuple[Step | None, Step | None]]] = {}

    def before(self, a: Step, b: Step) -> bool:
        return self.plan.surely_before(a.id, b.id)

    def key(self, s: Step) -> tuple[float, int]:
        return self.plan.earliest[s.id], self.plan.rank[s.id]

    def of(self, *actions: str) -> list[Step]:
        return [s for s in self.sc.steps if s.action in actions]

    def run(self) -> None:
        sc = self.sc
        if all(s.event_type is None for s in sc.steps):
            raise sc.error("no step sends an event (the bot's own messages send none)", sc.steps[0])
        for s in sc.steps:
            self.fits(s)
        self.bounds()
        self.membership()
        for s in sorted(sc.steps, key=self.key):
            self.actors(s)
            self.mentions(s)
            self.targets(s)
        self.reads()

    # -- the chat ----------------------------------------------------------------------------------------
    def fits(self, s: Step) -> None:
        sc, chat, k = self.sc, self.chat, s.keys
        if chat.p2p and s.action in GROUP_ONLY:
            raise sc.error(f"{s.action} is a group step; this chat is p2p", s, key="event")
        if not chat.p2p and s.action in P2P_ONLY:
            raise sc.error(f"{s.action} is a p2p step (type = \"p2p\"); this chat is a group", s, key="event")
        if not chat.p2p:
            return
        if s.by is not None and s.by != chat.user:
            raise sc.error(f"{s.by!r} is not in this p2p chat (only {chat.user!r} and the bot are)", s, key="by")
        for key, given in (("mention_bot", k.mention_bot), ("mentions", k.mentions)):
            if given:
                raise sc.error("nobody is @-ed in a p2p chat", s, key=key)

    def bounds(self) -> None:
        sc = self.sc
        for action, first, what in BOUNDS:
            found = self.of(action)
            if len(found) > 1:
                raise sc.error(f"a second {action} step", found[1], key="event")
            for x in found:
                for s in sc.steps:
                    if s is not x and not (self.before(x, s) if first else self.before(s, x)):
                        hint = f"anchor it after step {x.id!r}" if first else f"anchor step {x.id!r} after it"
                        raise sc.error(f"may happen {what} (step {x.id!r}): the bot receives nothing from a group "
                                       f"it is not in; {hint}", s)

    # -- members -----------------------------------------------------------------------------------------
    def membership(self) -> None:
        changes: dict[str, list[Step]] = {n: [] for n in self.sc.named}
        for s in self.of("user_added", "user_deleted"):
            for n in s.who:
                changes[n].append(s)
        for name, steps in changes.items():
            self.spans[name] = self._life(name, sorted(steps, key=self.key))

    def _life(self, name: str, steps: list[Step]) -> list[tuple[Step | None, Step | None]]:
        sc = self.sc
        inside = name in self.first
        spans: list[tuple[Step | None, Step | None]] = []
        since: Step | None = None
        prev: Step | None = None
        for s in steps:
            adds = s.action == "user_added"
            if prev is not None and not self.before(prev, s):
                raise sc.error(f"{name!r} may {'join' if adds else 'leave'} before step {prev.id!r} happens; order "
                               f"the two with after = {prev.id!r}", s)
            if adds == inside:
                state = "already in" if inside else "not in"
                was = f"step {prev.id!r}" if prev is not None else "the start"
                raise sc.error(f"impossible order: {name!r} is {state} the chat here (since {was})", s, key="who")
            if not adds and name == self.chat.owner:
                raise sc.error(f"{name!r} owns the group and cannot leave it", s, key="who")
            if adds:
                since = s
            else:
                spans.append((since, s))
            inside, prev = adds, s
        if inside:
            spans.append((since, None))
        return spans

    def member(self, name: str, s: Step) -> bool:
        """``name`` is surely in the chat at step ``s``."""
        if name in self.sc.crowds:
            return name in self.first
        return any((a is None or self.before(a, s)) and (b is None or self.before(s, b)) for a, b in self.spans[name])

    def outside(self, name: str, s: Step) -> bool:
        """``name`` is surely not in the chat at step ``s``."""
        if name in self.sc.crowds:
            return name not in self.first
        return all((a is not None and self.before(s, a)) or (b is not None and self.before(b, s))
                   for a, b in self.spans[name])

    def actors(self, s: Step) -> None:
        sc = self.sc
        if s.action == "user_withdrawn":
            for n in s.who:
                if not self.outside(n, s):
                    raise sc.error(f"{n!r} may be in the chat here: an invitation is withdrawn before joining", s,
                                   key="who")
        self.transfer(s)
        themselves = s.action in ("user_added", "user_deleted") and s.by in s.who  # a link, or leaving
        if s.by is not None and s.action in ACTORS and not themselves and not self.member(s.by, s):
            raise sc.error(f"{s.by!r} is not surely in the chat at this step (add them before, and remove them "
                           "after)", s, key="by")

    def transfer(self, s: Step) -> None:
        sc = self.sc
        if s.action != "chat_updated" or s.keys.change != "owner":
            return
        if s.by is not None:
            raise sc.error("an ownership transfer is made by the owner: leave out by", s, key="by")
        crowds = sum(n for name, n in sc.crowds.items() if name in self.first)
        if not crowds and not any(n != self.chat.owner and self.stays(n, s) for n in sc.named):
            raise sc.error("an ownership transfer needs a member besides the owner who surely stays in the group to "
                           "the end (a crowd among [chat] members, or a named member removed by no later step)", s,
                           key="change")

    def stays(self, name: str, s: Step) -> bool:
        """``name`` is surely in the chat at step ``s`` and stays to the end."""
        return self.member(name, s) and all(self.before(d, s) for d in self.of("user_deleted") if name in d.who)

    def mentions(self, s: Step) -> None:
        sc, k = self.sc, s.keys
        if s.action != "message":
            return
        for n in k.mentions:
            if not self.member(n, s):
                raise sc.error(f"{n!r} is not surely in the chat at this step: only members are @-ed", s,
                               key="mentions")
        cannot = next((t for t in k.message_types if t not in MENTIONABLE), None)
        if not self.chat.p2p and not self.chat.group_msg_scope:
            if k.mention_bot is False:
                raise sc.error("without [chat] group_msg_scope only messages that @ the bot reach it: mention_bot "
                               "cannot be false", s, key="mention_bot")
            if cannot is not None:
                raise sc.error(f"without [chat] group_msg_scope only messages that @ the bot reach it, and "
                               f"{cannot} cannot @ (text and post can)", s, key="message_type")
        elif cannot is not None and (k.mention_bot or k.mentions):
            raise sc.error(f"a {cannot} message cannot @ anyone (text and post can)", s, key="message_type")

    # -- targets -----------------------------------------------------------------------------------------
    def targets(self, s: Step) -> None:
        k = s.keys
        if s.action in MESSAGES and k.reply_to is not None:
            self.target(s, k.reply_to, MESSAGES, "reply_to")
        elif s.action == "reaction_created":
            if k.on:
                self.target(s, k.on[0], MESSAGES, "on")
            else:
                self.some_message(s)
        elif s.action == "recalled":
            self.recall(s, self.target(s, k.on[0], ("message",), "on"))
        elif s.action == "reaction_deleted":
            self.take_back(s, self.target(s, k.on[0], ("reaction_created",), "on"))
        elif s.action == "click":
            self.click(s)

    def target(self, s: Step, tid: str, kinds: tuple[str, ...], key: str) -> Step:
        sc = self.sc
        t = self.plan.steps.get(tid)
        if t is None:
            raise sc.error(f"{key}: no step with id {tid!r}", s, key=key)
        if t.action not in kinds:
            raise sc.error(f"{key}: step {tid!r} is a {t.action} step, not {' or '.join(kinds)}", s, key=key)
        if not self.before(t, s):
            raise sc.error(f"{key}: step {tid!r} may not have happened yet; anchor this step after it "
                           f"(after = {tid!r})", s, key=key)
        if s.action != "recalled" and t.action == "message":
            recalls = [r for r in self.recalls_of(t) if not self.before(s, r)]
            if recalls and size(t) - sum(map(size, recalls)) < 1:
                raise sc.error(f"{key}: the messages of step {tid!r} may all be recalled by then (step "
                               f"{recalls[0].id!r})", s, key=key)
        return t

    def recalls_of(self, t: Step) -> list[Step]:
        return [r for r in self.of("recalled") if r.keys.on[0] == t.id]

    def recall(self, s: Step, t: Step) -> None:
        total = sum(map(size, self.recalls_of(t)))
        if total > size(t):
            raise self.sc.error(f"step {t.id!r} sends {size(t)} message(s): {total} cannot be recalled (a message is "
                                "recalled once)", s, key="count" if s.count is not None else "on")

    def some_message(self, s: Step) -> None:
        sent = sum(size(m) for m in self.of(*MESSAGES) if self.before(m, s))
        recalled = sum(size(r) for r in self.of("recalled") if not self.before(s, r))
        if sent - recalled < 1:
            raise self.sc.error("no message is surely in the chat (and not recalled) before this step: anchor it "
                                "after a message step, or name one with on", s)

    def take_back(self, s: Step, t: Step) -> None:
        sc = self.sc
        total = sum(size(d) for d in self.of("reaction_deleted") if d.keys.on[0] == t.id)
        if total > size(t):
            raise sc.error(f"step {t.id!r} adds {size(t)} reaction(s): {total} cannot be taken back", s,
                           key="count" if s.count is not None else "on")
        for x in self.of("recalled", "user_deleted", "bot_deleted"):
            if not (self.before(x, t) or self.before(s, x)):
                raise sc.error(f"step {x.id!r} ({x.action}) may fall between the reactions of step {t.id!r} and "
                               "this step; order them with after", s)

    # -- clicks ------------------------------------------------------------------------------------------
    def click(self, s: Step) -> None:
        sc, k = self.sc, s.keys
        tag = k.tag or "button"
        if not k.on:
            if tag != "button":
                raise sc.error(f"a click on a {tag} names its card with on (a bot_message step with message_type = "
                               f"{CARD!r}: its cards then have one)", s, key="tag")
            if not any(cards(b) and self.before(b, s) for b in self.of("bot_message")):
                raise sc.error(f"no card from the bot is surely in the chat before this step: put a bot_message step "
                               f"with message_type = {CARD!r} before it, or name one with on", s)
            return
        b = self.target(s, k.on[0], ("bot_message",), "on")
        if not cards(b):
            raise sc.error(f"on: step {b.id!r} sends no card: give it message_type = {CARD!r}", s, key="on")
        wanted = {c.keys.tag for c in self.of("click") if c.keys.on[:1] == (b.id,) and c.index <= s.index}
        wanted -= {None, "button"}
        if not card_with([str(t) for t in wanted]):
            raise sc.error(f"tag: no card has {' and '.join(sorted(map(str, wanted)))} together, and the clicks on "
                           f"step {b.id!r} ask for all of them: click another card for some", s, key="tag")

    # -- read receipts -----------------------------------------------------------------------------------
    def reads(self) -> None:
        reads = self.of("message_read")
        for r in reads:
            if r.keys.on:
                for b in r.keys.on:
                    self.read_once(r, self.target(r, b, ("bot_message",), "on"), reads)
            elif not any(self.unread_at(r, b, reads) for b in self.of("bot_message")):
                raise self.sc.error("no bot message is surely unread here: put a bot_message step before it (with "
                                    "no other message_read in between)", r)

    def read_once(self, r: Step, b: Step, reads: Iterable[Step]) -> None:
        for other in reads:
            if other is r:
                continue
            if b.id in other.keys.on and other.index < r.index:
                raise self.sc.error(f"on: the messages of step {b.id!r} are read at step {other.id!r} already (a "
                                    "message is read once)", r, key="on")
            if not other.keys.on and not (self.before(other, b) or self.before(r, other)):
                raise self.sc.error(f"on: step {other.id!r} (every unread message) may read the messages of step "
                                    f"{b.id!r} first; order them with after", r, key="on")

    def unread_at(self, r: Step, b: Step, reads: Iterable[Step]) -> bool:
        """Bot message step ``b``'s messages are surely sent and unread at read ``r``."""
        if not self.before(b, r):
            return False
        return all(o is r or (b.id not in o.keys.on and (o.keys.on or self.before(o, b) or self.before(r, o)))
                   for o in reads)

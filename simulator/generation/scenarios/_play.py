"""Realising a checked scenario: times from the seeded stream, people bound, events derived, envelopes.

Three passes, all driven by one ``SimRandom`` so the same seed gives the same sequence:

1. timing: each step's start = the end of its anchor's window + a drawn delay; its events fall in
   [start, start + spread];
2. state: walk the actions in time order keeping who is present, the share and the recording, and derive
   the events the platform would send (the host's join at the start, ``leave_reason`` 2 for everyone
   still present at the end, ``recording_ready`` after ``recording_ended``, all_meeting_* mirrors,
   participant_* for subscribed users);
3. rendering: the catalogue's generators build each body from the fixed meeting and operator, and the
   factory wraps it in the envelope (header ``create_time`` = the event's time).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from typing import Any

from simulator.generation import catalog
from simulator.generation.catalog import GenContext
from simulator.generation.factory import EventFactory
from simulator.generation.families.vc_meeting.events import LEAVE_KICKED, LEAVE_LEFT, LEAVE_MEETING_ENDED
from simulator.generation.families.vc_meeting.meeting import Meeting, new_meeting
from simulator.generation.population import Person, Population
from simulator.generation.scenarios._check import check
from simulator.generation.scenarios._model import DEFAULT_READY_DELAY, Scenario, Span, Step
from simulator.generation.scenarios._timeline import Plan
from simulator.rand import SimRandom


@dataclass(order=True)
class _Action:
    time: float
    rank: int
    seq: int
    kind: str = field(compare=False)
    step: Step | None = field(compare=False, default=None)
    person: Person | None = field(compare=False, default=None)
    index: int = field(compare=False, default=0)
    data: dict[str, Any] = field(compare=False, default_factory=dict)


@dataclass
class _Record:
    time: float  # relative to the scenario start
    event_type: str
    operator: Person | None
    params: dict[str, Any]
    ended: bool


@dataclass
class Cast:
    """Who is who in one run: labels bound to people of the tenant."""

    population: Population
    named: dict[str, Person]
    crowds: dict[str, list[Person]]


def _draw(r: SimRandom, span: Span) -> float:
    return span.lo if span.hi == span.lo else r.uniform(span.lo, span.hi)


def cast(sc: Scenario, factory: EventFactory, r: SimRandom) -> Cast:
    need = len(sc.named) + sum(sc.crowds.values())
    pop = factory.population
    if len(pop.people) < need + 8:
        pop = Population(r.fork("population"), locale=factory.locale, size=need + 32)
    used: set[str] = set()

    def take(pool: tuple[Person, ...]) -> Person:
        candidates = [p for p in pool if p.key not in used] or [p for p in pop.people if p.key not in used]
        p = r.choice(candidates)
        used.add(p.key)
        return p

    named: dict[str, Person] = {}
    for label in (sc.host, *sc.cohosts):  # hosts and co-hosts are staff (user_type 1)
        named[label] = take(pop.staff)
    # Whoever shares a screen has one: not a phone or SIP participant.
    presenters = {s.by or sc.host for s in sc.steps if s.action == "share_started"}
    for label in sc.named:
        if label not in named:
            named[label] = take(pop.sharers if label in presenters else pop.people)
    rest = [p for p in pop.people if p.key not in used]
    crowds: dict[str, list[Person]] = {}
    for name, size in sc.crowds.items():
        members = r.sample(rest, size)
        taken = {p.key for p in members}
        rest = [p for p in rest if p.key not in taken]
        crowds[name] = members
    return Cast(pop, named, crowds)


def play(sc: Scenario, factory: EventFactory, rand: SimRandom, *, start: float | None = None,
         end: float | None = None, longconn: bool = False) -> list[dict[str, Any]]:
    """The scenario's envelopes in time order. ``start`` pins the meeting start (epoch seconds); else
    ``end`` pins the last event (a pushed scenario ends "now": the platform never sends future events);
    else the factory clock's now is the start."""
    plan = check(sc)
    people = cast(sc, factory, rand.fork("people"))
    records = _State(sc, plan, people, rand.fork("timing")).run()
    last = max(r.time for r in records)
    if start is None:
        start = (end - last) if end is not None else factory.clock.now()
    return _render(sc, factory, people, records, rand.fork("data"), origin=start, longconn=longconn)


class _State:
    def __init__(self, sc: Scenario, plan: Plan, people: Cast, r: SimRandom) -> None:
        self.sc = sc
        self.plan = plan
        self.people = people
        self.r = r
        self.heap: list[_Action] = []
        self.seq = 0
        self.records: list[_Record] = []
        self.present: dict[str, Person] = {}
        self.joined_ever: set[str] = set()
        self.crowd_next = dict.fromkeys(sc.crowds, 0)
        self.crowd_present: dict[str, list[Person]] = {c: [] for c in sc.crowds}
        self.crowd_picks: dict[str, list[Person]] = {}
        self.presenter: Person | None = None
        self.recording_since: float | None = None
        self.ended = False
        self.subscribers = [people.named[n] for n in sc.subscribers]
        self.subscriber_keys = {p.key for p in self.subscribers}

    def push(self, time: float, rank: int, kind: str, **kw: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, _Action(time, rank, self.seq, kind, **kw))

    def timing(self) -> None:
        """Draw every step's times (relative to the scenario start), in topological order."""
        end_of: dict[str, float] = {}
        for s in self.plan.order:
            anchor = self.plan.anchor[s.id]
            t0 = 0.0 if anchor is None else end_of[anchor]
            if s.at is not None:
                t0 += _draw(self.r, s.at)
            t0 += _draw(self.r, s.delay)
            n = self._size(s)
            times = sorted(t0 + (self.r.uniform(0, s.spread) if s.spread > 0 else 0.0) for _ in range(n))
            end_of[s.id] = t0 + s.spread  # the window's end, whatever was drawn inside it
            rank = self.plan.rank[s.id]
            for i, t in enumerate(times):
                person = self.people.named[s.who[i]] if s.who and s.crowd is None else None
                data = {"ready_delay": _draw(self.r, s.ready_delay)} if s.action == "recording_ended" else {}
                self.push(t, rank, s.action, step=s, person=person, index=i, data=data)

    def _size(self, s: Step) -> int:
        if s.crowd is not None:
            return self.plan.counts[s.id]
        if s.action in ("join_meeting", "leave_meeting"):
            return len(s.who)
        if s.action == "send_meeting_im":
            return s.count or 1
        return 1

    def emit(self, t: float, short: str, operator: Person | None, **params: Any) -> None:
        self.records.append(_Record(t, f"vc.meeting.{short}_v1", operator, params, self.ended))

    def run(self) -> list[_Record]:
        self.timing()
        while self.heap:
            a = heapq.heappop(self.heap)
            getattr(self, "on_" + a.kind)(a)
        return self.records

    # -- helpers -------------------------------------------------------------------------------------
    def by(self, a: _Action) -> Person:
        assert a.step is not None
        return self.people.named[self.plan.by[a.step.id]]

    def crowd_member(self, a: _Action) -> Person:
        s = a.step
        assert s is not None and s.crowd is not None
        picks = self.crowd_picks.get(s.id)
        if picks is None:
            n = self.plan.counts[s.id]
            if s.action == "join_meeting":
                first = self.crowd_next[s.crowd]
                picks = self.people.crowds[s.crowd][first:first + n]
                self.crowd_next[s.crowd] = first + n
                self.crowd_present[s.crowd].extend(picks)
            else:
                picks = self.r.sample(self.crowd_present[s.crowd], n)
                chosen = {p.key for p in picks}
                self.crowd_present[s.crowd] = [p for p in self.crowd_present[s.crowd] if p.key not in chosen]
            self.crowd_picks[s.id] = picks
        return picks[a.index]

    def join(self, t: float, p: Person) -> None:
        assert p.key not in self.present, f"{p.name} joins twice"
        self.present[p.key] = p
        self.joined_ever.add(p.key)
        self.emit(t, "join_meeting", p)
        if p.key in self.subscriber_keys:
            self.emit(t, "participant_meeting_joined", p, subscribers=[p])

    def leave(self, t: float, p: Person, reason: int, operator: Person) -> None:
        assert p.key in self.present, f"{p.name} leaves without having joined"
        if self.presenter is not None and self.presenter.key == p.key:
            self.emit(t, "share_ended", p)  # leaving ends one's own share
            self.presenter = None
        del self.present[p.key]
        self.emit(t, "leave_meeting", operator, leave_reason=reason, leave_user=p)

    def end_recording(self, t: float, operator: Person, rank: int, ready_delay: float) -> None:
        assert self.recording_since is not None
        self.emit(t, "recording_ended", operator)
        duration_ms = round((t - self.recording_since) * 1000)
        self.recording_since = None
        self.push(t + ready_delay, rank, "recording_ready", data={"duration_ms": duration_ms})

    # -- actions -------------------------------------------------------------------------------------
    def on_meeting_started(self, a: _Action) -> None:
        host = self.people.named[self.sc.host]
        self.emit(a.time, "meeting_started", host)
        if self.sc.mirror_all_meeting:
            self.emit(a.time, "all_meeting_started", host)
        if self.subscribers:
            self.emit(a.time, "participant_meeting_started", host, subscribers=list(self.subscribers))
        self.join(a.time, host)

    def on_join_meeting(self, a: _Action) -> None:
        self.join(a.time, a.person or self.crowd_member(a))

    def on_leave_meeting(self, a: _Action) -> None:
        assert a.step is not None
        p = a.person or self.crowd_member(a)
        if a.step.reason == LEAVE_KICKED:
            self.leave(a.time, p, LEAVE_KICKED, self.by(a))
        else:
            self.leave(a.time, p, LEAVE_LEFT, p)

    def on_share_started(self, a: _Action) -> None:
        assert self.presenter is None
        self.presenter = self.by(a)
        self.emit(a.time, "share_started", self.presenter)

    def on_share_ended(self, a: _Action) -> None:
        assert self.presenter is not None
        self.emit(a.time, "share_ended", self.by(a))
        self.presenter = None

    def on_recording_started(self, a: _Action) -> None:
        assert self.recording_since is None
        self.recording_since = a.time
        self.emit(a.time, "recording_started", self.by(a))

    def on_recording_ended(self, a: _Action) -> None:
        self.end_recording(a.time, self.by(a), a.rank, a.data["ready_delay"])

    def on_recording_ready(self, a: _Action) -> None:
        self.emit(a.time, "recording_ready", None, duration_ms=a.data["duration_ms"])

    def on_send_meeting_im(self, a: _Action) -> None:
        assert a.step is not None
        self.emit(a.time, "send_meeting_im", self.by(a), content=a.step.content)

    def on_meeting_ended(self, a: _Action) -> None:
        by = self.by(a)
        self.ended = True
        if self.presenter is not None:
            self.emit(a.time, "share_ended", self.presenter)
            self.presenter = None
        if self.recording_since is not None:
            self.end_recording(a.time, by, a.rank, _draw(self.r, Span(*DEFAULT_READY_DELAY)))
        # Everyone still present leaves with leave_reason 2, the one who ended the meeting last.
        for p in sorted(self.present.values(), key=lambda p: p.key == by.key):
            self.leave(a.time, p, LEAVE_MEETING_ENDED, by)
        self.emit(a.time, "meeting_ended", by)
        if self.sc.mirror_all_meeting:
            self.emit(a.time, "all_meeting_ended", by)
        attended = [p for p in self.subscribers if p.key in self.joined_ever]
        if attended:
            self.emit(a.time, "participant_meeting_ended", by, subscribers=attended)


def _meeting(sc: Scenario, people: Cast, r: SimRandom, start: int) -> Meeting:
    host = people.named[sc.host]
    m = new_meeting(r, people.population, start_time=start, end_time=start, host=host)
    m.owner = people.named[sc.owner] if sc.owner else host
    m.cohosts = {people.named[c].key for c in sc.cohosts}
    m.source = sc.meeting_source
    if m.source == 1:
        m.calendar_event_id = m.calendar_event_id or f"{r.uuid()}_0"
    else:
        m.calendar_event_id = None
    if sc.topic is not None:
        m.topic = sc.topic
    if sc.sub_type is not None:
        m.sub_type = sc.sub_type
    if sc.webinar_type is not None:
        m.webinar_type = sc.webinar_type
    if sc.security_level is not None:
        m.security_level = sc.security_level
    return m


def _render(sc: Scenario, factory: EventFactory, people: Cast, records: list[_Record], r: SimRandom, *,
            origin: float, longconn: bool) -> list[dict[str, Any]]:
    started = next(rec.time for rec in records if rec.event_type.endswith("meeting_started_v1"))
    ended = [rec.time for rec in records if rec.event_type == "vc.meeting.meeting_ended_v1"]
    final_end = int(origin + (ended[0] if ended else max(rec.time for rec in records)))
    m = _meeting(sc, people, r.fork("meeting"), int(origin + started))
    out = []
    for rec in records:
        now = origin + rec.time
        end_time = final_end if rec.ended or sc.live_end_time == "final" else int(now)
        ctx = GenContext(rand=r, population=people.population, app_id=factory.app.app_id, now=now,
                         tenant_key=factory.app.tenant_key,
                         scene={"meeting": replace(m, end_time=end_time)}, operator=rec.operator,
                         params=dict(rec.params), world=factory.world)
        body = catalog.get(rec.event_type).generate(ctx)
        out.append(factory.wrap(rec.event_type, body, now=now, longconn=longconn))
    return out

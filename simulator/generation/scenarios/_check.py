"""Static checks of a scenario: the timeline must be coherent for EVERY seed.

The timeline (anchors, order, "surely before") is every family's; the rules below are a meeting's, and a
chat's are in ``_chat_check``.

A step's window is [start, start + spread]; its start is its anchor's window end (the previous step,
the ``after = "id"`` step, or the scenario start for ``at``) plus a delay drawn from a range. Step A is
*surely before* step B when, measured from their last common anchor, A's window ends no later than B's
can start (ties go to the earlier step in topological order, which is how the engine orders equal
times). Every rule below is stated with
"surely before", so a file that passes produces a coherent sequence whatever the seed:

- exactly one meeting_started, surely before every other step; at most one meeting_ended, surely after;
- ``after`` names an existing step and the anchors have no cycle;
- each named person's joins and leaves alternate, starting with a join, each surely before the next
  (a leave before any join is the classic impossible order);
- whoever acts (``by``) is surely in the meeting at that step; only the host or a co-host removes people
  or ends the meeting;
- shares and recordings alternate started / ended, one at a time; a share is ended by its presenter;
- a crowd's steps are surely ordered and never move more people than are available.
"""

from __future__ import annotations

from simulator.generation.scenarios._chat_check import check_chat
from simulator.generation.scenarios._model import Scenario, Step
from simulator.generation.scenarios._timeline import Plan, timeline


def check(sc: Scenario) -> Plan:
    plan = timeline(sc)
    if sc.chat is not None:
        check_chat(sc, plan)
    else:
        _Checks(sc, plan).run()
    return plan


class _Checks:
    def __init__(self, sc: Scenario, plan: Plan) -> None:
        self.sc = sc
        self.plan = plan
        self.life: dict[str, list[tuple[Step, str]]] = {n: [] for n in sc.named}

    def before(self, a: Step, b: Step) -> bool:
        return self.plan.surely_before(a.id, b.id)

    def key(self, s: Step) -> tuple[float, int]:
        return self.plan.earliest[s.id], self.plan.rank[s.id]

    def run(self) -> None:
        sc = self.sc
        starts = [s for s in sc.steps if s.action == "meeting_started"]
        if not starts:
            raise sc.error("no meeting_started step: every scenario starts its meeting", sc.steps[0])
        if len(starts) > 1:
            raise sc.error("a second meeting_started step (one meeting per scenario)", starts[1], key="event")
        start = starts[0]
        ends = [s for s in sc.steps if s.action == "meeting_ended"]
        if len(ends) > 1:
            raise sc.error("a second meeting_ended step", ends[1], key="event")
        for s in sc.steps:
            if s is not start and not self.before(start, s):
                raise sc.error(f"may happen before the meeting starts (step {start.id!r}); anchor it after that "
                               "step", s)
            if ends and s is not ends[0] and not self.before(s, ends[0]):
                raise sc.error(f"may happen after the meeting ends (step {ends[0].id!r}); anchor the end after "
                               "this step", s)
        self.people(start)
        for s in sorted(sc.steps, key=self.key):
            self.operator(s)
        self.chain(("share_started", "share_ended"), "share", same_operator=True)
        self.chain(("recording_started", "recording_ended"), "recording", same_operator=False)
        self.crowds()

    # -- named people ------------------------------------------------------------------------------
    def people(self, start: Step) -> None:
        sc = self.sc
        self.life[sc.host].append((start, "join"))
        for s in sc.steps:
            if s.action in ("join_meeting", "leave_meeting") and s.crowd is None:
                kind = "join" if s.action == "join_meeting" else "leave"
                for n in s.who:
                    self.life[n].append((s, kind))
        for name, events in self.life.items():
            events.sort(key=lambda e: self.key(e[0]))
            state = "out"
            prev: Step | None = None
            for s, kind in events:
                if prev is not None and not self.before(prev, s):
                    raise sc.error(f"{name!r} may {'join' if kind == 'join' else 'leave'} before step {prev.id!r} "
                                   f"happens; order the two with after = {prev.id!r}", s)
                if kind == "leave" and state == "out":
                    if prev is None:
                        raise sc.error(f"impossible order: {name!r} leaves before joining the meeting", s, key="who")
                    raise sc.error(f"impossible order: {name!r} leaves twice (already left at step {prev.id!r})",
                                   s, key="who")
                if kind == "join" and state == "in":
                    assert prev is not None
                    raise sc.error(f"impossible order: {name!r} joins again without leaving (joined at step "
                                   f"{prev.id!r})", s, key="who")
                state = "in" if kind == "join" else "out"
                prev = s

    def present_join(self, name: str, s: Step) -> Step | None:
        """The join step that surely has ``name`` in the meeting at ``s`` (None if not surely present)."""
        events = self.life[name]
        for i, (j, kind) in enumerate(events):
            if kind != "join" or not self.before(j, s):
                continue
            nxt = events[i + 1][0] if i + 1 < len(events) else None
            if nxt is None or self.before(s, nxt):
                return j
        return None

    def operator(self, s: Step) -> None:
        sc = self.sc
        if s.action in ("join_meeting", "meeting_started") or (s.action == "leave_meeting" and s.reason != 3):
            return
        if s.action in ("share_ended", "recording_ended") and s.by is None:
            return  # defaulted to the presenter / recorder by chain()
        by = s.by or sc.host
        self.plan.by[s.id] = by
        if s.action in ("meeting_ended", "leave_meeting") and by != sc.host and by not in sc.cohosts:
            what = "end the meeting" if s.action == "meeting_ended" else "remove participants"
            raise sc.error(f"only the host or a co-host can {what}; {by!r} is neither", s, key="by")
        if s.action == "leave_meeting" and by in s.who:
            raise sc.error(f"{by!r} cannot remove themselves (use reason = \"left\")", s, key="by")
        if self.present_join(by, s) is None:
            raise sc.error(f"{by!r} is not surely in the meeting at this step (join it before, and leave after)",
                           s, key="by" if s.by else None)

    def chain(self, actions: tuple[str, str], what: str, *, same_operator: bool) -> None:
        sc = self.sc
        steps = sorted((s for s in sc.steps if s.action in actions), key=self.key)
        running: Step | None = None
        prev: Step | None = None
        for s in steps:
            if prev is not None and not self.before(prev, s):
                raise sc.error(f"may overlap step {prev.id!r}: one {what} at a time; order them with after",
                               s)
            if s.action == actions[0]:
                if running is not None:
                    raise sc.error(f"a {what} is already running (step {running.id!r}); end it first", s)
                running = s
            else:
                if running is None:
                    raise sc.error(f"impossible order: {s.action} with no {what} running", s, key="event")
                started_by = self.plan.by[running.id]
                by = s.by or started_by
                if s.by is None:
                    self.plan.by[s.id] = by
                    if self.present_join(by, s) is None:
                        raise sc.error(f"{by!r} (who started the {what}) is not surely in the meeting here; "
                                       "set by", s)
                if same_operator:
                    if by != started_by:
                        raise sc.error(f"{by!r} cannot end {started_by!r}'s {what}", s, key="by")
                    if self.present_join(by, s) is not self.present_join(by, running):
                        raise sc.error(f"{by!r} left and rejoined during the {what}, which ended it", s)
                running = None
            prev = s

    # -- crowds ------------------------------------------------------------------------------------
    def crowds(self) -> None:
        sc = self.sc
        for crowd, size in sc.crowds.items():
            steps = sorted((s for s in sc.steps if s.crowd == crowd), key=self.key)
            joined = present = 0
            prev: Step | None = None
            for s in steps:
                if prev is not None and not self.before(prev, s):
                    raise sc.error(f"may overlap step {prev.id!r} of crowd {crowd!r}; order them with after", s)
                if s.action == "join_meeting":
                    n = s.count if s.count is not None else size - joined
                    if n < 1 or joined + n > size:
                        raise sc.error(f"crowd {crowd!r} has {size} people and {joined} already joined: cannot "
                                       f"join {n} more (crowd members join once)", s, key="count")
                    joined += n
                    present += n
                else:
                    if present == 0:
                        raise sc.error(f"impossible order: crowd {crowd!r} leaves before joining the meeting", s,
                                       key="who")
                    n = s.count if s.count is not None else present
                    if n > present:
                        raise sc.error(f"only {present} of crowd {crowd!r} are in the meeting here: cannot "
                                       f"leave {n}", s, key="count")
                    present -= n
                self.plan.counts[s.id] = n
                prev = s

"""The timeline of a scenario, every family's: each step's anchor (the previous step, ``after = "id"``, or the
scenario start for ``at``), the topological order, and "surely before" (``Plan.surely_before``), the relation
every static check is stated with (``_check`` for a meeting, ``_chat_check`` for a chat)."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.generation.scenarios._model import Scenario, Step


@dataclass
class Plan:
    """What the checks resolved: topological order, anchors, defaulted operators and crowd counts."""

    order: list[Step]
    rank: dict[str, int]
    anchor: dict[str, str | None]
    steps: dict[str, Step]
    earliest: dict[str, float] = field(default_factory=dict)  # earliest start, from the scenario start
    counts: dict[str, int] = field(default_factory=dict)  # step id -> people moved (crowd steps)
    by: dict[str, str] = field(default_factory=dict)  # step id -> operator label

    def path(self, sid: str) -> list[str]:
        """The anchors from the scenario start down to ``sid`` (inclusive)."""
        out = [sid]
        while (a := self.anchor[out[-1]]) is not None:
            out.append(a)
        return out[::-1]

    def _offset(self, nodes: list[str], *, high: bool, own_spread: bool) -> float:
        total = 0.0
        for i, sid in enumerate(nodes):
            s = self.steps[sid]
            for span in ((s.at, s.delay) if s.at is not None else (s.delay,)):
                assert span is not None
                total += span.hi if high else span.lo
            if i < len(nodes) - 1 or own_spread:
                total += s.spread
        return total

    def surely_before(self, a: str, b: str) -> bool:
        """Every event of step ``a`` comes before every event of step ``b``, whatever the seed.

        Both times hang off their last common anchor C (or the scenario start): a's window ends at most
        ``C + sum(max delays + spreads)`` down to a, b starts at least ``C + sum(min delays + spreads)``
        down to b. Delays on different branches are drawn independently, so this bound is exact.
        """
        if a == b:
            return False
        pa, pb = self.path(a), self.path(b)
        common = 0
        while common < min(len(pa), len(pb)) and pa[common] == pb[common]:
            common += 1
        if common == len(pb):  # b is an ancestor of a: a comes after b's window
            return False
        end_a = self._offset(pa[common:], high=True, own_spread=True)
        start_b = self._offset(pb[common:], high=False, own_spread=False)
        return end_a < start_b or (end_a == start_b and self.rank[a] < self.rank[b])


def timeline(sc: Scenario) -> Plan:
    """Anchors (no unknown step, no cycle), the topological order and each step's earliest start."""
    by_id = {s.id: s for s in sc.steps}
    anchor: dict[str, str | None] = {}
    for s in sc.steps:
        if s.at is not None:
            anchor[s.id] = None
        elif s.after is not None:
            if s.after not in by_id:
                raise sc.error(f"after: no step with id {s.after!r}", s, key="after")
            if s.after == s.id:
                raise sc.error("after: a step cannot follow itself", s, key="after")
            anchor[s.id] = s.after
        else:
            anchor[s.id] = sc.steps[s.index - 1].id if s.index > 0 else None
    # Cycle detection: follow anchors (each step has at most one).
    for s in sc.steps:
        seen = [s.id]
        cur = anchor[s.id]
        while cur is not None:
            if cur in seen:
                cycle = [*seen[seen.index(cur):], cur]
                raise sc.error(f"cycle in 'after': {' -> '.join(cycle)}", by_id[cycle[0]], key="after")
            seen.append(cur)
            cur = anchor[cur]
    # Topological order (anchors first), stable in file order.
    order: list[Step] = []
    placed: set[str] = set()
    pending = list(sc.steps)
    while pending:
        s = next(s for s in pending if anchor[s.id] is None or anchor[s.id] in placed)
        order.append(s)
        placed.add(s.id)
        pending.remove(s)
    plan = Plan(order=order, rank={s.id: i for i, s in enumerate(order)}, anchor=anchor, steps=by_id)
    for s in order:
        plan.earliest[s.id] = plan._offset(plan.path(s.id), high=False, own_spread=False)
    return plan

"""Property: the static checks are sound. Any scenario file, however its steps are shuffled, either fails to
load with a ``FixtureError`` or plays a coherent sequence for every seed (the engine never asserts)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.errors import FixtureError
from simulator.generation import scenarios
from simulator.rand import SimRandom
from tests.catalog.helpers import factory
from tests.catalog.invariants import check_sequence

NAMED = ["h", "c", "a", "b", "d"]
ACTIONS = ["join_meeting", "leave_meeting", "share_started", "share_ended", "recording_started",
           "recording_ended", "send_meeting_im", "meeting_ended"]


@st.composite
def step(draw: st.DrawFn, index: int, ids: list[str]) -> dict[str, Any]:
    action = draw(st.sampled_from(ACTIONS))
    out: dict[str, Any] = {"id": f"s{index}", "event": action}
    if action in ("join_meeting", "leave_meeting"):
        if draw(st.booleans()):
            out["who"] = "crowd"
            if draw(st.booleans()):
                out["count"] = draw(st.integers(1, 6))
        else:
            out["who"] = draw(st.lists(st.sampled_from(NAMED), min_size=1, max_size=3, unique=True))
        if action == "leave_meeting" and draw(st.integers(0, 3)) == 0:
            out["reason"] = "kicked"
            out["by"] = draw(st.sampled_from(NAMED))
        if draw(st.booleans()):
            out["spread"] = draw(st.integers(0, 120))
    elif draw(st.booleans()):
        out["by"] = draw(st.sampled_from(NAMED))
    timing = draw(st.integers(0, 5))
    if timing == 0 and ids:
        out["after"] = draw(st.sampled_from(ids))
    elif timing == 1:
        out["at"] = draw(st.integers(0, 600))
    if draw(st.booleans()):
        lo = draw(st.integers(0, 300))
        out["delay"] = [lo, lo + draw(st.integers(0, 300))]
    return out


# The state a step starts (True) or ends: who is sharing, who is recording.
TRACKED = {"share_started": ("share", True), "share_ended": ("share", False), "recording_started": ("rec", True),
           "recording_ended": ("rec", False)}


@st.composite
def plausible_step(draw: st.DrawFn, index: int, state: dict[str, Any]) -> dict[str, Any]:
    """A step that is valid for the state so far (sequential timing), mostly."""
    present, share, rec = state["present"], state["share"], state["rec"]
    options = ["join_meeting", "send_meeting_im"]
    if len(present) > 1:
        options += ["leave_meeting", "share_started" if share is None else "share_ended"]
        options.append("recording_started" if rec is None else "recording_ended")
    action = draw(st.sampled_from(options))
    out: dict[str, Any] = {"id": f"s{index}", "event": action}
    if action == "join_meeting":
        plausible_join(draw, out, state)
    elif action == "leave_meeting":
        out = plausible_leave(draw, out, state)
    elif action != "share_ended":
        out["by"] = draw(st.sampled_from(sorted(present)))
    if action in TRACKED:  # who is sharing or recording now
        key, starts = TRACKED[action]
        state[key] = out["by"] if starts else None
    if draw(st.booleans()):
        lo = draw(st.integers(0, 120))
        out["delay"] = [lo, lo + draw(st.integers(0, 120))]
    return out


def plausible_join(draw: st.DrawFn, out: dict[str, Any], state: dict[str, Any]) -> None:
    """Named people not there yet, else the crowd while some of it is outside, else a message instead."""
    present, crowd_in = state["present"], state["crowd_in"]
    absent = [n for n in NAMED if n not in present]
    if len(absent) > 0 and draw(st.booleans()):
        out["who"] = draw(st.lists(st.sampled_from(absent), min_size=1, max_size=2, unique=True))
        present.update(out["who"])
    elif crowd_in < 6:
        out["who"], out["count"] = "crowd", draw(st.integers(1, 6 - crowd_in))
        state["crowd_in"] += out["count"]
    else:
        out["event"], out["by"] = "send_meeting_im", draw(st.sampled_from(sorted(present)))
    out["spread"] = draw(st.integers(0, 60))


def plausible_leave(draw: st.DrawFn, out: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Some of the crowd, or someone other than the host and the presenter (maybe kicked by the co-host),
    else a message from the host instead."""
    present, share, crowd_in, crowd_left = state["present"], state["share"], state["crowd_in"], state["crowd_left"]
    if crowd_in > crowd_left and draw(st.booleans()):
        out["who"], out["count"] = "crowd", draw(st.integers(1, crowd_in - crowd_left))
        state["crowd_left"] += out["count"]
    elif present - {"h", share}:
        leaver = draw(st.sampled_from(sorted(present - {"h", share})))
        out["who"] = leaver
        if "c" in present and leaver != "c" and draw(st.booleans()):
            out["reason"], out["by"] = "kicked", draw(st.sampled_from(["h", "c"]))
        present.discard(leaver)
    else:
        return {"id": out["id"], "event": "send_meeting_im", "by": "h"}
    return out


@st.composite
def scenario_text(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 14))
    ids = [f"s{i}" for i in range(n + 1)]
    steps = [{"id": "s0", "event": "meeting_started"}]
    state: dict[str, Any] = {"present": {"h"}, "share": None, "rec": None, "crowd_in": 0, "crowd_left": 0}
    for i in range(1, n + 1):
        # Mostly plausible steps; now and then an arbitrary one (shuffled timing, wrong person, ...).
        steps.append(draw(step(i, ids)) if draw(st.integers(0, 9)) == 0 else draw(plausible_step(i, state)))
    if draw(st.integers(0, 4)) > 0:
        steps.append({"id": "end", "event": "meeting_ended"})
    mirror = draw(st.booleans())
    subs = draw(st.lists(st.sampled_from(NAMED), max_size=2, unique=True))
    cohosts = draw(st.sampled_from([[], ["c"]]))
    text = [f"[scenario]\nmirror_all_meeting = {str(mirror).lower()}\nparticipant_subscribers = {json.dumps(subs)}\n",
            f'[meeting]\nhost = "h"\ncohosts = {json.dumps(cohosts)}\n',
            f"[people]\nnamed = {json.dumps(NAMED)}\ncrowds = {{ crowd = 6 }}\n"]
    for s in steps:
        text.append("[[step]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in s.items()))
    return "\n".join(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_text(), st.integers(0, 2**32))
def test_a_file_that_loads_plays_coherently_for_any_seed(text: str, seed: int) -> None:
    try:
        sc = scenarios.loads(text)
    except FixtureError:
        return
    ended = any(s.action == "meeting_ended" for s in sc.steps)
    for s in (seed, seed + 1):
        envs = scenarios.play(sc, factory(1, population_size=64), SimRandom(s))
        if ended:
            check_sequence(envs, mirror=sc.mirror_all_meeting, subscribers=bool(sc.subscribers))

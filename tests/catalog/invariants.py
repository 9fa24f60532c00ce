"""An independent checker of a scenario's event sequence (written from the rules, not from the engine)."""

from __future__ import annotations

import re
from typing import Any

from tests.catalog.helpers import create_s, oid, short

URL = re.compile(r"^https://meetings\.feishu\.cn/minutes/obcn[0-9a-z]{20}$")


def check_sequence(envs: list[dict[str, Any]], *, mirror: bool, subscribers: bool,
                   final_end_time: bool = False) -> dict[str, int]:
    """Assert the invariants; return the count of each short event type. ``final_end_time``: live events
    carry the meeting's eventual end_time (scenario ``live_end_time = "final"``), not the time so far."""
    assert envs and short(envs[0]) == "meeting_started"
    m0 = envs[0]["event"]["meeting"]
    host = m0["host_user"]
    assert host["user_role"] == 2
    times = [int(e["header"]["create_time"]) for e in envs]
    assert times == sorted(times), "create_time must not go back"
    assert len({e["header"]["event_id"] for e in envs}) == len(envs)

    counts: dict[str, int] = {}
    role: dict[str, int] = {}
    present: set[str] = set()
    joined_ever: set[str] = set()
    presenter: str | None = None
    recording_since: float | None = None
    ready_due: list[int] = []
    ended_at: float | None = None
    last_body: dict[str, Any] = {}
    subscribed: set[str] = set()
    end_leaves: list[float] = []
    for e in envs:
        t, ev, now = short(e), e["event"], create_s(e)
        counts[t] = counts.get(t, 0) + 1
        m = ev["meeting"]
        # the same meeting throughout
        assert m["id"] == m0["id"]
        for k in ("topic", "meeting_no", "meeting_source", "start_time"):
            if k in m:
                assert m[k] == m0[k], k
        if "host_user" in m:
            assert m["host_user"] == host
        if "owner" in m:
            assert m["owner"]["id"] == m0["owner"]["id"]
        if "start_time" in m:
            assert int(m["start_time"]) <= int(m["end_time"])
            assert final_end_time or int(m["end_time"]) <= now
        assert int(m0["start_time"]) <= now
        op = ev.get("operator")
        if op is not None and t == "send_meeting_im":
            assert set(op) == {"id", "user_type"}, "send_meeting_im's operator has no user_role (node-sdk)"
        elif op is not None:
            assert role.setdefault(oid(op), op["user_role"]) == op["user_role"], "a person's role changed"
            if oid(op) == oid(host):
                assert op["user_role"] == 2
        if t in ("share_started", "share_ended"):
            assert op is not None and op["user_type"] not in (6, 7), "phone and SIP participants cannot share"
        if t == "recording_ready":
            assert op is None and URL.match(ev["url"])
            # Uploads finish in any order: match this file to one ended recording by its length.
            match = [d for d in ready_due if abs(int(ev["duration"]) - d) <= 2]
            assert match, "recording_ready without a matching recording_ended before it"
            ready_due.remove(match[0])
            continue
        assert op is not None
        who = oid(op)
        if ended_at is not None:
            assert t in ("all_meeting_ended", "participant_meeting_ended") and now == ended_at, t
        if t == "meeting_started":
            assert op == host and counts[t] == 1
            last_body = ev
        elif t == "all_meeting_started":
            assert mirror and ev == last_body
        elif t == "participant_meeting_started":
            assert subscribers and op == host
            subscribed = {u["open_id"] for u in ev["subscriber_ids"]}
            assert subscribed
        elif t == "join_meeting":
            assert who not in present, "joined twice"
            present.add(who)
            joined_ever.add(who)
        elif t == "participant_meeting_joined":
            assert subscribers and who in subscribed and who in present
            assert ev["subscriber_ids"] == [op["id"]]
        elif t == "leave_meeting":
            user = oid(ev["leave_user"])
            assert user in present, "left without joining"
            reason = ev["leave_reason"]
            if reason == 1:
                assert ev["leave_user"] == op
            else:
                assert op["user_role"] in (2, 3) and who in present
            if reason == 3:
                assert who != user
            if reason == 2:
                end_leaves.append(now)
            if presenter == user:
                presenter = None
            present.discard(user)
        elif t == "share_started":
            assert presenter is None and who in present
            presenter = who
        elif t == "share_ended":
            assert presenter == who and who in present
            presenter = None
        elif t == "recording_started":
            assert recording_since is None and who in present
            recording_since = int(e["header"]["create_time"])
        elif t == "recording_ended":
            assert recording_since is not None and who in present
            ready_due.append(int(e["header"]["create_time"]) - recording_since)
            recording_since = None
        elif t == "send_meeting_im":
            assert who in present and ev["content"]
            assert set(m) <= {"id", "meeting_source", "meeting_sub_type", "security_setting", "webinar_setting"}
        elif t == "meeting_ended":
            assert not present, "everyone leaves before the meeting ends"
            assert op["user_role"] in (2, 3)
            assert all(x == now for x in end_leaves)
            assert int(m["end_time"]) == int(now)
            ended_at = now
            last_body = ev
        elif t == "all_meeting_ended":
            assert mirror and ev == last_body
        elif t == "participant_meeting_ended":
            assert subscribers
            assert {u["open_id"] for u in ev["subscriber_ids"]} == subscribed & joined_ever
        else:  # pragma: no cover
            raise AssertionError(f"unexpected event type {t}")
    assert ended_at is not None and presenter is None and recording_since is None and not ready_due
    assert ("all_meeting_started" in counts) == mirror == ("all_meeting_ended" in counts)
    assert ("participant_meeting_started" in counts) == subscribers
    assert counts.get("join_meeting", 0) == counts.get("leave_meeting", 0)
    return counts

"""An independent checker of a scenario's event sequence (written from the rules, not from the engine)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.catalog.helpers import create_s, oid, short

URL = re.compile(r"^https://meetings\.feishu\.cn/minutes/obcn[0-9a-z]{20}$")


def check_sequence(envs: list[dict[str, Any]], *, mirror: bool, subscribers: bool,
                   final_end_time: bool = False) -> dict[str, int]:
    """Assert the invariants; return the count of each short event type. ``final_end_time``: live events
    carry the meeting's eventual end_time (scenario ``live_end_time = "final"``), not the time so far."""
    assert envs and short(envs[0]) == "meeting_started"
    times = [int(e["header"]["create_time"]) for e in envs]
    assert times == sorted(times), "create_time must not go back"
    assert len({e["header"]["event_id"] for e in envs}) == len(envs)
    meeting = Meeting(envs[0]["event"]["meeting"], mirror=mirror, subscribers=subscribers,
                      final_end_time=final_end_time)
    for e in envs:
        meeting.check(e)
    meeting.check_over()
    return meeting.counts


@dataclass
class Seen:
    """One event as the checker reads it."""

    type: str
    event: dict[str, Any]
    operator: dict[str, Any]
    who: str
    now: float
    created_ms: int


class Meeting:
    """The state of one meeting while its events are checked in order."""

    def __init__(self, m0: dict[str, Any], *, mirror: bool, subscribers: bool, final_end_time: bool) -> None:
        self.m0, self.host = m0, m0["host_user"]
        assert self.host["user_role"] == 2
        self.mirror, self.subscribers, self.final_end_time = mirror, subscribers, final_end_time
        self.counts: dict[str, int] = {}
        self.role: dict[str, int] = {}
        self.present: set[str] = set()
        self.joined_ever: set[str] = set()
        self.presenter: str | None = None
        self.recording_since: int | None = None
        self.ready_due: list[int] = []
        self.ended_at: float | None = None
        self.last_body: dict[str, Any] = {}
        self.subscribed: set[str] = set()
        self.end_leaves: list[float] = []

    def check(self, e: dict[str, Any]) -> None:
        t, ev, now = short(e), e["event"], create_s(e)
        self.counts[t] = self.counts.get(t, 0) + 1
        self.check_same_meeting(ev["meeting"], now)
        op = ev.get("operator")
        if op is not None and t != "send_meeting_im":  # whose operator has no user_role (node-sdk)
            assert self.role.setdefault(oid(op), op["user_role"]) == op["user_role"], "a person's role changed"
            if oid(op) == oid(self.host):
                assert op["user_role"] == 2
        if t == "recording_ready":
            assert op is None
            self.recording_ready(ev)
            return
        assert op is not None
        if self.ended_at is not None:
            assert t in ("all_meeting_ended", "participant_meeting_ended") and now == self.ended_at, t
        handler = getattr(self, f"on_{t}", None)
        if handler is None:  # pragma: no cover
            raise AssertionError(f"unexpected event type {t}")
        handler(Seen(t, ev, op, oid(op), now, int(e["header"]["create_time"])))

    def check_same_meeting(self, m: dict[str, Any], now: float) -> None:
        m0 = self.m0
        assert m["id"] == m0["id"]
        for k in ("topic", "meeting_no", "meeting_source", "start_time"):
            if k in m:
                assert m[k] == m0[k], k
        if "host_user" in m:
            assert m["host_user"] == self.host
        if "owner" in m:
            assert m["owner"]["id"] == m0["owner"]["id"]
        if "start_time" in m:
            assert int(m["start_time"]) <= int(m["end_time"])
            assert self.final_end_time or int(m["end_time"]) <= now
        assert int(m0["start_time"]) <= now

    def check_over(self) -> None:
        assert self.ended_at is not None and self.presenter is None and self.recording_since is None
        assert not self.ready_due
        counts = self.counts
        assert ("all_meeting_started" in counts) == self.mirror == ("all_meeting_ended" in counts)
        assert ("participant_meeting_started" in counts) == self.subscribers
        assert counts.get("join_meeting", 0) == counts.get("leave_meeting", 0)

    def recording_ready(self, ev: dict[str, Any]) -> None:
        assert URL.match(ev["url"])
        # Uploads finish in any order: match this file to one ended recording by its length.
        match = [d for d in self.ready_due if abs(int(ev["duration"]) - d) <= 2]
        assert match, "recording_ready without a matching recording_ended before it"
        self.ready_due.remove(match[0])

    # -- one method per event type (an operator is always there) ----------------------------------------

    def on_meeting_started(self, s: Seen) -> None:
        assert s.operator == self.host and self.counts[s.type] == 1
        self.last_body = s.event

    def on_all_meeting_started(self, s: Seen) -> None:
        assert self.mirror and s.event == self.last_body

    def on_participant_meeting_started(self, s: Seen) -> None:
        assert self.subscribers and s.operator == self.host
        self.subscribed = {u["open_id"] for u in s.event["subscriber_ids"]}
        assert self.subscribed

    def on_join_meeting(self, s: Seen) -> None:
        assert s.who not in self.present, "joined twice"
        self.present.add(s.who)
        self.joined_ever.add(s.who)

    def on_participant_meeting_joined(self, s: Seen) -> None:
        assert self.subscribers and s.who in self.subscribed and s.who in self.present
        assert s.event["subscriber_ids"] == [s.operator["id"]]

    def on_leave_meeting(self, s: Seen) -> None:
        ev, op = s.event, s.operator
        user = oid(ev["leave_user"])
        assert user in self.present, "left without joining"
        reason = ev["leave_reason"]
        if reason == 1:
            assert ev["leave_user"] == op
        else:
            assert op["user_role"] in (2, 3) and s.who in self.present
        if reason == 3:
            assert s.who != user
        if reason == 2:
            self.end_leaves.append(s.now)
        if self.presenter == user:
            self.presenter = None
        self.present.discard(user)

    def on_share_started(self, s: Seen) -> None:
        assert self.presenter is None and s.who in self.present
        assert s.operator["user_type"] not in (6, 7), "phone and SIP participants cannot share a screen"
        self.presenter = s.who

    def on_share_ended(self, s: Seen) -> None:
        assert self.presenter == s.who and s.who in self.present
        assert s.operator["user_type"] not in (6, 7), "phone and SIP participants cannot share a screen"
        self.presenter = None

    def on_recording_started(self, s: Seen) -> None:
        assert self.recording_since is None and s.who in self.present
        self.recording_since = s.created_ms

    def on_recording_ended(self, s: Seen) -> None:
        assert self.recording_since is not None and s.who in self.present
        self.ready_due.append(s.created_ms - self.recording_since)
        self.recording_since = None

    def on_send_meeting_im(self, s: Seen) -> None:
        assert s.who in self.present and s.event["content"]
        assert set(s.operator) == {"id", "user_type"}, "send_meeting_im's operator has no user_role (node-sdk)"
        assert set(s.event["meeting"]) <= {"id", "meeting_source", "meeting_sub_type", "security_setting",
                                           "webinar_setting"}

    def on_meeting_ended(self, s: Seen) -> None:
        assert not self.present, "everyone leaves before the meeting ends"
        assert s.operator["user_role"] in (2, 3)
        assert all(x == s.now for x in self.end_leaves)
        assert int(s.event["meeting"]["end_time"]) == int(s.now)
        self.ended_at = s.now
        self.last_body = s.event

    def on_all_meeting_ended(self, s: Seen) -> None:
        assert self.mirror and s.event == self.last_body

    def on_participant_meeting_ended(self, s: Seen) -> None:
        assert self.subscribers
        assert {u["open_id"] for u in s.event["subscriber_ids"]} == self.subscribed & self.joined_ever

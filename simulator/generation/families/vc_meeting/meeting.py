"""The shared shapes of the vc.meeting family: ``meeting_event_meeting`` and ``meeting_event_user``.

A ``Meeting`` is the state a scenario keeps constant across events (id, number, topic, people, times);
``meeting_json`` renders it with the fields a given event type carries (docs/semantics.md#per-event-table,
docs/semantics.md#field-types-and-enums). Which field
set an event type carries is decided once, here, and mirrored by its JSON Schema:

- ``FULL``: the started / ended / all_meeting_* / participant_* events (with ``calendar_event_id``);
- ``NO_CALENDAR``: join, leave, share and recording started/ended (no ``calendar_event_id``);
- ``RECORDING_READY``: no start/end/host, and ``owner`` carries only ``id`` (the doc example, Node types);
- ``SEND_IM``: the reduced meeting of ``send_meeting_im_v1`` (docs/protocol.md#vc-event-models-across-sdks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.generation.population import Person, Population
from simulator.rand import SimRandom

# docs/semantics.md#field-types-and-enums meeting_source: 1 calendar, 2 instant, 3 interview, 4 open platform, 100
# other.
# Most vc.meeting events are only produced for meetings reserved through the Open API (docs/semantics.md#common-facts),
# hence the weight on 4.
_SOURCES = (4,) * 10 + (1,) * 5 + (2,) * 3 + (3,) + (100,)
# docs/semantics.md#field-types-and-enums security_level 1..4 (2 = tenant members only is the usual default).
_SECURITY_LEVELS = (1,) * 2 + (2,) * 6 + (3,) * 1 + (4,) * 1

ROLE_PARTICIPANT = 1
ROLE_HOST = 2
ROLE_COHOST = 3

# Field sets (docs/semantics.md#per-event-table, 2026 generation).
FULL = ("id", "topic", "meeting_no", "meeting_source", "start_time", "end_time", "host_user", "owner",
        "calendar_event_id", "meeting_sub_type", "security_setting", "webinar_setting")
NO_CALENDAR = tuple(f for f in FULL if f != "calendar_event_id")
# ``owner_id``: the owner rendered as ``{"id": {...}}`` only (recording_ready doc example).
RECORDING_READY = ("id", "topic", "meeting_no", "meeting_source", "owner_id", "meeting_sub_type", "security_setting",
                   "webinar_setting")
SEND_IM = ("id", "meeting_source", "meeting_sub_type", "security_setting", "webinar_setting")


@dataclass
class Meeting:
    id: str
    topic: str
    meeting_no: str
    start_time: int
    end_time: int
    host: Person
    owner: Person
    source: int
    sub_type: int | None
    calendar_event_id: str | None
    security_level: int
    security_group_ids: list[str] = field(default_factory=list)
    security_users: list[Person] = field(default_factory=list)
    security_room_ids: list[str] = field(default_factory=list)
    webinar_type: int | None = None
    cohosts: set[str] = field(default_factory=set)  # person keys

    def role_of(self, person: Person) -> int:
        if person.key == self.host.key:
            return ROLE_HOST
        if person.key in self.cohosts:
            return ROLE_COHOST
        return ROLE_PARTICIPANT


def new_meeting(r: SimRandom, population: Population, *, start_time: int, end_time: int,
                host: Person | None = None) -> Meeting:
    host = host or population.pick(r, staff=True)
    owner = host if r.chance(0.8) else population.pick(r, staff=True)
    source = r.choice(_SOURCES)
    sub_type: int | None = None
    webinar_type: int | None = None
    if r.chance(0.2):
        sub_type = r.randint(1, 6)
        if sub_type == 6:
            webinar_type = r.randint(1, 2)
    level = r.choice(_SECURITY_LEVELS)
    groups: list[str] = []
    users: list[Person] = []
    rooms: list[str] = []
    if level == 3:
        groups = ["oc_" + r.hex(32) for _ in range(r.randint(0, 2))]
        users = population.pick_many(r, r.randint(1, 4))
        rooms = ["omm_" + r.hex(32) for _ in range(r.randint(0, 1))]
    calendar = f"{r.uuid()}_0" if source == 1 else None
    return Meeting(
        id="7" + r.digits(18, first_nonzero=False),  # 19 digits (docs/semantics.md#id-formats)
        topic=r.choice(population.topics),
        meeting_no=r.digits(9),
        start_time=start_time,
        end_time=end_time,
        host=host,
        owner=owner,
        source=source,
        sub_type=sub_type,
        calendar_event_id=calendar,
        security_level=level,
        security_group_ids=groups,
        security_users=users,
        security_room_ids=rooms,
        webinar_type=webinar_type,
    )


def lone_meeting(r: SimRandom, population: Population, now: float) -> Meeting:
    """A meeting for an event generated on its own: started 5 min - 2 h before ``now``; its end_time is
    the event time (start_time < end_time <= create_time)."""
    end = int(now) - r.randint(0, 3)
    start = end - r.randint(300, 7200)
    return new_meeting(r, population, start_time=start, end_time=end)


def just_started_meeting(r: SimRandom, population: Population, now: float) -> Meeting:
    """A meeting for a lone ``*_started`` event: it started at the event time (give or take the platform's
    few seconds), so start_time == end_time <= create_time (end_time of a live meeting is the time so
    far; its real value is unconfirmed, docs/semantics.md#end_time-of-a-running-meeting)."""
    start = int(now) - r.randint(0, 3)
    return new_meeting(r, population, start_time=start, end_time=start)


def user_json(person: Person, app_id: str, role: int) -> dict[str, Any]:
    return {"id": person.user_id_json(app_id), "user_role": role, "user_type": person.user_type}


def _security_setting(m: Meeting, app_id: str) -> dict[str, Any]:
    return {
        "security_level": m.security_level,
        "group_ids": list(m.security_group_ids),
        "user_ids": [p.user_id_json(app_id) for p in m.security_users],
        "room_ids": list(m.security_room_ids),
        "has_set_security_contacts_and_group": bool(m.security_group_ids or m.security_users),
    }


# One renderer per field: ``(key, value)``, or None for an optional field the meeting does not have.
_Rendered = tuple[str, Any] | None
_FIELDS: dict[str, Callable[[Meeting, str], _Rendered]] = {
    "id": lambda m, _app: ("id", m.id),
    "topic": lambda m, _app: ("topic", m.topic),
    "meeting_no": lambda m, _app: ("meeting_no", m.meeting_no),
    "meeting_source": lambda m, _app: ("meeting_source", m.source),
    "start_time": lambda m, _app: ("start_time", str(m.start_time)),
    "end_time": lambda m, _app: ("end_time", str(m.end_time)),
    "host_user": lambda m, app: ("host_user", user_json(m.host, app, ROLE_HOST)),
    "owner": lambda m, app: ("owner", user_json(m.owner, app, m.role_of(m.owner))),
    "owner_id": lambda m, app: ("owner", {"id": m.owner.user_id_json(app)}),
    "calendar_event_id": lambda m, _app: ("calendar_event_id", m.calendar_event_id) if m.calendar_event_id else None,
    "meeting_sub_type": lambda m, _app: None if m.sub_type is None else ("meeting_sub_type", m.sub_type),
    "security_setting": lambda m, app: ("security_setting", _security_setting(m, app)),
    "webinar_setting": lambda m, _app: (
        None if m.webinar_type is None else ("webinar_setting", {"webinar_type": m.webinar_type})),
}


def meeting_json(m: Meeting, app_id: str, fields: tuple[str, ...] = NO_CALENDAR) -> dict[str, Any]:
    """Render ``m`` with the given fields, in the documented key order; optional fields the meeting does
    not have are left out. An unknown field is a programming error (``KeyError``)."""
    out: dict[str, Any] = {}
    for f in fields:
        rendered = _FIELDS[f](m, app_id)
        if rendered is not None:
            out[rendered[0]] = rendered[1]
    return out

"""A click on a card: the card JSON's interactive components, and the ``action`` a click on one sends.

``targets(card)`` reads any card JSON (1.0 or 2.0, the bot's own or one the app sent through the mock
OpenAPI): every component outside a form that calls back (a ``behaviors`` callback in 2.0, a ``value`` in
1.0, or a selector/picker/input/checker, which always call back), and every form's submit button, with the
form's named fields. ``action(target, ...)`` is what the platform sends for a click on it, in the field
order of the doc examples: ``value``, ``tag``, then what the component adds (``option`` for single
choices and pickers, ``options`` for multi-selects, ``input_value``, ``checked``), ``timezone``, ``name``,
and for a form submit ``form_value`` (field name -> value: text, option value, list of option values, an
``open_id`` or a list of them, a ``date``/``time`` string; docs/events.md#card-action-request).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from simulator.generation.population import Person
from simulator.rand import SimRandom

#: Components that call back on their own when used outside a form.
SELF_CALLING: Final = frozenset({"select_static", "multi_select_static", "select_person", "multi_select_person",
                                 "date_picker", "picker_time", "picker_datetime", "input", "checker", "select_img",
                                 "overflow"})
FORM_FIELDS: Final = SELF_CALLING - {"overflow"}
_SUBMIT: Final = (("form_action_type", "submit"), ("action_type", "form_submit"))  # 2.0 and 1.0 spellings

# (IANA zone, UTC offset in minutes, weight): zones without daylight saving, so the offset is fixed.
_ZH_ZONES: Final = (("Asia/Shanghai", 480, 90), ("Asia/Hong_Kong", 480, 4), ("Asia/Singapore", 480, 3),
                    ("Asia/Tokyo", 540, 3))
_EN_ZONES: Final = (("Asia/Singapore", 480, 35), ("Asia/Tokyo", 540, 20), ("Asia/Kolkata", 330, 15),
                    ("Asia/Jakarta", 420, 15), ("Asia/Dubai", 240, 15))


@dataclass(frozen=True)
class Target:
    """A component a user can click: ``tag`` as the callback reports it (``button`` for a form submit) and,
    for a submit, the form's named fields."""

    tag: str
    element: dict[str, Any]
    form: tuple[dict[str, Any], ...] | None = None


def value_of(element: dict[str, Any]) -> Any:
    """The developer's callback value: the first ``behaviors`` callback's (2.0), else ``value`` (1.0)."""
    for behavior in element.get("behaviors") or ():
        if isinstance(behavior, dict) and behavior.get("type") == "callback" and "value" in behavior:
            return behavior["value"]
    return element.get("value")


def _calls_back(element: dict[str, Any]) -> bool:
    tag = element.get("tag")
    if tag == "button":
        return value_of(element) is not None
    if tag in SELF_CALLING:
        behaviors = element.get("behaviors")
        return not behaviors or value_of(element) is not None  # only open_url behaviours: a link, no callback
    return False


def targets(card: Any) -> list[Target]:
    """Every clickable component of ``card``, in document order."""
    found: list[Target] = []
    _walk(card, found)
    return found


def _walk(node: Any, found: list[Target]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, found)
        return
    if not isinstance(node, dict):
        return
    tag = node.get("tag")
    if tag == "form":
        fields: list[dict[str, Any]] = []
        submits: list[dict[str, Any]] = []
        _form_parts(node.get("elements"), fields, submits)
        found.extend(Target("button", s, tuple(fields)) for s in submits)
        return
    if isinstance(tag, str) and _calls_back(node):
        found.append(Target(tag, node))
    for key, child in node.items():
        if key not in ("text", "placeholder", "options", "behaviors", "value", "confirm"):
            _walk(child, found)


def _form_parts(node: Any, fields: list[dict[str, Any]], submits: list[dict[str, Any]]) -> None:
    if isinstance(node, list):
        for item in node:
            _form_parts(item, fields, submits)
    elif isinstance(node, dict):
        tag = node.get("tag")
        if tag == "button" and any(node.get(k) == v for k, v in _SUBMIT):
            submits.append(node)
        elif tag in FORM_FIELDS and isinstance(node.get("name"), str) and node["name"]:
            fields.append(node)
        else:
            for key in ("elements", "columns"):
                _form_parts(node.get(key), fields, submits)


@dataclass
class Clicker:
    """Who clicks, where and when: what a click's values are drawn from."""

    rand: SimRandom
    now: float
    person: Person
    members: list[Person]  # the chat's people (for person pickers)
    app_id: str
    faker: Any
    zh: bool = True  # the tenant's language: which time zones its people live in

    @property
    def zone(self) -> tuple[str, int]:
        """The person's time zone (stable per person): ``(IANA name, offset minutes)``."""
        zones = _ZH_ZONES if self.zh else _EN_ZONES
        roll = int(hashlib.md5(f"tz:{self.person.key}".encode()).hexdigest()[:8], 16) % sum(z[2] for z in zones)
        for name, offset, weight in zones:
            roll -= weight
            if roll < 0:
                return name, offset
        return zones[0][0], zones[0][1]  # pragma: no cover

    def _local(self, days: int, minutes: int | None = None) -> datetime:
        _, offset = self.zone
        tz = timezone(timedelta(minutes=offset))
        day = datetime.fromtimestamp(self.now, tz) + timedelta(days=days)
        if minutes is None:
            minutes = day.hour * 60 + day.minute
        return day.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)

    def _suffix(self) -> str:
        offset = self.zone[1]
        sign = "+" if offset >= 0 else "-"
        return f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"

    def date(self) -> str:
        return f"{self._local(self.rand.randint(0, 30)):%Y-%m-%d} {self._suffix()}"

    def time(self) -> str:
        return f"{self._local(0, self.rand.randint(16, 44) * 30):%H:%M} {self._suffix()}"

    def datetime(self) -> str:
        return f"{self._local(self.rand.randint(0, 14), self.rand.randint(16, 44) * 30):%Y-%m-%d %H:%M} " \
               f"{self._suffix()}"

    def people(self, k: int) -> list[str]:
        pool = self.members or [self.person]
        return [p.open_id(self.app_id) for p in self.rand.sample(pool, min(k, len(pool)))]

    def text(self) -> str:
        return str(self.faker.sentence(nb_words=self.rand.randint(2, 8)))[:80]

    def option(self, element: dict[str, Any]) -> str:
        values = _option_values(element)
        return self.rand.choice(values) if values else self.rand.alnum(6, lower=True)

    def some_options(self, element: dict[str, Any]) -> list[str]:
        values = _option_values(element) or [self.rand.alnum(6, lower=True)]
        return self.rand.sample(values, self.rand.randint(1, len(values)))

    def field(self, element: dict[str, Any]) -> Any:
        """What a form field submits: what the component would send on its own."""
        return _PICK[element["tag"]](self, element)[1]


def _option_values(element: dict[str, Any]) -> list[str]:
    return [str(o["value"]) for o in element.get("options") or () if isinstance(o, dict) and "value" in o]


#: What a component adds to a click: ``(key, value)`` (``option`` for single choices and pickers, ``options``
#: for multi-selects, ``input_value``, ``checked``); a button adds nothing.
_PICK: Final[dict[str, Callable[[Clicker, dict[str, Any]], tuple[str, Any]]]] = {
    "overflow": lambda who, el: ("option", who.option(el)),
    "select_static": lambda who, el: ("option", who.option(el)),
    "multi_select_static": lambda who, el: ("options", who.some_options(el)),
    "select_img": lambda who, el: ("options", who.some_options(el)),
    "select_person": lambda who, el: ("option", who.people(1)[0]),
    "multi_select_person": lambda who, el: ("options", who.people(who.rand.randint(1, 3))),
    "date_picker": lambda who, el: ("option", who.date()),
    "picker_time": lambda who, el: ("option", who.time()),
    "picker_datetime": lambda who, el: ("option", who.datetime()),
    "input": lambda who, el: ("input_value", who.text()),
    "checker": lambda who, el: ("checked", not el.get("checked", False)),
}


def action(target: Target, who: Clicker) -> dict[str, Any]:
    """The ``action`` object of a click on ``target``."""
    el = target.element
    out: dict[str, Any] = {}
    value = value_of(el)
    if isinstance(value, (dict, str)):
        out["value"] = value
    out["tag"] = target.tag
    pick = _PICK.get(target.tag)
    if pick is not None:
        key, chosen = pick(who, el)
        out[key] = chosen
    out["timezone"] = who.zone[0]
    if isinstance(el.get("name"), str) and el["name"]:
        out["name"] = el["name"]
    if target.form is not None:
        out["form_value"] = {f["name"]: who.field(f) for f in target.form}
    return out

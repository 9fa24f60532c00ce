"""Interactive cards the bot sends: what a user later clicks (``card.action.trigger``).

Each card is a plausible bot card (an approval, an alert, a form, a checklist, a booking, a quick reply, a
cover vote) written as card JSON 2.0 (``body.elements``, callbacks in ``behaviors``) or, for older apps,
1.0 (``elements`` with an ``action`` block, callbacks in ``value``). The click generator
(``clicks.py``) reads the interactive components back from the card JSON, so it works the same on a card
the app under test sent itself through the mock OpenAPI. Values are objects, as the official SDKs need
(lark-oapi types ``action.value`` as an object and cannot parse a string; docs/events.md#card-callbacks).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from simulator.generation.population import Person
from simulator.rand import SimRandom

Card = dict[str, Any]
Maker = Callable[["CardText"], Card]


class CardText:
    """Words for one card in the population's language, and the random source for its ids."""

    def __init__(self, rand: SimRandom, locale: str, people: list[Person], v2: bool) -> None:
        self.r = rand
        self.zh = locale.lower().startswith("zh")
        self.people = people
        self.v2 = v2

    def t(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def name(self, prefix: str) -> str:
        """A component name as the card builder writes them (``Button_lvkepfu3``)."""
        return f"{prefix}_{self.r.alnum(8, lower=True)}"

    def someone(self) -> str:
        return self.r.choice(self.people).name if self.people else self.t("同事", "a colleague")


def plain(text: str) -> dict[str, str]:
    return {"tag": "plain_text", "content": text}


def _callback(c: CardText, element: dict[str, Any], value: dict[str, Any] | None) -> dict[str, Any]:
    """Attach the callback value the JSON-2.0 way (``behaviors``) or the 1.0 way (``value``)."""
    if value is not None:
        if c.v2:
            element["behaviors"] = [{"type": "callback", "value": value}]
        else:
            element["value"] = value
    return element


def button(c: CardText, text: str, value: dict[str, Any] | None, *, kind: str = "default",
           submit: bool = False) -> dict[str, Any]:
    el: dict[str, Any] = {"tag": "button", "text": plain(text), "type": kind, "name": c.name("Button")}
    if submit:
        el["form_action_type"] = "submit"
    return _callback(c, el, value)


def options(values: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"text": plain(text), "value": value} for text, value in values]


def component(c: CardText, tag: str, prefix: str, value: dict[str, Any] | None = None, **attrs: Any) -> dict[str, Any]:
    return _callback(c, {"tag": tag, "name": c.name(prefix), **attrs}, value)


def card(c: CardText, title: str, template: str, elements: list[dict[str, Any]]) -> Card:
    """The card JSON: 2.0 (components in ``body.elements``) or 1.0 (interactive ones in an ``action`` block,
    forms and checkers kept as they are)."""
    header = {"title": plain(title), "template": template}
    if c.v2:
        return {"schema": "2.0", "config": {"update_multi": True}, "header": header, "body": {"elements": elements}}
    text = [e for e in elements if e["tag"] == "markdown"]
    other = [e for e in elements if e["tag"] in ("form", "checker")]
    actions = [e for e in elements if e["tag"] not in ("markdown", "form", "checker")]
    out: list[dict[str, Any]] = [{"tag": "div", "text": {"tag": "lark_md", "content": e["content"]}} for e in text]
    out += other
    if actions:
        out.append({"tag": "action", "actions": actions})
    return {"config": {"wide_screen_mode": True}, "header": header, "elements": out}


# -- the cards ------------------------------------------------------------------------------------------------

def approval(c: CardText) -> Card:
    rid = f"{c.r.randint(2024, 2026)}{c.r.digits(8)}"
    kind = c.r.choice((("请假", "Leave"), ("报销", "Expense"), ("采购", "Purchase"), ("出差", "Travel")))
    more = options([(c.t("转交他人", "Forward"), "forward"), (c.t("查看详情", "Details"), "detail"),
                    (c.t("稍后提醒", "Remind me later"), "remind")])
    return card(c, c.t(f"{kind[0]}审批", f"{kind[1]} approval"), "blue", [
        {"tag": "markdown", "content": c.t(f"**申请人**: {c.someone()}\n**单号**: {rid}",
                                           f"**Requester**: {c.someone()}\n**Request**: {rid}")},
        button(c, c.t("同意", "Approve"), {"action": "approve", "request_id": rid}, kind="primary"),
        button(c, c.t("拒绝", "Reject"), {"action": "reject", "request_id": rid}, kind="danger"),
        component(c, "overflow", "Overflow", {"action": "more", "request_id": rid}, options=more),
    ])


def alert(c: CardText) -> Card:
    aid = c.r.hex(16)
    level = c.r.choice(("P0", "P1", "P2"))
    mute = options([(c.t("静默 30 分钟", "Mute 30 min"), "30m"), (c.t("静默 1 小时", "Mute 1 h"), "1h"),
                    (c.t("静默 4 小时", "Mute 4 h"), "4h")])
    return card(c, c.t(f"[{level}] 服务告警", f"[{level}] Service alert"), "red", [
        {"tag": "markdown", "content": c.t(f"告警 ID: {aid}", f"Alert ID: {aid}")},
        button(c, c.t("认领", "Acknowledge"), {"action": "ack", "alert_id": aid}, kind="primary"),
        button(c, c.t("升级", "Escalate"), {"action": "escalate", "alert_id": aid}, kind="danger"),
        component(c, "select_static", "Select", {"action": "mute", "alert_id": aid}, options=mute,
                  placeholder=plain(c.t("静默", "Mute"))),
    ])


def request_form(c: CardText) -> Card:
    fid = c.r.alnum(12, lower=True)
    fields = [
        component(c, "input", "Input", placeholder=plain(c.t("请输入事由", "Reason"))),
        component(c, "select_static", "Select", options=options(
            [(c.t("紧急", "Urgent"), "urgent"), (c.t("普通", "Normal"), "normal"), (c.t("低", "Low"), "low")])),
        component(c, "multi_select_static", "MultiSelect", options=options(
            [(c.t("前端", "Frontend"), "fe"), (c.t("后端", "Backend"), "be"), (c.t("数据", "Data"), "data"),
             (c.t("设计", "Design"), "design")])),
        component(c, "date_picker", "DatePicker"),
        component(c, "picker_time", "PickerTime"),
        component(c, "select_person", "SelectPerson"),
    ]
    submit = button(c, c.t("提交", "Submit"), {"action": "submit", "form_id": fid}, kind="primary", submit=True)
    return card(c, c.t("需求登记", "New request"), "turquoise", [
        {"tag": "markdown", "content": c.t("请填写以下信息", "Please fill in the form")},
        {"tag": "form", "name": c.name("Form"), "elements": [*fields, submit]},
    ])


def checklist(c: CardText) -> Card:
    lid = c.r.alnum(10, lower=True)
    tasks = [component(c, "checker", "Checker", {"action": "toggle", "list_id": lid, "task": i + 1},
                       checked=c.r.chance(0.3), text=plain(c.t(f"任务 {i + 1}", f"Task {i + 1}")))
             for i in range(c.r.randint(2, 5))]
    return card(c, c.t("今日待办", "Today's tasks"), "green", [
        *tasks, button(c, c.t("全部完成", "Mark all done"), {"action": "done_all", "list_id": lid})])


def booking(c: CardText) -> Card:
    bid = c.r.digits(6)
    rooms = [(f"{c.t('会议室', 'Room')} {c.r.randint(1, 30)}{c.r.choice('ABCD')}", f"room_{c.r.digits(4)}")
             for _ in range(3)]
    return card(c, c.t("预订会议室", "Book a room"), "indigo", [
        component(c, "picker_datetime", "PickerDatetime", {"action": "pick_time", "booking": bid}),
        component(c, "select_static", "Select", {"action": "pick_room", "booking": bid}, options=options(rooms)),
        component(c, "multi_select_person", "MultiSelectPerson", {"action": "invite", "booking": bid}),
        button(c, c.t("预订", "Book"), {"action": "book", "booking": bid}, kind="primary"),
    ])


def reminder(c: CardText) -> Card:
    rid = c.r.alnum(10, lower=True)
    channels = options([(c.t("应用内", "In app"), "app"), (c.t("短信", "SMS"), "sms"), (c.t("电话", "Phone"), "phone")])
    return card(c, c.t("设置提醒", "Set a reminder"), "wathet", [
        component(c, "date_picker", "DatePicker", {"action": "remind_date", "reminder": rid}),
        component(c, "picker_time", "PickerTime", {"action": "remind_time", "reminder": rid}),
        component(c, "multi_select_static", "MultiSelect", {"action": "channels", "reminder": rid}, options=channels),
        button(c, c.t("不再提醒", "Dismiss"), {"action": "dismiss", "reminder": rid}),
    ])


def quick_reply(c: CardText) -> Card:
    tid = c.r.digits(7)
    return card(c, c.t(f"工单 #{tid}", f"Ticket #{tid}"), "orange", [
        {"tag": "markdown", "content": c.t(f"{c.someone()} 提交了新工单", f"{c.someone()} opened a ticket")},
        component(c, "input", "Input", {"action": "reply", "ticket": tid},
                  placeholder=plain(c.t("回复", "Reply"))),
        button(c, c.t("关闭工单", "Close"), {"action": "close", "ticket": tid}),
    ])


def cover_vote(c: CardText) -> Card:
    vid = c.r.alnum(8, lower=True)
    images = [{"img_key": f"img_v3_02{c.r.hex(2)}_{c.r.hex(8)}-{c.r.hex(4)}-{c.r.hex(4)}-{c.r.hex(4)}-{c.r.hex(12)}g",
               "value": f"cover_{i + 1}"} for i in range(3)]
    return card(c, c.t("选择封面", "Pick a cover"), "purple", [
        component(c, "select_img", "SelectImg", {"action": "vote", "vote_id": vid}, options=images),
        button(c, c.t("确认", "Confirm"), {"action": "confirm", "vote_id": vid}, kind="primary"),
    ])


#: (maker, weight): approvals and alerts are what bots send most.
CARDS: tuple[tuple[Maker, int], ...] = ((approval, 30), (alert, 20), (request_form, 15), (checklist, 8),
                                        (booking, 8), (reminder, 8), (quick_reply, 8), (cover_vote, 3))


def new_card(rand: SimRandom, locale: str, people: list[Person], *,
             needs: str | Collection[str] | None = None) -> Card:
    """A bot card; with ``needs`` (a component tag, or several) one that has such components (``button``
    with a form: ``form``)."""
    v2 = rand.chance(0.7)
    text = CardText(rand, locale, people, v2)
    wanted = _wanted(needs)
    pool = [(m, w) for m, w in CARDS if wanted <= _TAGS[m]]
    if not pool:
        pool = list(CARDS)
    total = sum(w for _, w in pool)
    roll = rand.randint(1, total)
    for maker, weight in pool:
        roll -= weight
        if roll <= 0:
            return maker(text)
    return pool[-1][0](text)  # pragma: no cover - the weights add up


#: What a click on each card can be: the tags of its components outside a form, and ``form`` for a submit.
_TAGS: dict[Maker, frozenset[str]] = {
    approval: frozenset({"button", "overflow"}),
    alert: frozenset({"button", "select_static"}),
    request_form: frozenset({"form", "button"}),
    checklist: frozenset({"checker", "button"}),
    booking: frozenset({"picker_datetime", "select_static", "multi_select_person", "button"}),
    reminder: frozenset({"date_picker", "picker_time", "multi_select_static", "button"}),
    quick_reply: frozenset({"input", "button"}),
    cover_vote: frozenset({"select_img", "button"}),
}
CLICKABLE: frozenset[str] = frozenset().union(*_TAGS.values())


def _wanted(needs: str | Collection[str] | None) -> frozenset[str]:
    return frozenset() if needs is None else frozenset((needs,) if isinstance(needs, str) else needs)


def card_with(needs: str | Collection[str]) -> bool:
    """Whether some card the bot sends has every component ``needs`` names (a tag, or ``form``)."""
    wanted = _wanted(needs)
    return any(wanted <= tags for tags in _TAGS.values())

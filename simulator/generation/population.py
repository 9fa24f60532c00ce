"""A tenant's people and meeting topics, generated once with Faker and then drawn from.

One person keeps the same ``union_id`` and ``user_id`` in every event, and the same ``open_id`` for a
given app (open_ids are per app, docs/semantics.md#id-formats). Pools make generation cheap: Faker runs at set-up,
not per field per event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from simulator import constants as C
from simulator.rand import SimRandom

# docs/semantics.md#field-types-and-enums user_type: 1 Feishu user, 2 rooms, 3 docs, 4 neo, 5 neo guest, 6 pstn, 7 sip,
# 8 sharebox, 9 app.
_USER_TYPE_WEIGHTS: tuple[tuple[int, int], ...] = (
    (1, 88), (2, 4), (3, 1), (4, 1), (5, 1), (6, 2), (7, 2), (8, 0), (9, 1),
)
# Phone (PSTN, 6) and SIP (7) participants dial in with audio only: they have no screen to share.
NO_SCREEN_USER_TYPES = frozenset({6, 7})

_ZH_KINDS = ("周会", "例会", "复盘会", "评审会", "需求评审", "技术分享", "项目启动会", "站会", "双周会", "季度规划会",
             "面试", "一对一沟通", "客户交流会", "培训", "全员大会", "迭代计划会", "方案讨论", "述职会")
_ZH_SUBJECTS = ("产品", "研发", "设计", "市场", "销售", "运营", "财务", "人力", "法务", "数据", "客服", "基础架构",
                "增长", "品牌", "安全", "供应链")
_EN_KINDS = ("weekly sync", "stand-up", "retro", "design review", "planning", "all-hands", "1:1", "kickoff",
             "roadmap review", "interview", "customer call", "brown bag", "incident review", "sprint demo")
_EN_SUBJECTS = ("Product", "Engineering", "Design", "Marketing", "Sales", "Ops", "Finance", "People", "Data",
                "Support", "Platform", "Growth", "Security", "Mobile", "Payments")


@dataclass(frozen=True)
class Person:
    key: str  # stable internal key, never sent
    name: str
    union_id: str
    user_id: str
    user_type: int

    def open_id(self, app_id: str) -> str:
        """``ou_`` + 32 hex, stable per (person, app)."""
        return "ou_" + hashlib.md5(f"{app_id}:{self.key}".encode()).hexdigest()

    def user_id_json(self, app_id: str) -> dict[str, str]:
        return {"union_id": self.union_id, "user_id": self.user_id, "open_id": self.open_id(app_id)}

    @property
    def can_share(self) -> bool:
        """Whether this person can share a screen (not a phone or SIP participant)."""
        return self.user_type not in NO_SCREEN_USER_TYPES


class Population:
    """People of one tenant plus a pool of meeting topics."""

    def __init__(self, rand: SimRandom, *, locale: str = C.DEFAULT_LOCALE, size: int = 256, topics: int = 400) -> None:
        self.locale = locale
        fk = rand.faker(locale)
        r = rand.fork("population")
        types = [t for t, w in _USER_TYPE_WEIGHTS for _ in range(w)]
        people: list[Person] = []
        seen_user_ids: set[str] = set()
        for i in range(size):
            user_id = r.alnum(8, lower=True)
            while user_id in seen_user_ids:
                user_id = r.alnum(8, lower=True)
            seen_user_ids.add(user_id)
            people.append(
                Person(key=f"p{i}-{r.hex(12)}", name=str(fk.name()), union_id="on_" + r.hex(32), user_id=user_id,
                       user_type=r.choice(types))
            )
        self.people: tuple[Person, ...] = tuple(people)
        # Hosts and owners are Feishu users (user_type 1): rooms and phones do not schedule meetings.
        self.staff: tuple[Person, ...] = tuple(p for p in people if p.user_type == 1) or self.people
        self.sharers: tuple[Person, ...] = tuple(p for p in people if p.can_share)
        zh = locale.lower().startswith("zh")
        self.topics: tuple[str, ...] = tuple(topic(fk, r, zh=zh) for _ in range(topics))

    def pick(self, r: SimRandom, *, staff: bool = False, sharer: bool = False) -> Person:
        """Anyone; with ``staff`` a Feishu user; with ``sharer`` someone who can share a screen."""
        return r.choice(self.staff if staff else self.sharers if sharer else self.people)

    def pick_many(self, r: SimRandom, k: int, *, exclude: tuple[Person, ...] = ()) -> list[Person]:
        pool = [p for p in self.people if p not in exclude]
        k = min(k, len(pool))
        return r.sample(pool, k)


def topic(fk: Any, r: SimRandom, *, zh: bool) -> str:
    """A meeting (or chat) topic in Chinese or English, from ``fk`` (a Faker of that language) and ``r``."""
    roll = r.random.random()
    if zh:
        if roll < 0.45:
            return f"{r.choice(_ZH_SUBJECTS)}{r.choice(_ZH_KINDS)}"
        if roll < 0.7:
            return f"{fk.company_prefix()}项目{r.choice(_ZH_KINDS)}"
        if roll < 0.85:
            return f"与{fk.company()}{r.choice(('合作洽谈', '商务沟通', '需求对齐', '季度回顾'))}"
        return f"{fk.name()}的{r.choice(('一对一沟通', '面试', '述职', '入职沟通'))}"
    if roll < 0.45:
        return f"{r.choice(_EN_SUBJECTS)} {r.choice(_EN_KINDS)}"
    if roll < 0.7:
        return f"{fk.bs().capitalize()} {r.choice(_EN_KINDS)}"
    if roll < 0.85:
        return f"{fk.company()} {r.choice(('partnership call', 'QBR', 'onboarding', 'renewal review'))}"
    return f"1:1 {fk.first_name()} / {fk.first_name()}"

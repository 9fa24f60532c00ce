"""A group chat's localised names: the ``i18n_names`` of chat events (``zh_cn``, ``en_us``, ``ja_jp``).

The chat's ``name`` is in the tenant's language (``Population.locale``); its ``i18n_names`` carry that name
under the tenant language's key and a name of its own in each other language, as a chat whose owner set its
names per language does (common.schema.json#/$defs/i18n_names allows exactly these three keys). The other
names are drawn from a ``SimRandom`` fork of the world's stream (``chat-names``) with Faker's ``zh_CN``,
``en_US`` and ``ja_JP`` locales seeded from it: deterministic for a seed, and no other draw of the run
moves. A name the caller chose (a scenario's chat name) has no translation: it is the only entry, under the
tenant language's key (``en_us`` for a tenant language other than Chinese, English or Japanese).
"""

from __future__ import annotations

from collections.abc import Callable

from simulator.generation.population import topic
from simulator.rand import SimRandom

I18N_KEYS = ("zh_cn", "en_us", "ja_jp")
_ZH_SUFFIXES = ("群", "项目群", "讨论组", "值班群", "")
_EN_SUFFIXES = ("team", "project", "on-call", "chat", "")
_JA_SUBJECTS = ("開発", "営業", "デザイン", "マーケティング", "人事", "経理", "品質保証", "インフラ", "データ分析",
                "カスタマーサポート", "広報", "法務")
_JA_KINDS = ("定例会", "朝会", "振り返り", "設計レビュー", "キックオフ", "全体会議", "1on1", "勉強会", "進捗会議",
             "採用面接")
_JA_SUFFIXES = ("グループ", "チーム", "プロジェクト", "連絡用", "")


def i18n_key(locale: str) -> str | None:
    """The ``i18n_names`` key of a Faker locale's language (``zh_CN`` -> ``zh_cn``), None for another language."""
    lang = locale.lower()[:2]
    return next((k for k in I18N_KEYS if k.startswith(lang)), None)


class ChatNamer:
    """Names a group chat in the languages the tenant's own does not cover."""

    def __init__(self, rand: SimRandom, locale: str) -> None:
        self.rand = rand.fork("chat-names")
        self.own = i18n_key(locale)
        self._makers: dict[str, Callable[[], str]] = {"zh_cn": self._zh, "en_us": self._en, "ja_jp": self._ja}

    def names(self, name: str) -> dict[str, str]:
        """``i18n_names`` for a generated group name: ``name`` under the tenant's key, fresh names elsewhere."""
        return {key: name if key == self.own else self._makers[key]() for key in I18N_KEYS}

    def given(self, name: str) -> dict[str, str]:
        """``i18n_names`` for a name the caller chose: that name alone, under the tenant's key."""
        return {self.own or "en_us": name}

    def _zh(self) -> str:
        r = self.rand
        return f"{topic(r.faker('zh_CN'), r, zh=True)}{r.choice(_ZH_SUFFIXES)}"

    def _en(self) -> str:
        r = self.rand
        return f"{topic(r.faker('en_US'), r, zh=False)} {r.choice(_EN_SUFFIXES)}".strip()

    def _ja(self) -> str:
        r = self.rand
        if r.chance(0.3):
            head = f"{r.faker('ja_JP').last_name()}さんの{r.choice(('1on1', '採用面接', '引き継ぎ'))}"
        else:
            head = f"{r.choice(_JA_SUBJECTS)}{r.choice(_JA_KINDS)}"
        return f"{head}{r.choice(_JA_SUFFIXES)}"

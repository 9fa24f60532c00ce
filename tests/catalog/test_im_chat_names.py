"""A chat's ``i18n_names``: its name under the tenant language's key, a name of its own in each other language
(English in ``en_us``, Japanese in ``ja_jp``), deterministic per seed and schema-valid; a chosen name stands alone."""

from __future__ import annotations

import re
from typing import Any

from simulator.generation import schemas
from simulator.generation.families.im.names import i18n_key
from tests.catalog.helpers import factory
from tests.catalog.im_helpers import world

ADDED = "im.chat.member.user.added_v1"
UPDATED = "im.chat.updated_v1"
KANA_OR_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
HAN = re.compile(r"[\u4e00-\u9fff]")


def _names(seed: int, **kw: Any) -> list[tuple[str, dict[str, str]]]:
    """(chat name, i18n_names) of the chats named by a few member-added events."""
    f = factory(seed, **kw)
    out = []
    for _ in range(20):
        env = f.generate(ADDED)
        assert schemas.errors(env) == []
        ev = env["event"]
        chat = world(f).chat(ev["chat_id"])
        assert chat is not None and ev["name"] == chat.name
        out.append((ev["name"], ev["i18n_names"]))
    return out


def test_a_chinese_tenants_chat_has_english_and_japanese_names_of_its_own() -> None:
    names = _names(3)
    for name, i18n in names:
        assert set(i18n) == {"zh_cn", "en_us", "ja_jp"}
        assert i18n["zh_cn"] == name and HAN.search(name)
        assert i18n["en_us"].isascii() and i18n["en_us"].strip() == i18n["en_us"] != ""
        assert KANA_OR_KANJI.search(i18n["ja_jp"])
    assert len({i18n["en_us"] for _, i18n in names}) > 1


def test_an_english_tenants_chat_has_its_name_in_en_us_and_a_chinese_one() -> None:
    for name, i18n in _names(4, locale="en_US"):
        assert i18n["en_us"] == name and name.isascii()
        assert HAN.search(i18n["zh_cn"]) and KANA_OR_KANJI.search(i18n["ja_jp"])


def test_names_are_deterministic_per_seed() -> None:
    assert _names(7) == _names(7)
    assert _names(7) != _names(8)


def test_a_rename_renames_every_language() -> None:
    f = factory(12)
    for _ in range(30):
        env = f.generate(UPDATED, ctx=f.context(params={"change": "name"}))
        assert schemas.errors(env) == []
        before, after = env["event"]["before_change"], env["event"]["after_change"]
        assert after["i18n_names"]["zh_cn"] == after["name"] != before["name"]
        assert after["i18n_names"]["en_us"].isascii() and KANA_OR_KANJI.search(after["i18n_names"]["ja_jp"])
        assert after["i18n_names"] == world(f).chat(env["event"]["chat_id"]).i18n_names()  # type: ignore[union-attr]


def test_a_chosen_name_stands_alone_under_the_tenants_key() -> None:
    f = factory(1)
    f.generate(ADDED)
    chat = world(f).new_group(name="发布值班")
    assert chat.i18n_names() == {"zh_cn": "发布值班"}
    en = factory(1, locale="en_US")
    en.generate(ADDED)
    assert world(en).new_group(name="Release room").i18n_names() == {"en_us": "Release room"}
    assert i18n_key("ja_JP") == "ja_jp" and i18n_key("de_DE") is None

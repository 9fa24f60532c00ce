"""``message.content`` per ``message_type``: the compact JSON string the platform delivers.

One builder per message type of ``schemas/im/message_content.schema.json`` (the doc's received-content
page, docs/events.md#message-content-by-message_type). Each returns the parsed object; ``content``
serialises it compactly with UTF-8 kept, as real captures show. ``merge_forward`` is the exception: its
content is the plain text ``Merged and Forwarded Message``, not JSON (what bots see in practice; the doc's
``{"content": ...}`` form is also allowed by the schema).

Mentions: text and post are the only types that carry @s. Each ``At`` is one ``mentions[]`` entry; its
key ``@_user_N`` appears in the text (or as a post ``at`` element) in the same order as ``mentions[]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from simulator.generation.families.im.ids import file_key, image_key
from simulator.generation.families.im.vocab import Vocab
from simulator.generation.families.im.world import Chat, ImWorld
from simulator.generation.population import Person
from simulator.rand import SimRandom

MERGE_FORWARD_TEXT = "Merged and Forwarded Message"
# What a JSON 2.0 card looks like to the receiver (doc: received cards are simplified; 2.0 cards are not).
CARD_V2_PLACEHOLDER = "请升级至最新版本客户端，以查看内容"

MESSAGE_TYPES = ("text", "post", "image", "file", "folder", "audio", "media", "sticker", "interactive", "hongbao",
                 "share_calendar_event", "calendar", "general_calendar", "share_chat", "share_user", "system",
                 "location", "video_chat", "todo", "vote", "merge_forward")
# Types that can @ someone: the only ones that reach a bot in a group without the group-message scope.
MENTIONABLE = ("text", "post")

# Realistic mix of what users send a bot: text dominates, then rich text and images (weights per 200).
_WEIGHTS = {"text": 116, "post": 18, "image": 18, "file": 8, "sticker": 6, "interactive": 4, "merge_forward": 4,
            "audio": 4, "media": 4, "share_chat": 2, "share_user": 2, "location": 2, "todo": 2, "vote": 2,
            "video_chat": 1, "share_calendar_event": 1, "calendar": 1, "general_calendar": 1, "folder": 2, "system": 1,
            "hongbao": 1}
ANY_TYPE: tuple[str, ...] = tuple(t for t, w in _WEIGHTS.items() for _ in range(w))
MENTIONABLE_TYPE: tuple[str, ...] = ("text",) * 6 + ("post",)


@dataclass(frozen=True)
class At:
    key: str  # @_user_N
    name: str


@dataclass
class Draft:
    """What a content builder may use."""

    rand: SimRandom
    vocab: Vocab
    world: ImWorld
    app_id: str
    now_ms: int
    chat: Chat
    sender: Person | None
    mentions: list[At] = field(default_factory=list)
    text: str | None = None


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def compact(obj: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))`` with one reused encoder."""
    return _COMPACT.encode(obj)


def content(message_type: str, d: Draft) -> str:
    if message_type == "text":  # the common case, serialised without an encoder pass
        return '{"text":' + encode_basestring(_text(d)["text"]) + "}"
    if message_type == "merge_forward":
        return MERGE_FORWARD_TEXT
    return compact(_BUILDERS[message_type](d))


def _body_text(d: Draft) -> str:
    if d.text is not None:
        return d.text
    texts = d.vocab.texts
    return texts[int(d.rand.random.random() * len(texts))]


def _text(d: Draft) -> dict[str, Any]:
    r, keys = d.rand, [a.key for a in d.mentions]
    body = _body_text(d)
    if not keys:
        return {"text": body}
    if len(keys) > 1 and d.text is None and r.random.random() < 0.3:
        # The first @ leads; the others are named inline, later in the sentence.
        return {"text": f"{keys[0]} {body} {' '.join(keys[1:])} {r.choice(d.vocab.texts)}"}
    return {"text": " ".join(keys) + " " + body}


def _styled(d: Draft, text: str) -> dict[str, Any]:
    return {"tag": "text", "text": text, "style": list(d.rand.choice(d.vocab.styles))}


def _post_blocks(d: Draft) -> list[list[dict[str, Any]]]:
    r = d.rand
    first: list[dict[str, Any]] = [{"tag": "at", "user_id": a.key, "user_name": a.name, "style": []}
                                   for a in d.mentions]
    first.append(_styled(d, (" " if d.mentions else "") + _body_text(d)))
    blocks = [first]
    for _ in range(r.randint(0, 3)):
        kind = r.randint(0, 7)
        if kind == 0:
            blocks.append([{"tag": "a", "href": f"https://example.feishu.cn/docx/{r.alnum(27)}",
                            "text": r.choice(d.vocab.topics), "style": []}])
        elif kind == 1:
            blocks.append([{"tag": "img", "image_key": image_key(r), "width": r.choice((640, 1080, 1280, 1920)),
                            "height": r.choice((480, 720, 1080))}])
        elif kind == 2:
            blocks.append([{"tag": "media", "file_key": file_key(r), "image_key": image_key(r)}])
        elif kind == 3:
            blocks.append([{"tag": "emotion", "emoji_type": r.choice(("THUMBSUP", "SMILE", "OK", "DONE", "Fire"))}])
        elif kind == 4:
            language, code = r.choice(d.vocab.code)
            blocks.append([{"tag": "code_block", "language": language, "text": code}])
        elif kind == 5:
            blocks.append([{"tag": "hr"}])
        else:
            blocks.append([_styled(d, r.choice(d.vocab.texts))])
    return blocks


def _post(d: Draft) -> dict[str, Any]:
    return {"title": d.rand.choice(d.vocab.titles), "content": _post_blocks(d)}


def _image(d: Draft) -> dict[str, Any]:
    return {"image_key": image_key(d.rand)}


def _file(d: Draft) -> dict[str, Any]:
    return {"file_key": file_key(d.rand), "file_name": d.rand.choice(d.vocab.file_names)}


def _folder(d: Draft) -> dict[str, Any]:
    return {"file_key": file_key(d.rand), "file_name": d.rand.choice(d.vocab.folder_names)}


def _audio(d: Draft) -> dict[str, Any]:
    return {"file_key": file_key(d.rand), "duration": d.rand.randint(1_000, 60_000)}


def _media(d: Draft) -> dict[str, Any]:
    r = d.rand
    return {"file_key": file_key(r), "image_key": image_key(r), "file_name": r.choice(d.vocab.media_names),
            "duration": r.randint(3_000, 300_000)}


def _sticker(d: Draft) -> dict[str, Any]:
    return {"file_key": file_key(d.rand)}


def _interactive(d: Draft) -> dict[str, Any]:
    r = d.rand
    if r.chance(0.1):
        return {"title": None, "elements": [[{"tag": "text", "text": CARD_V2_PLACEHOLDER}]]}
    title, text, buttons = r.choice(d.vocab.cards)
    return {"title": title, "elements": [[{"tag": "text", "text": d.vocab.fill(r, text)}],
                                         [{"tag": "button", "text": b} for b in buttons]]}


def _hongbao(d: Draft) -> dict[str, Any]:
    return {"text": d.vocab.hongbao}


def _calendar(d: Draft) -> dict[str, Any]:
    """A calendar card: an event in the next two weeks, on a half hour, 30-90 min long (ms strings)."""
    r = d.rand
    start = (d.now_ms // 1_800_000 + r.randint(1, 14 * 48)) * 1_800_000
    return {"summary": r.choice(d.vocab.topics), "start_time": str(start),
            "end_time": str(start + r.choice((30, 60, 60, 90)) * 60_000)}


def _share_chat(d: Draft) -> dict[str, Any]:
    groups = [c for c in d.world.groups(with_bot=False) if c.chat_id != d.chat.chat_id]
    return {"chat_id": d.rand.choice(groups).chat_id if groups else d.world.new_group().chat_id}


def _share_user(d: Draft) -> dict[str, Any]:
    return {"user_id": d.world.population.pick(d.rand, staff=True).open_id(d.app_id)}


def _system(d: Draft) -> dict[str, Any]:
    r = d.rand
    who = d.sender.name if d.sender is not None else d.world.bot.name
    invited = [p.name for p in d.world.population.pick_many(r, r.randint(1, 3))]
    return {"template": d.vocab.invite_template, "from_user": [who], "to_chatters": invited}


def _location(d: Draft) -> dict[str, Any]:
    r = d.rand
    name, lon, lat = r.choice(d.vocab.places)
    return {"name": name, "longitude": f"{lon + r.uniform(-0.01, 0.01):.6f}",
            "latitude": f"{lat + r.uniform(-0.01, 0.01):.6f}"}


def _video_chat(d: Draft) -> dict[str, Any]:
    who = d.sender.name if d.sender is not None else d.world.bot.name
    return {"topic": d.vocab.video_topic.format(name=who), "start_time": str(d.now_ms - d.rand.randint(1_000, 5_000))}


def _todo(d: Draft) -> dict[str, Any]:
    r = d.rand
    out: dict[str, Any] = {"task_id": r.uuid(),
                           "summary": {"title": "", "content": [[{"tag": "text",
                                                                  "text": d.vocab.fill(r, r.choice(d.vocab.todo))}]]}}
    if r.chance(0.7):
        out["due_time"] = str((d.now_ms // 3_600_000 + r.randint(2, 24 * 10)) * 3_600_000)
    return out


def _vote(d: Draft) -> dict[str, Any]:
    topic, options = d.rand.choice(d.vocab.votes)
    return {"topic": topic, "options": list(options)}


_BUILDERS: dict[str, Callable[[Draft], dict[str, Any]]] = {
    "text": _text, "post": _post, "image": _image, "file": _file, "folder": _folder, "audio": _audio,
    "media": _media, "sticker": _sticker, "interactive": _interactive, "hongbao": _hongbao,
    "share_calendar_event": _calendar, "calendar": _calendar, "general_calendar": _calendar,
    "share_chat": _share_chat, "share_user": _share_user, "system": _system, "location": _location,
    "video_chat": _video_chat, "todo": _todo, "vote": _vote,
}
assert set(_BUILDERS) | {"merge_forward"} == set(MESSAGE_TYPES) == set(_WEIGHTS)

"""Message ``content`` checked against its ``msg_type``, as the platform does before sending (sans-IO).

``content`` is a JSON **string** whose shape depends on ``msg_type`` (docs/events.md#message-content-by-message_type,
docs/openapi.md#send-a-message). A malformed content is refused with 230001 (230099 for a card the platform cannot
build); a content over its size limit with 230025: text 150 KB, card and rich text 30 KB
(docs/openapi.md#message-errors).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from simulator.errors import ApiRefused
from simulator.platform.openapi import codes

TEXT_LIMIT = 150 * 1024
CARD_LIMIT = 30 * 1024
MSG_TYPES = ("text", "post", "image", "file", "audio", "media", "sticker", "interactive", "share_chat", "share_user")
POST_TAGS = frozenset({"text", "a", "at", "img", "media", "emotion", "hr", "code_block", "md"})
CARD_KEYS = ("elements", "i18n_elements", "body", "header")
_LIMITS = {"text": TEXT_LIMIT, "post": CARD_LIMIT, "interactive": CARD_LIMIT}


@dataclass(frozen=True)
class Content:
    msg_type: str
    raw: str  # the JSON string, as the bot sent it
    doc: dict[str, Any]

    @property
    def text(self) -> str:
        """The text of a text message, the concatenated text runs of a post, else ""."""
        if self.msg_type == "text":
            return str(self.doc.get("text", ""))
        if self.msg_type == "post":
            return "\n".join(" ".join(str(el.get("text", "")) for el in line if isinstance(el, dict))
                             for body in _post_bodies(self.doc) for line in body.get("content", []))
        return ""

    @property
    def shared_card(self) -> bool:
        """An interactive card every viewer sees updated: ``config.update_multi`` set, a JSON 2.0 card (always
        shared), a template or a card entity (their sharing is configured where they are built)."""
        if self.msg_type != "interactive":
            return False
        if self.doc.get("type") in ("template", "card") or str(self.doc.get("schema", "")) == "2.0":
            return True
        config = self.doc.get("config")
        return isinstance(config, dict) and config.get("update_multi") is True


def check(msg_type: object, content: object, *, templates: Collection[str] | None = None) -> Content:
    """The parsed content, or the platform's refusal. ``templates``: the card template ids visible to the
    app (None: any id)."""
    if not isinstance(msg_type, str) or not msg_type:
        raise codes.invalid("msg_type", "msg_type is required")
    if msg_type not in MSG_TYPES:
        raise codes.invalid("msg_type", f"unsupported msg_type {msg_type!r}")
    if not isinstance(content, str) or not content:
        raise codes.invalid("content", "content must be a non-empty JSON string")
    limit = _LIMITS.get(msg_type)
    if limit is not None and len(content.encode("utf-8")) > limit:
        raise codes.refuse(codes.CONTENT_TOO_LONG, f"{msg_type} content is {len(content.encode())} bytes, "
                                                   f"at most {limit // 1024} KB")
    try:
        doc = json.loads(content)
    except ValueError:
        raise codes.invalid("content", "invalid message content: not JSON") from None
    if not isinstance(doc, dict):
        raise codes.invalid("content", "invalid message content: not a JSON object")
    _CHECKS[msg_type](doc, templates)
    return Content(msg_type, content, doc)


def check_card(card: object, *, templates: Collection[str] | None = None) -> Content:
    """A card given as an object (the delayed update's ``card``) checked like an interactive content."""
    if not isinstance(card, dict):
        raise codes.invalid("card", "card must be a JSON object")
    return check("interactive", json.dumps(card, ensure_ascii=False, separators=(",", ":")), templates=templates)


def _need_str(doc: dict[str, Any], key: str, prefix: str = "") -> None:
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        raise codes.invalid("content", f"invalid message content: {key} is required")
    if prefix and not value.startswith(prefix):
        raise codes.invalid("content", f"invalid message content: {key} must start with {prefix}")


def _text(doc: dict[str, Any], _: Collection[str] | None) -> None:
    _need_str(doc, "text")


def _post_bodies(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The locale bodies of a post: ``{"zh_cn": {...}}``, ``{"post": {"zh_cn": {...}}}`` or a bare body."""
    inner = doc.get("post", doc)
    if not isinstance(inner, dict):
        return []
    if "content" in inner:
        return [inner]
    return [v for v in inner.values() if isinstance(v, dict)]


def _post(doc: dict[str, Any], _: Collection[str] | None) -> None:
    bodies = _post_bodies(doc)
    if not bodies:
        raise codes.invalid("content", "invalid message content: a post needs a locale body with content")
    for body in bodies:
        title = body.get("title", "")
        lines = body.get("content")
        if not isinstance(title, str) or not isinstance(lines, list):
            raise codes.invalid("content", "invalid message content: post title must be a string, content a list")
        for line in lines:
            if not isinstance(line, list):
                raise codes.invalid("content", "invalid message content: post content is a list of paragraphs")
            for el in line:
                if not isinstance(el, dict) or el.get("tag") not in POST_TAGS:
                    raise codes.invalid("content", f"invalid message content: post element {el!r}")


def _image(doc: dict[str, Any], _: Collection[str] | None) -> None:
    _need_str(doc, "image_key", "img_")


def _file(doc: dict[str, Any], _: Collection[str] | None) -> None:
    _need_str(doc, "file_key")


def _media(doc: dict[str, Any], _: Collection[str] | None) -> None:
    _need_str(doc, "file_key")
    if "image_key" in doc:
        _need_str(doc, "image_key", "img_")


def _share_chat(doc: dict[str, Any], _: Collection[str] | None) -> None:
    _need_str(doc, "chat_id", "oc_")


def _share_user(doc: dict[str, Any], _: Collection[str] | None) -> None:
    _need_str(doc, "user_id", "ou_")


def _card_error(detail: str) -> ApiRefused:
    return codes.refuse(codes.CARD_FAILED, detail, field="content")


def _interactive(doc: dict[str, Any], templates: Collection[str] | None) -> None:
    kind = doc.get("type")
    if kind in ("template", "card"):
        data = doc.get("data")
        key = "template_id" if kind == "template" else "card_id"
        if not isinstance(data, dict) or not isinstance(data.get(key), str) or not data[key]:
            raise _card_error(f"ErrMsg: {kind} card needs data.{key}")
        if kind == "template":
            variables = data.get("template_variable", {})
            if not isinstance(variables, dict):
                raise _card_error("ErrMsg: template_variable must be an object")
            if templates is not None and data["template_id"] not in templates:
                raise _card_error(f"ErrCode: 11310; ErrMsg: template {data['template_id']} is not visible to the app")
        return
    if not any(k in doc for k in CARD_KEYS):
        raise _card_error("ErrMsg: card has none of " + ", ".join(CARD_KEYS))
    for key in ("elements",):
        if key in doc and not isinstance(doc[key], list):
            raise _card_error(f"ErrMsg: card {key} must be a list")
    for key in ("config", "header", "i18n_elements", "body"):
        if key in doc and not isinstance(doc[key], dict):
            raise _card_error(f"ErrMsg: card {key} must be an object")


_CHECKS = {"text": _text, "post": _post, "image": _image, "file": _file, "audio": _file, "media": _media,
           "sticker": _file, "interactive": _interactive, "share_chat": _share_chat, "share_user": _share_user}

"""Judging what an app answers to a callback: ``card.action.trigger``, ``url.preview.get`` and the legacy card
request (``card.action.trigger_v1``). Sans-IO: bytes in, an :class:`Answer` out.

An answer arrives as the HTTP 200 body of a webhook callback, or, over the long connection, base64-encoded in
the ``data`` field of the client's ack (:func:`decode_ack_data`). Callbacks are synchronous and never
retried, so the answer is the whole verdict on the app's side: a malformed one surfaces in the Feishu client
as error 200672 (bad answer body) or 200673 (bad card).

What is judged, and on what authority:

* The structure, by ``schemas/callbacks/answers.schema.json`` (its ``$defs`` say per field what the docs
  confirm and what is inferred). Its errors are translated here into one-line problems such as
  ``toast.type 'ok' is not one of info|success|warning|error``.
* Unknown keys: reported for the new callbacks (``toast``/``card``, ``inline``/``card`` are the only keys the
  doc and the SDK's response models know; a misspelt key does nothing, silently). The legacy answer *is* a
  card JSON, whose top level grows, and lark-oapi's ``CardActionHandler`` answers ``{"msg":"success"}`` when
  the handler returns ``None``: unknown keys are allowed there, except the new format's ``card`` wrapper.
* Size. No limit on a callback answer is documented. A card is documented to be at most 30 KB ("卡片整体数据
  不可超过 30 KB"; also the delayed-update and message APIs), so the card of an answer is held to
  :data:`CARD_MAX_BYTES` (30 x 1024 bytes of compact UTF-8 JSON; whether the platform means 30,000 or
  30,720 bytes is not documented: the lenient reading). The whole answer is read up to
  :data:`MAX_ANSWER_BYTES` (1 MiB), a bound of this simulator, not of the platform: far above any answer
  that can hold a valid card, small enough to keep parsing and transcripts cheap.
* JSON: strict UTF-8 (no BOM, no UTF-16 sniffing), no ``NaN``/``Infinity``, a top-level object. An empty body
  is a problem: the docs give ``{}`` as the answer that changes nothing (what the platform does with an empty
  200 body, which node-sdk sends when a handler returns ``undefined``, is not documented).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from simulator.errors import AnswerDecodeError
from simulator.resources import schemas_dir
from simulator.verdicts.answer_problems import SHOWN_VALUE, a, describe, json_type

MAX_ANSWER_BYTES: Final = 1 << 20
"""Default bound on an answer's size (not a platform limit: none is documented; see the module doc)."""

CARD_MAX_BYTES: Final = 30 * 1024
"""A card's documented size limit, 30 KB, measured as compact UTF-8 JSON."""

TOAST_TYPES: Final = ("info", "success", "warning", "error")
CARD_TYPES: Final = ("raw", "template")

#: Top-level fields of a card JSON (1.0 and 2.0): what makes a legacy answer a card.
LEGACY_CARD_KEYS: Final = frozenset(
    {"schema", "config", "card_link", "header", "i18n_header", "elements", "i18n_elements", "body", "fallback"})

ANSWERS_SCHEMA: Final = "callbacks/answers.schema.json"

_RAW_IN_TRANSCRIPT: Final = 2000  # characters of an unparsed answer kept by ``to_json``


class AnswerKind(str, enum.Enum):
    """Which callback an answer answers; the value is the callback type."""

    CARD_ACTION = "card.action.trigger"
    URL_PREVIEW = "url.preview.get"
    LEGACY_CARD = "card.action.trigger_v1"

    def __str__(self) -> str:
        return self.value

    @property
    def definition(self) -> str:
        """The ``$defs`` entry of ``answers.schema.json`` for this kind."""
        return _DEFINITIONS[self]


_DEFINITIONS: Final = {
    AnswerKind.CARD_ACTION: "card_action_answer",
    AnswerKind.URL_PREVIEW: "url_preview_answer",
    AnswerKind.LEGACY_CARD: "legacy_card_answer",
}


@dataclass(frozen=True)
class Answer:
    """One judged answer. ``raw`` is the body as received, cut at the size bound when it was over it
    (``size`` is then the full length); ``body`` is the parsed object, or ``None`` when it could not be
    read; ``problems`` lists every violation, one line each (empty: a valid answer)."""

    kind: AnswerKind
    raw: bytes
    body: dict[str, Any] | None
    problems: tuple[str, ...] = ()
    size: int | None = None  # bytes received; None: len(raw)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def length(self) -> int:
        """Bytes received (``raw`` may be cut)."""
        return len(self.raw) if self.size is None else self.size

    @property
    def empty(self) -> bool:
        """The answer is exactly ``{}``: the card stays as it is (no preview data, for url.preview.get)."""
        return self.body == {}

    @property
    def toast(self) -> dict[str, Any] | None:
        return _object(self.body, "toast")

    @property
    def toast_type(self) -> str | None:
        return _string(self.toast, "type")

    @property
    def toast_content(self) -> str | None:
        return _string(self.toast, "content")

    @property
    def card(self) -> dict[str, Any] | None:
        """The card as answered: ``{type, data}`` for the new callbacks; for the legacy answer either its
        template part ``{type, data}`` or the card JSON itself (the answer less its toast); ``None`` when
        there is none."""
        if self.body is None:
            return None
        if self.kind is not AnswerKind.LEGACY_CARD:
            return _object(self.body, "card")
        if self._legacy_template:
            return {k: self.body[k] for k in ("type", "data") if k in self.body}
        if LEGACY_CARD_KEYS.intersection(self.body):
            return {k: v for k, v in self.body.items() if k != "toast"}
        return None

    @property
    def card_type(self) -> str | None:
        """``'raw'`` or ``'template'`` (a legacy card JSON counts as raw); ``None`` without a readable card."""
        card = self.card
        if card is None:
            return None
        if self.kind is AnswerKind.LEGACY_CARD and not self._legacy_template:
            return "raw"
        kind = card.get("type")
        return kind if kind in CARD_TYPES else None

    @property
    def card_data(self) -> dict[str, Any] | None:
        """The card JSON (raw) or the template reference ``{template_id, ...}`` (template)."""
        card = self.card
        if card is None:
            return None
        if self.kind is AnswerKind.LEGACY_CARD and not self._legacy_template:
            return card
        return _object(card, "data")

    @property
    def _legacy_template(self) -> bool:
        """A legacy answer in its template form (``type``/``data`` at the top level)."""
        return self.body is not None and ("type" in self.body or "data" in self.body)

    @property
    def inline(self) -> dict[str, Any] | None:
        """url.preview.get: the inline preview (title, i18n_title, image_key, url)."""
        return _object(self.body, "inline") if self.kind is AnswerKind.URL_PREVIEW else None

    def describe(self) -> str:
        """One line for a verdict: what a valid answer does (``toast success "Approved", card raw``), or the
        problems of an invalid one (see :func:`problems_line`)."""
        if not self.valid:
            return problems_line(self.problems)
        parts: list[str] = []
        if self.toast is not None:
            parts.append(f"toast {self.toast_type or '(no type)'} {_quote(_text(self.toast, 'content', 'i18n'))}")
        if self.inline is not None:
            parts.append(f"inline {_quote(_text(self.inline, 'title', 'i18n_title'))}")
        if self.card_type == "template":
            parts.append(f"card template {_string(self.card_data, 'template_id') or ''}".rstrip())
        elif self.card_type == "raw":
            parts.append("card raw")
        if parts:
            return ", ".join(parts)
        nothing = "no preview" if self.kind is AnswerKind.URL_PREVIEW else "card unchanged"
        return f"{{}} ({nothing})" if self.empty else f"no card ({nothing})"

    def to_json(self) -> dict[str, Any]:
        """For transcripts: the parsed body, or (when there is none) the start of the raw bytes as text."""
        out: dict[str, Any] = {"kind": self.kind.value, "valid": self.valid, "problems": list(self.problems),
                               "size": self.length, "body": self.body}
        if self.body is None:
            out["raw"] = self.raw.decode("utf-8", errors="replace")[:_RAW_IN_TRANSCRIPT]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Answer:
        """Inverse of :meth:`to_json` (``raw`` is rebuilt from the body when it was not kept)."""
        body = data.get("body")
        if isinstance(body, dict):
            raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        else:
            body = None
            raw = str(data.get("raw", "")).encode("utf-8")
        return cls(kind=AnswerKind(data["kind"]), raw=raw, body=body,
                   problems=tuple(str(p) for p in data.get("problems", ())), size=int(data.get("size", len(raw))))


def judge_answer(kind: AnswerKind | str, body: bytes, *, max_bytes: int = MAX_ANSWER_BYTES,
                 max_card_bytes: int | None = CARD_MAX_BYTES) -> Answer:
    """Parse and validate one answer. Never raises on a bad answer: everything wrong is in ``problems``.

    ``max_bytes`` bounds the answer read (larger: one problem, not parsed); ``max_card_bytes`` bounds the
    answered card as compact JSON (``None``: not checked)."""
    kind = AnswerKind(kind)
    size = len(body)
    if size > max_bytes:
        return Answer(kind, bytes(body[:max_bytes]), None,
                      (f"answer is {size:,} bytes (limit {max_bytes:,})",), size)
    raw = bytes(body)
    parsed, problem = _parse(raw)
    if problem is not None:
        return Answer(kind, raw, None, (problem,), size)
    assert parsed is not None
    problems = _schema_problems(kind, parsed)
    answer = Answer(kind, raw, parsed, (), size)
    if max_card_bytes is not None:
        problems.extend(_card_size_problems(answer, max_card_bytes))
    return Answer(kind, raw, parsed, tuple(_unique(problems)), size)


def problems_line(problems: Iterable[str], *, shown: int = 3) -> str:
    """The problems of an answer on one line: the first ``shown`` joined by ``; `` and how many more."""
    items = list(problems)
    line = "; ".join(items[:shown])
    return line + (f" (and {len(items) - shown} more)" if len(items) > shown else "")


def decode_ack_data(data: str | bytes) -> bytes:
    """The answer carried by a long-connection ack: the ``data`` field of the ack payload
    (``{"code": 200, "data": "<base64 of JSON>"}``) decoded from standard, padded base64, as lark-oapi
    (``base64.b64encode``), node-sdk (``Buffer.toString('base64')``) and Go (``[]byte`` in JSON) write it.
    Raises :class:`AnswerDecodeError` for anything else; ``""`` decodes to ``b""`` (an empty answer)."""
    if isinstance(data, str):
        try:
            encoded = data.encode("ascii")
        except UnicodeEncodeError:
            raise AnswerDecodeError("ack data is not base64: it holds non-ASCII characters") from None
    elif isinstance(data, (bytes, bytearray)):
        encoded = bytes(data)
    else:
        raise AnswerDecodeError(f"ack data is {a(data)}, not a base64 string")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AnswerDecodeError(f"ack data is not base64: {exc}") from None


# -- parsing -------------------------------------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    if not raw.strip():
        return None, "answer is empty (expected a JSON object; {} is the answer that changes nothing)"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"answer is not UTF-8: {exc}"
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:  # json.JSONDecodeError included
        return None, f"answer is not JSON: {exc}"
    except RecursionError:
        return None, "answer is not JSON this simulator can read: nested too deeply"
    if not isinstance(doc, dict):
        kind = "JSON null" if doc is None else "a JSON " + json_type(doc)
        return None, f"answer is {kind}, not an object"
    return doc, None


# -- structure ------------------------------------------------------------------------------------------------

@cache
def _validator(kind: AnswerKind) -> Draft202012Validator:
    doc = json.loads((schemas_dir() / ANSWERS_SCHEMA).read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(doc["$id"], Resource.from_contents(doc))
    return Draft202012Validator({"$ref": f"{doc['$id']}#/$defs/{kind.definition}"}, registry=registry)


def _schema_problems(kind: AnswerKind, body: dict[str, Any]) -> list[str]:
    errors = sorted(_validator(kind).iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    problems: list[str] = []
    for err in errors:
        problems.extend(describe(err))
    return problems


# -- size -----------------------------------------------------------------------------------------------------

def _card_size_problems(answer: Answer, limit: int) -> list[str]:
    data = answer.card_data
    if data is None:
        return []
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size <= limit:
        return []
    if answer.kind is not AnswerKind.LEGACY_CARD:
        what = "card.data"
    else:  # the card JSON is the answer itself, or its template part is ``data``
        what = "the answered card" if answer.card_type == "raw" else "data"
    return [f"{what} is {size:,} bytes as compact JSON (a card is limited to 30 KB, {limit:,} bytes)"]


# -- small helpers ----------------------------------------------------------------------------------------------

def _object(container: Mapping[str, Any] | None, key: str) -> dict[str, Any] | None:
    if container is None:
        return None
    value = container.get(key)
    return value if isinstance(value, dict) else None


def _string(container: Mapping[str, Any] | None, key: str) -> str | None:
    if container is None:
        return None
    value = container.get(key)
    return value if isinstance(value, str) else None


def _text(container: Mapping[str, Any], key: str, i18n_key: str) -> str:
    """``container[key]``, else the first of its i18n texts (``zh_cn`` first), else ``''``."""
    text = _string(container, key)
    if text is not None:
        return text
    i18n = _object(container, i18n_key) or {}
    first = i18n.get("zh_cn", next(iter(i18n.values()), ""))
    return first if isinstance(first, str) else ""


def _quote(text: str) -> str:
    shown = text if len(text) <= SHOWN_VALUE else text[:SHOWN_VALUE] + "..."
    return json.dumps(shown, ensure_ascii=False)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))

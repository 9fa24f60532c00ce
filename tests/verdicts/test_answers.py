"""simulator.verdicts.answers: judging callback answers (card.action.trigger, url.preview.get, legacy card)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from simulator.errors import AnswerDecodeError, SimulatorError
from simulator.resources import schemas_dir
from simulator.verdicts.answers import (
    CARD_MAX_BYTES,
    CARD_TYPES,
    LEGACY_CARD_KEYS,
    MAX_ANSWER_BYTES,
    TOAST_TYPES,
    Answer,
    AnswerKind,
    decode_ack_data,
    judge_answer,
)

CA, UP, LEGACY = AnswerKind.CARD_ACTION, AnswerKind.URL_PREVIEW, AnswerKind.LEGACY_CARD

RAW_CARD_1 = {"config": {"wide_screen_mode": True},
              "header": {"title": {"tag": "plain_text", "content": "Done"}, "template": "green"},
              "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "**ok**"}}]}
RAW_CARD_2 = {"schema": "2.0", "config": {"update_multi": True},
              "body": {"elements": [{"tag": "markdown", "content": "ok"}]}}
TEMPLATE = {"template_id": "AAqi6xJ8rabcd", "template_version_name": "1.0.0",
            "template_variable": {"open_id": "ou_d506829e8b6a17607e56bcd6b1aabcef"}}
LANGS = "zh_cn|en_us|zh_hk|zh_tw|ja_jp|id_id|vi_vn|th_th|pt_br|es_es|ko_kr|de_de|fr_fr|it_it|ru_ru|ms_my|hi_in"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def test_answers_schema_is_a_valid_2020_12_schema() -> None:
    doc = json.loads((schemas_dir() / "callbacks" / "answers.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(doc)
    assert {"card_action_answer", "url_preview_answer", "legacy_card_answer"} <= set(doc["$defs"])


# -- valid answers -------------------------------------------------------------------------------------------

VALID: list[tuple[AnswerKind, Any]] = [
    (CA, {}),
    (CA, {"toast": {"type": "info", "content": "卡片交互成功"}}),
    (CA, {"toast": {"type": "success", "content": "ok", "i18n": {"zh_cn": "成功了！", "en_us": "success!",
                                                                 "ja_jp": "成功した!"}}}),
    (CA, {"toast": {"i18n": {"en_us": "no type, no content"}}}),  # type and content are optional (doc)
    (CA, {"card": {"type": "raw", "data": RAW_CARD_1}}),
    (CA, {"card": {"type": "raw", "data": RAW_CARD_2}}),
    (CA, {"card": {"type": "raw", "data": {}}}),  # a blank card is a valid card (card JSON docs)
    (CA, {"card": {"type": "template", "data": TEMPLATE}}),
    (CA, {"card": {"type": "template", "data": {"template_id": "ctp_igYkzabcef"}}}),
    (CA, {"toast": {"type": "warning", "content": "w"}, "card": {"type": "template", "data": TEMPLATE}}),
    (UP, {}),
    (UP, {"inline": {"title": "链接预览测试"}}),
    (UP, {"inline": {"i18n_title": {"zh_cn": "smart card", "hi_in": "x"}, "image_key": "img_v3_025m_5xx",
                     "url": {"copy_url": "https://a/b", "ios": "i", "android": "a", "pc": "p", "web": "w"}},
          "card": {"type": "template", "data": {"template_id": "AAqVG2xxxxxBS", "template_version_name": "1.0.0",
                                                "template_variable": {}}}}),
    (UP, {"card": {"type": "raw", "data": RAW_CARD_1}}),
    (LEGACY, {}),
    (LEGACY, {"msg": "success"}),  # lark-oapi's CardActionHandler answer when the handler returns None
    (LEGACY, RAW_CARD_1),
    (LEGACY, {"toast": {"type": "error", "content": "nope"}, **RAW_CARD_1}),
    (LEGACY, RAW_CARD_2),
    (LEGACY, {"i18n_elements": {"zh_cn": [], "en_us": []}, "card_link": {"url": "https://x"}}),
    (LEGACY, {"toast": {"type": "info", "content": "t"}, "type": "template", "data": TEMPLATE}),
    (LEGACY, {"toast": {"type": "info", "content": "only a toast"}}),
]


@pytest.mark.parametrize(("kind", "body"), VALID, ids=[f"{k.name}-{i}" for i, (k, _) in enumerate(VALID)])
def test_valid_answers(kind: AnswerKind, body: Any) -> None:
    answer = judge_answer(kind, dumps(body))
    assert answer.problems == ()
    assert answer.valid and answer.body == body and answer.kind is kind


# -- invalid answers: the exact messages ----------------------------------------------------------------------

INVALID: list[tuple[AnswerKind, bytes | Any, tuple[str, ...]]] = [
    # reading
    (CA, b"", ("answer is empty (expected a JSON object; {} is the answer that changes nothing)",)),
    (CA, b"  \n", ("answer is empty (expected a JSON object; {} is the answer that changes nothing)",)),
    (CA, b"ok", ("answer is not JSON: Expecting value: line 1 column 1 (char 0)",)),
    (CA, b'{"toast": ', ("answer is not JSON: Expecting value: line 1 column 11 (char 10)",)),
    (CA, b'{"x": NaN}', ("answer is not JSON: NaN is not valid JSON",)),
    (CA, b"\xff{}", ("answer is not UTF-8: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",)),
    (CA, b'\xef\xbb\xbf{}',
     ("answer is not JSON: Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",)),
    (CA, b"[]", ("answer is a JSON array, not an object",)),
    (CA, b'"{}"', ("answer is a JSON string, not an object",)),
    (CA, b"null", ("answer is JSON null, not an object",)),
    (LEGACY, b"200", ("answer is a JSON number, not an object",)),
    # toast
    (CA, {"toast": {"type": "ok", "content": "x"}}, ("toast.type 'ok' is not one of info|success|warning|error",)),
    (CA, {"toast": {"type": "INFO", "content": "x"}}, ("toast.type 'INFO' is not one of info|success|warning|error",)),
    (CA, {"toast": {"type": "info"}}, ("toast has neither content nor i18n",)),
    (CA, {"toast": "done"}, ("toast is a string, not an object",)),
    (CA, {"toast": None}, ("toast is null, not an object",)),
    (CA, {"toast": {"content": 3}}, ("toast.content is a number, not a string",)),
    (CA, {"toast": {"content": "x", "i18n": {"en": "x", "zh_cn": ["x"]}}},
     (f"toast.i18n key 'en' is not one of {LANGS}", "toast.i18n.zh_cn is an array, not a string")),
    (CA, {"toast": {"content": "x", "duration": 3}},
     ("unknown field toast.duration (allowed: type|content|i18n)",)),
    # card
    (CA, {"card": {"type": "rawx", "data": {}}}, ("card.type 'rawx' is not one of raw|template",)),
    (CA, {"card": {"data": RAW_CARD_1}}, ("card.type is missing",)),
    (CA, {"card": {"type": "raw"}}, ("card.data is missing",)),
    (CA, {"card": {"type": "template", "data": {}}}, ("card.data.template_id is missing",)),
    (CA, {"card": {"type": "template", "data": {"template_id": ""}}}, ("card.data.template_id is empty",)),
    (CA, {"card": {"type": "template", "data": {"template_id": "AAq", "template_variables": {"a": 1}}}},
     ("unknown field card.data.template_variables (allowed: template_id|template_version_name|template_variable)",)),
    (CA, {"card": {"type": "template", "data": {"template_id": "AAq", "template_variable": "a=1"}}},
     ("card.data.template_variable is a string, not an object",)),
    (CA, {"card": {"type": "raw", "data": json.dumps(RAW_CARD_1)}},
     ("card.data is a string, not an object (it holds JSON text: answer the object itself, not a string of it)",)),
    (CA, {"card": {"type": "raw", "data": RAW_CARD_1, "template_id": "x"}},
     ("unknown field card.template_id (allowed: type|data)",)),
    (CA, {"card": {"type": "raw", "data": {"schema": "3.0", "elements": {"tag": "div"}}}},
     ("card.data.elements is an object, not an array", "card.data.schema '3.0' is not one of 1.0|2.0")),
    (CA, {"card": {"type": "raw", "data": {"schema": 2.0, "body": []}}},
     ("card.data.body is an array, not an object", "card.data.schema 2.0 is not one of 1.0|2.0")),
    (CA, {"card": {"type": "raw", "data": {"header": "title", "card_link": "https://x"}}},
     ("card.data.card_link is a string, not an object", "card.data.header is a string, not an object")),
    # top level
    (CA, {"toasts": {"type": "info", "content": "x"}}, ("unknown field toasts (allowed: toast|card)",)),
    (CA, {"msg": "success"}, ("unknown field msg (allowed: toast|card)",)),
    (CA, {"inline": {"title": "x"}}, ("unknown field inline (allowed: toast|card)",)),
    # url.preview.get
    (UP, {"inline": {"title": 1}}, ("inline.title is a number, not a string",)),
    (UP, {"inline": {"i18n_title": {"en_US": "x"}}}, (f"inline.i18n_title key 'en_US' is not one of {LANGS}",)),
    (UP, {"inline": {"title": "x", "url": {"pc_url": "u"}}},
     ("unknown field inline.url.pc_url (allowed: copy_url|ios|android|pc|web)",)),
    (UP, {"inline": {"title": "x", "image_key": ""}}, ("inline.image_key is empty",)),
    (UP, {"toast": {"type": "info", "content": "x"}}, ("unknown field toast (allowed: inline|card)",)),
    (UP, {"card": {"type": "template", "data": {"template_version_name": "1.0.0"}}},
     ("card.data.template_id is missing",)),
    # legacy
    (LEGACY, {"card": {"type": "raw", "data": RAW_CARD_1}},
     ("card is the new callback's wrapper; the legacy answer is the card JSON itself (or type: template with data)",)),
    (LEGACY, {"type": "template"}, ("data is missing (required with type)",)),
    (LEGACY, {"data": TEMPLATE}, ("type is missing (required with data)",)),
    (LEGACY, {"type": "raw", "data": TEMPLATE}, ("type 'raw' is not 'template'",)),
    (LEGACY, {"type": "template", "data": {"template_variable": {}}}, ("data.template_id is missing",)),
    (LEGACY, {"toast": {"type": "fail", "content": "x"}, **RAW_CARD_1},
     ("toast.type 'fail' is not one of info|success|warning|error",)),
    (LEGACY, {"elements": {"tag": "div"}}, ("elements is an object, not an array",)),
    (LEGACY, {"schema": "2", "body": {}}, ("schema '2' is not one of 1.0|2.0",)),
]


@pytest.mark.parametrize(("kind", "body", "problems"), INVALID,
                         ids=[f"{k.name}-{i}" for i, (k, _, _) in enumerate(INVALID)])
def test_invalid_answers(kind: AnswerKind, body: bytes | Any, problems: tuple[str, ...]) -> None:
    raw = body if isinstance(body, bytes) else dumps(body)
    answer = judge_answer(kind, raw)
    assert answer.problems == problems
    assert not answer.valid
    assert all("\n" not in p for p in answer.problems)


def test_all_problems_are_reported_in_path_order() -> None:
    body = {"toast": {"type": "ok"}, "card": {"type": "template", "data": {"template_variables": {}}}, "x": 1}
    assert judge_answer(CA, dumps(body)).problems == (
        "unknown field x (allowed: toast|card)",
        "card.data.template_id is missing",
        "unknown field card.data.template_variables (allowed: template_id|template_version_name|template_variable)",
        "toast has neither content nor i18n",
        "toast.type 'ok' is not one of info|success|warning|error",
    )


def test_long_wrong_values_are_cut_in_the_message() -> None:
    answer = judge_answer(CA, dumps({"toast": {"type": "x" * 500, "content": "c"}}))
    (problem,) = answer.problems
    assert problem == "toast.type '" + "x" * 60 + "...' is not one of info|success|warning|error"


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    assert judge_answer(CA, b"[" * 100_000 + b"]" * 100_000).problems == (
        "answer is not JSON this simulator can read: nested too deeply",)


def test_the_module_constants_match_the_schema() -> None:
    doc = json.loads((schemas_dir() / "callbacks" / "answers.schema.json").read_text(encoding="utf-8"))
    assert list(TOAST_TYPES) == doc["$defs"]["toast"]["properties"]["type"]["enum"]
    assert list(CARD_TYPES) == doc["$defs"]["card"]["properties"]["type"]["enum"]
    assert set(LEGACY_CARD_KEYS) == set(doc["$defs"]["raw_card"]["properties"])


def test_kind_may_be_given_by_its_callback_type() -> None:
    assert judge_answer("url.preview.get", b"{}").kind is UP
    assert str(AnswerKind.LEGACY_CARD) == "card.action.trigger_v1"
    with pytest.raises(ValueError):
        judge_answer("im.message.receive_v1", b"{}")


# -- sizes ---------------------------------------------------------------------------------------------------

def test_an_oversized_answer_is_not_parsed_and_its_raw_is_cut() -> None:
    body = b"{" + b" " * (3 * 1024 * 1024 - 2) + b"}"
    answer = judge_answer(CA, body)
    assert answer.problems == ("answer is 3,145,728 bytes (limit 1,048,576)",)
    assert answer.body is None and len(answer.raw) == MAX_ANSWER_BYTES and answer.length == 3 * 1024 * 1024
    assert judge_answer(CA, b'{"toast": {"content": "1234"}}', max_bytes=10).problems == (
        "answer is 30 bytes (limit 10)",)
    assert judge_answer(CA, b"{}", max_bytes=2).valid


def big_card(size: int) -> dict[str, Any]:
    """A raw card of exactly ``size`` bytes as compact JSON."""
    card: dict[str, Any] = {"elements": [{"tag": "markdown", "content": ""}]}
    base = len(json.dumps(card, separators=(",", ":")))
    card["elements"][0]["content"] = "x" * (size - base)
    assert len(json.dumps(card, separators=(",", ":"))) == size
    return card


def test_the_card_is_held_to_30_kb() -> None:
    assert CARD_MAX_BYTES == 30_720
    assert judge_answer(CA, dumps({"card": {"type": "raw", "data": big_card(30_720)}})).valid
    over = judge_answer(CA, dumps({"card": {"type": "raw", "data": big_card(30_721)}}))
    assert over.problems == ("card.data is 30,721 bytes as compact JSON (a card is limited to 30 KB, 30,720 bytes)",)
    assert judge_answer(CA, dumps({"card": {"type": "raw", "data": big_card(30_721)}}), max_card_bytes=None).valid
    legacy = judge_answer(LEGACY, dumps({"toast": {"content": "t"}, **big_card(40_000)}))
    assert legacy.problems == (
        "the answered card is 40,000 bytes as compact JSON (a card is limited to 30 KB, 30,720 bytes)",)
    variables = {"template_id": "AAq", "template_variable": {"v": "x" * 31_000}}
    assert judge_answer(UP, dumps({"card": {"type": "template", "data": variables}})).problems == (
        "card.data is 31,050 bytes as compact JSON (a card is limited to 30 KB, 30,720 bytes)",)
    assert judge_answer(LEGACY, dumps({"type": "template", "data": variables})).problems == (
        "data is 31,050 bytes as compact JSON (a card is limited to 30 KB, 30,720 bytes)",)


def test_card_size_counts_utf8_bytes_not_characters() -> None:
    card = {"elements": [{"tag": "markdown", "content": "飞" * 10_300}]}  # 30,900 bytes, 10,3xx characters
    assert not judge_answer(CA, dumps({"card": {"type": "raw", "data": card}})).valid


# -- the accessors ----------------------------------------------------------------------------------------------

def test_accessors_of_a_card_action_answer() -> None:
    body = {"toast": {"type": "info", "content": "ok"}, "card": {"type": "raw", "data": RAW_CARD_2}}
    a = judge_answer(CA, dumps(body))
    assert a.toast == {"type": "info", "content": "ok"} and a.toast_type == "info" and a.toast_content == "ok"
    assert a.card == {"type": "raw", "data": RAW_CARD_2} and a.card_type == "raw" and a.card_data == RAW_CARD_2
    assert not a.empty and a.inline is None
    t = judge_answer(CA, dumps({"card": {"type": "template", "data": TEMPLATE}}))
    assert t.toast is None and t.toast_type is None and t.card_type == "template" and t.card_data == TEMPLATE
    e = judge_answer(CA, b"{}")
    assert e.empty and e.card is None and e.card_type is None and e.card_data is None and e.toast is None
    bad = judge_answer(CA, dumps({"card": {"type": "rawx", "data": "x"}, "toast": {"type": 1}}))
    assert bad.card_type is None and bad.card_data is None and bad.toast_type is None and bad.toast_content is None
    unread = judge_answer(CA, b"nope")
    assert unread.body is None and unread.card is None and unread.toast is None and not unread.empty


def test_accessors_of_a_url_preview_answer() -> None:
    a = judge_answer(UP, dumps({"inline": {"title": "t"}, "card": {"type": "template", "data": TEMPLATE}}))
    assert a.inline == {"title": "t"} and a.card_type == "template" and a.card_data == TEMPLATE
    assert judge_answer(UP, b"{}").inline is None


def test_accessors_of_a_legacy_answer() -> None:
    raw = judge_answer(LEGACY, dumps({"toast": {"type": "info", "content": "ok"}, **RAW_CARD_1}))
    assert raw.toast_type == "info" and raw.card == RAW_CARD_1
    assert raw.card_type == "raw" and raw.card_data == RAW_CARD_1
    tpl = judge_answer(LEGACY, dumps({"type": "template", "data": TEMPLATE}))
    assert tpl.card == {"type": "template", "data": TEMPLATE} and tpl.card_type == "template"
    assert tpl.card_data == TEMPLATE
    for nothing in (b"{}", b'{"msg":"success"}', b'{"toast":{"content":"x"}}'):
        a = judge_answer(LEGACY, nothing)
        assert a.valid and a.card is None and a.card_type is None and a.card_data is None
    assert judge_answer(LEGACY, b"{}").empty and not judge_answer(LEGACY, b'{"msg":"success"}').empty


def test_to_json_and_back() -> None:
    a = judge_answer(CA, dumps({"toast": {"type": "ok", "content": "飞书"}}))
    doc = a.to_json()
    assert doc == {"kind": "card.action.trigger", "valid": False, "size": len(a.raw),
                   "problems": ["toast.type 'ok' is not one of info|success|warning|error"],
                   "body": {"toast": {"type": "ok", "content": "飞书"}}}
    assert json.loads(json.dumps(doc)) == doc
    back = Answer.from_json(doc)
    assert (back.kind, back.body, back.problems, back.length) == (a.kind, a.body, a.problems, a.length)
    unread = judge_answer(LEGACY, b"<html>" + b"x" * 5000)
    doc = unread.to_json()
    assert doc["body"] is None and doc["raw"] == "<html>" + "x" * 1994 and doc["size"] == 5006
    back = Answer.from_json(doc)
    assert back.body is None and back.problems == unread.problems and back.length == 5006


# -- the long connection's ack data --------------------------------------------------------------------------

def test_decode_ack_data() -> None:
    answer = b'{"toast": {"type": "info", "content": "ok"}}'
    encoded = base64.b64encode(answer)
    assert decode_ack_data(encoded) == answer
    assert decode_ack_data(encoded.decode()) == answer
    assert decode_ack_data("") == b""
    assert judge_answer(CA, decode_ack_data(encoded.decode())).toast_type == "info"


@pytest.mark.parametrize(("data", "message"), [
    ("eyJ9", None),  # valid base64 of '{"}' -- decodes; judging it is judge_answer's job
    ("e30", "ack data is not base64: Incorrect padding"),
    ("e3!=", "ack data is not base64: Only base64 data is allowed"),
    ("e30=\n", "ack data is not base64: "),  # the binascii wording differs between Python versions
    ("e30_", "ack data is not base64: Only base64 data is allowed"),  # urlsafe alphabet: not what the SDKs send
    ("飞书", "ack data is not base64: it holds non-ASCII characters"),
    (None, "ack data is null, not a base64 string"),
    (123, "ack data is a number, not a base64 string"),
])
def test_decode_ack_data_errors(data: Any, message: str | None) -> None:
    if message is None:
        assert decode_ack_data(data) == b'{"}'
        return
    with pytest.raises(AnswerDecodeError) as info:
        decode_ack_data(data)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, SimulatorError)


# -- answers written by the official Python SDK ----------------------------------------------------------------

VT = "vt_0123456789abcdef"
OPEN_ID = "ou_" + "1" * 32


def card_action_request(token: str = VT) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {"event_id": "f7984f25108f8137722bb63cee927e66", "token": token, "create_time": "1700000000000",
                   "event_type": "card.action.trigger", "tenant_key": "2df73991750abcde",
                   "app_id": "cli_a5fb0ae6a4a1b2c3"},
        "event": {
            "operator": {"tenant_key": "2df73991750abcde", "open_id": OPEN_ID, "union_id": "on_" + "2" * 32},
            "token": "c-" + "a" * 40,
            "action": {"value": {"key": "value"}, "tag": "button"},
            "host": "im_message",
            "context": {"open_message_id": "om_" + "3" * 32, "open_chat_id": "oc_" + "4" * 32},
        },
    }


def url_preview_request(token: str = VT) -> dict[str, Any]:
    req = card_action_request(token)
    req["header"]["event_type"] = "url.preview.get"
    req["event"] = {"operator": {"tenant_key": "2df73991750abcde", "open_id": OPEN_ID}, "host": "im_message",
                    "context": {"url": "https://example.com/doc/1", "preview_token": "pt_1",
                                "open_message_id": "om_" + "3" * 32, "open_chat_id": "oc_" + "4" * 32}}
    return req


def lark_marshal(result: Any) -> bytes:
    """The bytes lark-oapi 1.7.5 answers for a callback handler's result (dispatcher_handler.do:
    ``JSON.marshal(result).encode(UTF_8)``)."""
    import lark_oapi as lark

    return str(lark.JSON.marshal(result)).encode("UTF-8")


SDK_CARD_ACTION: list[tuple[dict[str, Any] | None, tuple[str, ...]]] = [
    ({"toast": {"type": "info", "content": "卡片回传成功 from python sdk"}}, ()),
    ({"toast": {"type": "ok", "content": "x"}}, ("toast.type 'ok' is not one of info|success|warning|error",)),
    ({"card": {"type": "raw", "data": RAW_CARD_2}}, ()),
    ({"toast": {"type": "success", "i18n": {"zh_cn": "好", "en_us": "ok"}},
      "card": {"type": "template", "data": TEMPLATE}}, ()),
    ({"card": {"type": "template", "data": {"template_variable": {}}}}, ("card.data.template_id is missing",)),
    (None, ()),  # P2CardActionTriggerResponse() -> {}
    ({"toasts": {"type": "info", "content": "x"}}, ()),  # the SDK model drops unknown keys: the app answers {}
]


@pytest.mark.lark_sdk
@pytest.mark.parametrize(("content", "problems"), SDK_CARD_ACTION)
def test_python_sdk_card_action_responses(content: dict[str, Any] | None, problems: tuple[str, ...]) -> None:
    from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse

    body = lark_marshal(P2CardActionTriggerResponse(content))
    answer = judge_answer(CA, body)
    assert answer.problems == problems
    if content is None or "toasts" in content:
        assert body == b"{}" and answer.empty


@pytest.mark.lark_sdk
def test_python_sdk_response_objects_built_field_by_field() -> None:
    from lark_oapi.event.callback.model.p2_card_action_trigger import (
        CallBackCard,
        CallBackToast,
        P2CardActionTriggerResponse,
    )

    resp = P2CardActionTriggerResponse()
    resp.toast = CallBackToast()
    resp.toast.type = "warning"
    resp.toast.content = "稍后再试"
    resp.card = CallBackCard()
    resp.card.type = "raw"
    resp.card.data = RAW_CARD_1
    body = lark_marshal(resp)
    assert body.startswith(b'{"toast": {"type": "warning"')  # json.dumps defaults, ensure_ascii=False
    answer = judge_answer(CA, body)
    assert answer.valid and answer.toast_content == "稍后再试" and answer.card_data == RAW_CARD_1
    resp.toast.type = "fatal"
    resp.card.type = "json"
    assert judge_answer(CA, lark_marshal(resp)).problems == (
        "card.type 'json' is not one of raw|template", "toast.type 'fatal' is not one of info|success|warning|error")


SDK_URL_PREVIEW: list[tuple[dict[str, Any] | None, tuple[str, ...]]] = [
    ({"inline": {"title": "链接预览测试"}}, ()),
    ({"inline": {"i18n_title": {"zh_cn": "预览", "en_us": "preview"}, "image_key": "img_v3_1",
                 "url": {"pc": "https://p", "web": "https://w"}},
      "card": {"type": "template", "data": TEMPLATE}}, ()),
    ({"inline": {"i18n_title": {"zh-CN": "预览"}}}, (f"inline.i18n_title key 'zh-CN' is not one of {LANGS}",)),
    ({"card": {"type": "raw", "data": "{}"}},
     ("card.data is a string, not an object (it holds JSON text: answer the object itself, not a string of it)",)),
    (None, ()),
]


@pytest.mark.lark_sdk
@pytest.mark.parametrize(("content", "problems"), SDK_URL_PREVIEW)
def test_python_sdk_url_preview_responses(content: dict[str, Any] | None, problems: tuple[str, ...]) -> None:
    from lark_oapi.event.callback.model.p2_url_preview_get import P2URLPreviewGetResponse

    answer = judge_answer(UP, lark_marshal(P2URLPreviewGetResponse(content)))
    assert answer.problems == problems


@pytest.mark.lark_sdk
def test_python_sdk_webhook_answers_end_to_end() -> None:
    """Through EventDispatcherHandler.do, as a webhook receiver built on the SDK answers (no encrypt key: the
    token is checked, the signature is not)."""
    import lark_oapi as lark
    from lark_oapi.core.model import RawRequest
    from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse
    from lark_oapi.event.callback.model.p2_url_preview_get import P2URLPreviewGetResponse

    seen: list[Any] = []

    def on_card(data: Any) -> Any:
        seen.append(data)
        return P2CardActionTriggerResponse({"toast": {"type": "success", "content": data.event.action.value["key"]}})

    def on_preview(data: Any) -> Any:
        return P2URLPreviewGetResponse({"inline": {"title": data.event.context.url}})

    handler = (lark.EventDispatcherHandler.builder("", VT)
               .register_p2_card_action_trigger(on_card).register_p2_url_preview_get(on_preview).build())

    def post(payload: dict[str, Any]) -> tuple[int, bytes]:
        req = RawRequest()
        req.uri = "/webhook"
        req.headers = {"Content-Type": "application/json"}
        req.body = json.dumps(payload, separators=(",", ":")).encode()
        resp = handler.do(req)
        return resp.status_code, resp.content

    status, body = post(card_action_request())
    assert status == 200
    answer = judge_answer(CA, body)
    assert answer.valid and answer.toast_type == "success" and answer.toast_content == "value"
    assert seen[0].event.operator.open_id == OPEN_ID and seen[0].event.token == "c-" + "a" * 40

    status, body = post(url_preview_request())
    assert status == 200
    preview = judge_answer(UP, body)
    assert preview.valid and preview.inline == {"title": "https://example.com/doc/1"}


@pytest.mark.lark_sdk
def test_python_sdk_long_connection_ack_data() -> None:
    """lark_oapi/ws/client.py: ``resp.data = base64.b64encode(JSON.marshal(result).encode(UTF_8))`` in a
    ``Response`` marshalled as the ack payload."""
    import lark_oapi as lark
    from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse
    from lark_oapi.ws.model import Response

    handler = lark.EventDispatcherHandler.builder("", "").register_p2_card_action_trigger(
        lambda data: P2CardActionTriggerResponse({"toast": {"type": "info", "content": "ok"}})).build()
    result = handler._do_without_validation(json.dumps(card_action_request(token="")).encode())
    resp = Response(code=200)
    resp.data = base64.b64encode(str(lark.JSON.marshal(result)).encode("UTF-8"))
    payload = json.loads(str(lark.JSON.marshal(resp)))
    assert payload["code"] == 200
    answer = judge_answer(CA, decode_ack_data(payload["data"]))
    assert answer.valid and answer.body == {"toast": {"type": "info", "content": "ok"}}


@pytest.mark.lark_sdk
def test_python_sdk_legacy_handler_answers() -> None:
    """lark.CardActionHandler answers the card JSON a handler returns, or {"msg":"success"} for None."""
    import lark_oapi as lark
    from lark_oapi.core.model import RawRequest

    body = json.dumps({"open_id": OPEN_ID, "tenant_key": "t", "open_message_id": "om_" + "3" * 32,
                       "token": "c-" + "a" * 40, "action": {"tag": "button", "value": {"k": "v"}}}).encode()
    for result, expected in ((RAW_CARD_1, RAW_CARD_1), (None, {"msg": "success"}),
                             ({"toast": {"type": "info", "content": "x"}, **RAW_CARD_2}, None)):
        handler = lark.CardActionHandler.builder("", "").register(lambda card, r=result: r).build()
        req = RawRequest()
        req.headers = {}
        req.body = body
        resp = handler.do(req)
        assert resp.status_code == 200
        answer = judge_answer(LEGACY, resp.content)
        assert answer.valid, answer.problems
        if expected is not None:
            assert answer.body == expected

"""simulator.wire.legacy_card: the legacy card request's SHA-1 signature, checked against the official SDKs; and
the request schemas of the three callbacks (schemas/callbacks/), checked on hand-written examples."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from simulator.resources import schemas_dir
from simulator.verdicts.answers import AnswerKind, judge_answer
from simulator.wire.legacy_card import (
    NONCE_HEADER,
    REFRESH_TOKEN_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    legacy_body,
    legacy_card_headers,
    legacy_challenge_body,
    legacy_challenge_problem,
    legacy_signature,
    verify_legacy_signature,
)
from tests.node_runner import node_env, requires_node

VT = "qjSwzC4T1uhJvt0123456789abcdef"
ENCRYPT_KEY = "encrypt_key_0123456789"
TS, NONCE = "1700000000", "4815162342"
OPEN_ID = "ou_2bbc27672c6ce4f0c2c73856f73ccbdb"

LEGACY_REQUEST: dict[str, Any] = {
    "open_id": OPEN_ID,
    "user_id": "867abcde",
    "open_message_id": "om_80b720ece8e243ac1e2f47b511f9550a",
    "open_chat_id": "oc_e4d2605ca917e695f54f11aaf56abcde",
    "tenant_key": "12a813fb180f1758",
    "token": "c-6dbc76b1064ca7d62985361debd1b03bf326a154",
    "action": {"value": {"key": "value", "飞书": "卡片"}, "tag": "button", "option": "", "timezone": "Asia/Shanghai",
               "name": "Button_lvkepfu3", "form_value": {"field name1": ["selectDemo1", "selectDemo2"]}},
}


# -- the signature ---------------------------------------------------------------------------------------------

def test_signature_vectors() -> None:
    assert legacy_signature("1700000000", "123456789", "vt_example", b'{"open_id":"ou_x"}') == (
        "21392fa582e87378e9e35bca75d8bd6a0f9973c5")
    # the string part is UTF-8, the body its own bytes
    assert legacy_signature("1700000000", "123456789", "令牌", '{"k":"飞书"}'.encode()) == (
        "88e95235e10c3da841246de66269df87bb014a32")


def test_signature_is_sha1_of_timestamp_nonce_token_body_in_that_order() -> None:
    body = legacy_body(LEGACY_REQUEST)
    expected = hashlib.sha1(TS.encode() + NONCE.encode() + VT.encode() + body).hexdigest()
    assert legacy_signature(TS, NONCE, VT, body) == expected
    assert legacy_signature(NONCE, TS, VT, body) != expected
    assert legacy_signature(TS, NONCE, VT, body + b" ") != expected
    event_algorithm = hashlib.sha256((TS + NONCE + VT).encode() + body).hexdigest()
    assert legacy_signature(TS, NONCE, VT, body) != event_algorithm and len(expected) == 40


def test_headers() -> None:
    body = legacy_body(LEGACY_REQUEST)
    headers = legacy_card_headers(TS, NONCE, VT, body)
    assert headers == {"X-Lark-Request-Timestamp": TS, "X-Lark-Request-Nonce": NONCE,
                       "X-Lark-Signature": legacy_signature(TS, NONCE, VT, body)}
    assert tuple(headers) == (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
    with_refresh = legacy_card_headers(TS, NONCE, VT, body, refresh_token="rt-1")
    assert with_refresh[REFRESH_TOKEN_HEADER] == "rt-1" and REFRESH_TOKEN_HEADER == "X-Refresh-Token"


def test_verify_legacy_signature() -> None:
    body = legacy_body(LEGACY_REQUEST)
    headers = legacy_card_headers(TS, NONCE, VT, body)
    assert verify_legacy_signature(headers, VT, body)
    assert verify_legacy_signature({k.lower(): v for k, v in headers.items()}, VT, body)  # as Node sees them
    assert not verify_legacy_signature(headers, VT + "x", body)
    assert not verify_legacy_signature(headers, VT, body.replace(b"button", b"buttoN"))
    assert not verify_legacy_signature({**headers, SIGNATURE_HEADER: headers[SIGNATURE_HEADER].upper()}, VT, body)
    assert not verify_legacy_signature({**headers, SIGNATURE_HEADER: "飞书"}, VT, body)
    for missing in headers:
        assert not verify_legacy_signature({k: v for k, v in headers.items() if k != missing}, VT, body)


def test_body_is_compact_utf8_in_key_order() -> None:
    body = legacy_body({"b": 1, "a": "飞书", "c": [1, {"d": None}]})
    assert body == '{"b":1,"a":"飞书","c":[1,{"d":null}]}'.encode()


def test_challenge_body_and_answer() -> None:
    body = legacy_challenge_body("1b6aef1a-401f-406a-be41-f48911e00be7", VT)
    assert json.loads(body) == {"challenge": "1b6aef1a-401f-406a-be41-f48911e00be7", "type": "url_verification",
                                "token": VT}
    assert list(json.loads(body)) == ["challenge", "type", "token"]
    ok = b'{"challenge": "1b6aef1a-401f-406a-be41-f48911e00be7"}'
    assert legacy_challenge_problem(ok, "1b6aef1a-401f-406a-be41-f48911e00be7") is None
    assert legacy_challenge_problem(b'{"challenge":"x"}', "y") == "challenge answer echoes 'x', not 'y'"
    assert legacy_challenge_problem(b"{}", "y") == "challenge answer has no challenge"
    assert legacy_challenge_problem(b"[]", "y") == "challenge answer is not a JSON object"
    assert legacy_challenge_problem(b"y", "y") == (
        "challenge answer is not JSON: Expecting value: line 1 column 1 (char 0)")


# -- lark-oapi's CardActionHandler -------------------------------------------------------------------------------

def lark_post(headers: dict[str, str], body: bytes, *, token: str = VT, result: Any = None,
              calls: list[Any] | None = None) -> tuple[int, bytes]:
    import lark_oapi as lark
    from lark_oapi.core.model import RawRequest

    def processor(card: Any) -> Any:
        if calls is not None:
            calls.append(card)
        return result

    handler = lark.CardActionHandler.builder(ENCRYPT_KEY, token).register(processor).build()
    req = RawRequest()
    req.uri = "/card"
    req.headers = headers
    req.body = body
    resp = handler.do(req)
    return resp.status_code, resp.content


@pytest.mark.lark_sdk
def test_lark_accepts_a_request_signed_with_legacy_signature() -> None:
    body = legacy_body(LEGACY_REQUEST)
    calls: list[Any] = []
    card = {"toast": {"type": "success", "content": "已处理"}, "header": {"title": {"tag": "plain_text",
                                                                                 "content": "Done"}},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "**ok**"}}]}
    status, answer = lark_post(legacy_card_headers(TS, NONCE, VT, body), body, result=card, calls=calls)
    assert status == 200
    (got,) = calls
    assert (got.open_id, got.open_message_id, got.open_chat_id, got.token) == (
        OPEN_ID, LEGACY_REQUEST["open_message_id"], LEGACY_REQUEST["open_chat_id"], LEGACY_REQUEST["token"])
    assert got.action.value == {"key": "value", "飞书": "卡片"} and got.action.tag == "button"
    assert got.action.form_value == {"field name1": ["selectDemo1", "selectDemo2"]}
    judged = judge_answer(AnswerKind.LEGACY_CARD, answer)
    assert judged.valid and judged.toast_content == "已处理" and judged.card_type == "raw"


@pytest.mark.lark_sdk
@pytest.mark.parametrize("how", ["wrong token", "event algorithm", "tampered body", "swapped nonce"])
def test_lark_rejects_a_badly_signed_request(how: str) -> None:
    body = legacy_body(LEGACY_REQUEST)
    headers = legacy_card_headers(TS, NONCE, VT, body)
    sent = body
    if how == "wrong token":
        headers = legacy_card_headers(TS, NONCE, "another_verification_token", body)
    elif how == "event algorithm":  # what an event carries: SHA-256 over timestamp + nonce + encrypt_key + body
        headers[SIGNATURE_HEADER] = hashlib.sha256((TS + NONCE + ENCRYPT_KEY).encode() + body).hexdigest()
    elif how == "tampered body":
        sent = body.replace(b'"tag":"button"', b'"tag":"overflow"')
    else:
        headers[NONCE_HEADER], headers[TIMESTAMP_HEADER] = TS, NONCE
    calls: list[Any] = []
    status, answer = lark_post(headers, sent, calls=calls)
    assert status == 500 and answer == b'{"msg":"signature verification failed"}' and calls == []


@pytest.mark.lark_sdk
def test_lark_skips_the_check_without_a_verification_token() -> None:
    body = legacy_body(LEGACY_REQUEST)
    calls: list[Any] = []
    status, answer = lark_post({}, body, token="", calls=calls)
    assert status == 200 and answer == b'{"msg":"success"}' and len(calls) == 1
    assert judge_answer(AnswerKind.LEGACY_CARD, answer).valid


@pytest.mark.lark_sdk
def test_lark_answers_the_legacy_challenge() -> None:
    body = legacy_challenge_body("1b6aef1a-401f-406a-be41-f48911e00be7", VT)
    status, answer = lark_post({}, body)  # lark-oapi checks the token, not a signature, on the challenge
    assert status == 200 and legacy_challenge_problem(answer, "1b6aef1a-401f-406a-be41-f48911e00be7") is None
    status, answer = lark_post({}, legacy_challenge_body("c", "wrong"))
    assert status == 500 and answer == b'{"msg":"invalid verification_token"}'


# -- node-sdk's CardActionHandler (a subprocess, no socket) -----------------------------------------------------

NODE_SCRIPT = r"""
const lark = require('@larksuiteoapi/node-sdk');
const [vt, headers, body] = process.argv.slice(1);
const handler = new lark.CardActionHandler(
  {verificationToken: vt, loggerLevel: lark.LoggerLevel.fatal},
  async (data) => ({accepted: true, open_id: data.open_id, tag: data.action.tag}));
const data = Object.assign(Object.create({headers: JSON.parse(headers)}), JSON.parse(body));
handler.invoke(data).then((r) => process.stdout.write('\nRESULT ' + JSON.stringify(r === undefined ? null : r)));
"""


def node_invoke(headers: dict[str, str], body: bytes) -> Any:
    lowered = {k.lower(): v for k, v in headers.items()}  # Node's http lower-cases header names
    out = subprocess.run(["node", "-e", NODE_SCRIPT, VT, json.dumps(lowered), body.decode("utf-8")],
                         env=node_env(), capture_output=True, timeout=60, check=True)
    return json.loads(out.stdout.decode().rpartition("\nRESULT ")[2])  # the SDK logs to stdout as well


@requires_node
def test_node_sdk_accepts_legacy_signature_and_rejects_the_event_algorithm() -> None:
    body = legacy_body(LEGACY_REQUEST)
    accepted = node_invoke(legacy_card_headers(TS, NONCE, VT, body), body)
    assert accepted == {"accepted": True, "open_id": OPEN_ID, "tag": "button"}
    wrong = legacy_card_headers(TS, NONCE, VT, body)
    wrong[SIGNATURE_HEADER] = hashlib.sha256((TS + NONCE + ENCRYPT_KEY).encode() + body).hexdigest()
    assert node_invoke(wrong, body) is None
    assert node_invoke(legacy_card_headers(TS, NONCE, "another", body), body) is None


# -- the request schemas ------------------------------------------------------------------------------------------

@cache
def request_validator(name: str) -> Draft202012Validator:
    """Validator of ``schemas/callbacks/<name>.schema.json`` with the envelope and its siblings registered."""
    root = schemas_dir()
    paths = [root / "envelope_v2.schema.json", *sorted((root / "callbacks").glob("*.schema.json"))]
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    registry: Registry[Any] = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)
    doc = next(d for d in docs if d["$id"].endswith(f"/callbacks/{name}.schema.json"))
    return Draft202012Validator(doc, registry=registry)


def problems(name: str, instance: dict[str, Any]) -> list[str]:
    return sorted(".".join(str(p) for p in e.absolute_path) or "<root>"
                  for e in request_validator(name).iter_errors(instance))


@pytest.mark.parametrize("name", ["card.action.trigger", "url.preview.get", "card.action.trigger_v1", "answers"])
def test_request_schemas_are_valid_2020_12_schemas(name: str) -> None:
    doc = json.loads((schemas_dir() / "callbacks" / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(doc)
    assert doc["$id"] == f"https://feishu-sim.example/schemas/callbacks/{name}.schema.json"


HEADER = {"event_id": "f7984f25108f8137722bb63cee927e66", "token": VT, "create_time": "1700000000000",
          "event_type": "card.action.trigger", "tenant_key": "2df73991750abcde", "app_id": "cli_a5fb0ae6a4a1b2c3"}
OPERATOR = {"tenant_key": "2df73991750abcde", "user_id": "867abcde", "open_id": OPEN_ID,
            "union_id": "on_cad4860e7af114fb4ff6c5d496d12345"}
CONTEXT = {"open_message_id": "om_574d639e4a44e4dd646eaf628e212345",
           "open_chat_id": "oc_e4d2605ca917e695f54f11aaf5612345"}


def card_action(action: dict[str, Any], **event: Any) -> dict[str, Any]:
    body = {"operator": OPERATOR, "token": "c-295ee57216a5dc9de90fefd0aadb4b1d7d123456", "action": action,
            "host": "im_message", "context": CONTEXT, **event}
    return {"schema": "2.0", "header": dict(HEADER), "event": body}


CARD_ACTIONS: dict[str, dict[str, Any]] = {
    "button": card_action({"value": {"key": "value"}, "tag": "button", "timezone": "Asia/Shanghai"}),
    "button with a string value": card_action({"value": "approve", "tag": "button"}),
    "form submit": card_action({"tag": "button", "name": "Button_lvkepfu3", "timezone": "Asia/Shanghai",
                                "form_value": {"multi": ["selectDemo1", "selectDemo2"], "Input_lf4fmxwfrd9": "1234",
                                               "DatePicker_bpqdq5puvn4": "2024-04-01 +0800"}}),
    "select_static": card_action({"value": {"k": "v"}, "tag": "select_static", "option": "1"}),
    "select_person": card_action({"tag": "select_person", "option": "ou_b9600a00cda86b8fad2378eafe3abcef"}),
    "multi_select_static": card_action({"tag": "multi_select_static", "options": ["a", "b"]}),
    "overflow": card_action({"value": {"k": "v"}, "tag": "overflow", "option": "button_1"}),
    "picker_datetime": card_action({"tag": "picker_datetime", "timezone": "Asia/Shanghai",
                                    "option": "2025-06-10 19:19 +0800"}),
    "input": card_action({"tag": "input", "input_value": "Zhang Min", "value": {"k": "v"}}),
    "checker": card_action({"tag": "checker", "checked": True, "value": {"k": "v"}}),
    "select_img": card_action({"tag": "select_img", "options": ["picture1"]}),
    "link-preview card": card_action({"tag": "button", "value": {"k": "v"}}, delivery_type="url_preview",
                                     context={**CONTEXT, "url": "https://example.com/doc/1", "preview_token": "pt"}),
    "pinned notice, no user_id": card_action({"tag": "button", "value": {}}, host="im_top_notice",
                                             operator={"tenant_key": "2df73991750abcde", "open_id": OPEN_ID}),
}


@pytest.mark.parametrize("example", list(CARD_ACTIONS))
def test_card_action_trigger_examples_are_valid(example: str) -> None:
    request = CARD_ACTIONS[example]
    assert problems("card.action.trigger", request) == []


@pytest.mark.lark_sdk
@pytest.mark.parametrize("example", [e for e in CARD_ACTIONS if e != "button with a string value"])
def test_card_action_trigger_examples_parse_in_lark(example: str) -> None:
    from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTrigger

    request = CARD_ACTIONS[example]
    parsed = P2CardActionTrigger(copy.deepcopy(request))
    assert parsed.header.event_type == "card.action.trigger"
    assert parsed.event.action.tag == request["event"]["action"]["tag"]
    assert parsed.event.context.open_message_id == CONTEXT["open_message_id"]


@pytest.mark.lark_sdk
def test_lark_cannot_parse_a_string_value() -> None:
    """Why the schema's description warns: the doc allows a string value, lark-oapi raises on it."""
    from lark_oapi.core.exception import UnmarshalException
    from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTrigger

    with pytest.raises(UnmarshalException):
        P2CardActionTrigger(copy.deepcopy(CARD_ACTIONS["button with a string value"]))


def mutate(request: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``request`` with ``path`` (dot-separated) set to ``value``, or removed when ``value`` is
    ``...``."""
    out = copy.deepcopy(request)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return out


BUTTON = CARD_ACTIONS["button"]
BAD_CARD_ACTIONS: list[tuple[str, Any, list[str]]] = [
    ("header.event_type", "url.preview.get", ["header.event_type"]),
    ("header.create_time", "1603977298000000", ["header.create_time"]),  # the doc example's 16 digits
    ("event.token", "295ee57216a5dc9de90fefd0aadb4b1d7d123456", ["event.token"]),
    ("event.token", "c-295ee57216a5dc9de90fefd0aadb4b1d7d", ["event.token"]),
    ("event.token", ..., ["event"]),
    ("event.action.value", 3, ["event.action.value"]),
    ("event.action.tag", "click", ["event.action.tag"]),
    ("event.action.tag", ..., ["event.action"]),
    ("event.action.options", "picture1", ["event.action.options"]),  # the select_img doc example's shape
    ("event.action.checked", "true", ["event.action.checked"]),
    ("event.action.action_id", "x", ["event.action"]),
    ("event.host", "im_chat", ["event.host"]),
    ("event.delivery_type", "card", ["event.delivery_type"]),
    ("event.context.open_message_id", "", ["event.context.open_message_id"]),
    ("event.context.open_chat_id", ..., ["event.context"]),
    ("event.context.extra", 1, ["event.context"]),
    ("event.operator.open_id", "ou_short", ["event.operator.open_id"]),
    ("event.operator.name", "x", ["event.operator"]),
    ("event.operator.tenant_key", "d32004232", ["event.operator.tenant_key"]),  # a doc placeholder
    ("event.host_type", "x", ["event"]),
    ("extra", 1, ["<root>"]),
]


@pytest.mark.parametrize(("path", "value", "where"), BAD_CARD_ACTIONS,
                         ids=[f"{p}={v!r}"[:60] for p, v, _ in BAD_CARD_ACTIONS])
def test_card_action_trigger_violations(path: str, value: Any, where: list[str]) -> None:
    assert problems("card.action.trigger", mutate(BUTTON, path, value)) == where


def url_preview(**context: Any) -> dict[str, Any]:
    header = {**HEADER, "event_type": "url.preview.get"}
    return {"schema": "2.0", "header": header,
            "event": {"operator": {"tenant_key": "2df73991750abcde", "user_id": "867abcde", "open_id": OPEN_ID},
                      "host": "im_message", "context": context}}


SENT = url_preview(url="https://example.com/doc/1", preview_token="pt_123", **CONTEXT)
TEMPORARY = url_preview(url="https://example.com/doc/1", open_message_id="", open_chat_id="")


def test_url_preview_get_examples() -> None:
    assert problems("url.preview.get", SENT) == []
    assert problems("url.preview.get", TEMPORARY) == []  # typed in the input box: no token, empty ids
    assert problems("url.preview.get", mutate(SENT, "event.host", "im_top_notice")) == []
    assert problems("url.preview.get", mutate(SENT, "event.context.url", ...)) == ["event.context"]
    assert problems("url.preview.get", mutate(SENT, "event.token", "c-" + "0" * 40)) == ["event"]
    assert problems("url.preview.get", mutate(SENT, "event.action", {"tag": "button"})) == ["event"]
    assert problems("url.preview.get", mutate(SENT, "event.context.preview_token", "")) == [
        "event.context.preview_token"]
    assert problems("url.preview.get", mutate(SENT, "header.event_type", "card.action.trigger")) == [
        "header.event_type"]


@pytest.mark.lark_sdk
def test_url_preview_get_examples_parse_in_lark() -> None:
    from lark_oapi.event.callback.model.p2_url_preview_get import P2URLPreviewGet

    parsed = P2URLPreviewGet(copy.deepcopy(SENT))
    assert parsed.event.context.preview_token == "pt_123" and parsed.event.operator.open_id == OPEN_ID


CHALLENGE = json.loads(legacy_challenge_body("1b6aef1a-401f-406a-be41-f48911e00be7", VT))


def test_legacy_request_examples() -> None:
    assert problems("card.action.trigger_v1", LEGACY_REQUEST) == []
    minimal = {k: LEGACY_REQUEST[k] for k in ("open_id", "tenant_key", "open_message_id", "token")}
    assert problems("card.action.trigger_v1", {**minimal, "action": {"tag": "date_picker", "option": "2024-04-01 +0800",
                                                                    "timezone": "Asia/Shanghai"}}) == []
    assert problems("card.action.trigger_v1", CHALLENGE) == []


@pytest.mark.parametrize(("request_", "where"), [
    (mutate(LEGACY_REQUEST, "token", "c-xxxxx"), ["token"]),  # the doc example's placeholder
    (mutate(LEGACY_REQUEST, "open_message_id", "om_abcdefg1234567890"), ["open_message_id"]),
    (mutate(LEGACY_REQUEST, "action", ...), ["<root>"]),
    (mutate(LEGACY_REQUEST, "action.value", ["x"]), ["action.value"]),
    (mutate(LEGACY_REQUEST, "schema", "2.0"), ["<root>"]),  # a new-style envelope key
    (mutate(LEGACY_REQUEST, "challenge", "x"), ["<root>"]),  # challenge only with type url_verification
    (mutate(CHALLENGE, "open_id", OPEN_ID), ["<root>"]),
    (mutate(CHALLENGE, "challenge", ...), ["<root>"]),
    (mutate(CHALLENGE, "token", ""), ["token"]),
    # not a challenge: then an action request, missing open_id, tenant_key, open_message_id, action, with
    # unknown challenge and type, and a token that is not a card token
    (mutate(CHALLENGE, "type", "event_callback"), ["<root>"] * 5 + ["token"]),
])
def test_legacy_request_violations(request_: dict[str, Any], where: list[str]) -> None:
    assert problems("card.action.trigger_v1", request_) == where


@pytest.mark.lark_sdk
def test_legacy_request_example_parses_in_lark() -> None:
    from lark_oapi.card.model import Card

    card = Card(copy.deepcopy(LEGACY_REQUEST))
    assert card.action.name == "Button_lvkepfu3" and card.open_chat_id == LEGACY_REQUEST["open_chat_id"]

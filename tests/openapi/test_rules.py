"""The OpenAPI's sans-IO rules on a virtual clock: tokens, card tokens, rate limits, uuid dedupe, content checks,
fault rules (docs/openapi.md#errors-and-limits)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.clock import VirtualClock
from simulator.errors import ApiRefused, ConfigError
from simulator.platform.openapi import codes
from simulator.platform.openapi.calls import ApiCall, CallLog
from simulator.platform.openapi.content import CARD_LIMIT, TEXT_LIMIT, check, check_card
from simulator.platform.openapi.dedupe import UuidCache
from simulator.platform.openapi.faults import ApiFaults, FaultRule
from simulator.platform.openapi.limits import Limits, RateLimiter, WindowCounter
from simulator.platform.openapi.tokens import CardTokens, TenantTokens

APP, SECRET = "cli_a1b2c3d4e5f60718", "s3cret"


def refused(code: int) -> Any:
    return pytest.raises(ApiRefused, match=f"^{code}: ")


# -- tenant tokens --------------------------------------------------------------------------------------------
def test_token_is_reused_while_more_than_30_minutes_remain_then_renewed(vclock: VirtualClock) -> None:
    tokens = TenantTokens({APP: SECRET})
    first, expire = tokens.issue(APP, SECRET, vclock.now())
    assert first.startswith("t-") and len(first) == 42 and expire == 7200
    vclock.advance(5400 - 1)  # 30 min + 1 s left: the same token, with its remaining life
    assert tokens.issue(APP, SECRET, vclock.now()) == (first, 1801)
    vclock.advance(2)  # 29:59 left: a new token, and the old one still works
    second, expire = tokens.issue(APP, SECRET, vclock.now())
    assert second != first and expire == 7200
    assert tokens.check(f"Bearer {first}", vclock.now()) == APP
    assert tokens.check(f"Bearer {second}", vclock.now()) == APP
    vclock.advance(1799)  # the first one's 2 hours are over
    with refused(codes.INVALID_TOKEN):
        tokens.check(f"Bearer {first}", vclock.now())
    assert tokens.check(f"Bearer {second}", vclock.now()) == APP
    assert tokens.live(vclock.now()) == 1


def test_token_endpoint_refusals() -> None:
    tokens = TenantTokens({APP: SECRET})
    with refused(codes.TOKEN_BAD_SECRET):
        tokens.issue(APP, "wrong", 0.0)
    with refused(codes.TOKEN_UNKNOWN_APP):
        tokens.issue("cli_0000000000000000", SECRET, 0.0)
    with refused(codes.TOKEN_INVALID_PARAM):
        tokens.issue(APP, None, 0.0)


@pytest.mark.parametrize(("header", "code"), [
    (None, codes.MISSING_TOKEN), ("", codes.MISSING_TOKEN), ("Bearer ", codes.MISSING_TOKEN),
    ("Basic abc", codes.MISSING_TOKEN), ("Bearer t-0000", codes.INVALID_TOKEN),
])
def test_authorization_header_refusals(header: str | None, code: int) -> None:
    with refused(code):
        TenantTokens({APP: SECRET}).check(header, 0.0)


def test_revoked_tokens_are_invalid() -> None:
    tokens = TenantTokens({APP: SECRET})
    token, _ = tokens.issue(APP, SECRET, 0.0)
    assert tokens.revoke(APP) == 1
    with refused(codes.INVALID_TOKEN):
        tokens.check(f"Bearer {token}", 0.0)
    assert tokens.issue(APP, SECRET, 0.0)[0] != token


# -- card tokens ----------------------------------------------------------------------------------------------
def test_card_token_two_uses_within_30_minutes(vclock: VirtualClock) -> None:
    cards = CardTokens()
    token = cards.mint(APP, "om_1", vclock.now())
    assert token.startswith("c-")
    assert cards.use(token, APP, vclock.now()).message_id == "om_1"
    vclock.advance(1799)
    assert cards.use(token, APP, vclock.now()).uses_left == 0
    with pytest.raises(ApiRefused, match="already used 2 times"):
        cards.use(token, APP, vclock.now())
    other = cards.mint(APP, "om_2", vclock.now())
    with pytest.raises(ApiRefused, match="unknown card token"):
        cards.use(other, "cli_another", vclock.now())
    vclock.advance(1800)
    with pytest.raises(ApiRefused, match="expired"):
        cards.use(other, APP, vclock.now())


def test_card_token_made_elsewhere_can_be_accepted(vclock: VirtualClock) -> None:
    cards = CardTokens()
    cards.accept("c-from-an-event", APP, "om_9", vclock.now())
    assert cards.use("c-from-an-event", APP, vclock.now()).message_id == "om_9"
    with pytest.raises(ApiRefused, match="start with c-"):
        cards.accept("t-wrong", APP, "om_9", vclock.now())


def test_card_tokens_are_bounded() -> None:
    cards = CardTokens(max_tokens=3)
    first = cards.mint(APP, "om_0", 0.0)
    for i in range(3):
        cards.mint(APP, f"om_{i + 1}", 0.0)
    assert len(cards) == 3
    with pytest.raises(ApiRefused):
        cards.use(first, APP, 0.0)


# -- rate limits ----------------------------------------------------------------------------------------------
def test_api_limit_50_per_second_then_429_with_headers(vclock: VirtualClock) -> None:
    limiter = RateLimiter()
    vclock.advance_to(1_800_000_000.25)
    for _ in range(50):
        limiter.api(APP, "POST /x", vclock.now())
    with pytest.raises(ApiRefused) as info:
        limiter.api(APP, "POST /x", vclock.now())
    exc = info.value
    assert (exc.code, exc.status) == (codes.GATEWAY_RATE_LIMIT, 429)
    assert exc.headers == {"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": "1"}
    limiter.api(APP, "POST /y", vclock.now())  # another API has its own window
    limiter.api("cli_other", "POST /x", vclock.now())  # another app too
    vclock.advance(0.75)  # the next second: room again
    limiter.api(APP, "POST /x", vclock.now())


def test_api_limit_1000_per_minute(vclock: VirtualClock) -> None:
    limiter = RateLimiter()
    vclock.advance_to(1_800_000_030.0)  # 30 s into a minute
    for _second in range(20):
        for _ in range(50):
            limiter.api(APP, "GET /z", vclock.now())
        vclock.advance(1)
    vclock.advance_to(1_800_000_059.5)  # 1000 done within the minute: the minute is full, seconds are not
    with pytest.raises(ApiRefused) as info:
        limiter.api(APP, "GET /z", vclock.now())
    assert info.value.headers["x-ogw-ratelimit-limit"] == "1000"
    vclock.advance(0.5)
    limiter.api(APP, "GET /z", vclock.now())


def test_recipient_and_message_update_limits(vclock: VirtualClock) -> None:
    limiter = RateLimiter()
    vclock.advance_to(1_800_000_000.0)
    for _ in range(5):
        limiter.recipient("oc_1", vclock.now())
        limiter.message_update("om_1", vclock.now())
    with refused(codes.RECIPIENT_RATE_LIMIT):
        limiter.recipient("oc_1", vclock.now())
    with refused(codes.RECIPIENT_RATE_LIMIT):
        limiter.message_update("om_1", vclock.now())
    limiter.recipient("oc_2", vclock.now())
    vclock.advance(1)
    limiter.recipient("oc_1", vclock.now())


def test_limits_off_and_validation() -> None:
    limiter = RateLimiter(Limits.off())
    for _ in range(2000):
        limiter.api(APP, "POST /x", 0.0)
        limiter.recipient("oc_1", 0.0)
    with pytest.raises(ConfigError):
        Limits(api_per_second=-1)


def test_window_counter_stays_bounded() -> None:
    counter = WindowCounter(1.0, max_keys=100)
    for i in range(1000):
        assert counter.hit(f"k{i}", float(i // 10), 1) is None
    assert len(counter) <= 100
    for i in range(1000):
        counter.hit(f"same-second-{i}", 5000.0, 1)
    assert len(counter) <= 100


# -- uuid dedupe ----------------------------------------------------------------------------------------------
def test_uuid_dedupe_for_one_hour(vclock: VirtualClock) -> None:
    cache = UuidCache()
    now = vclock.now()
    assert cache.seen(APP, "u-1", now) is None
    cache.remember(APP, "u-1", "om_1", now)
    assert cache.seen(APP, "u-1", now + 3599) == "om_1"
    assert cache.seen("cli_other", "u-1", now) is None
    assert cache.seen(APP, "u-1", now + 3600) is None
    assert len(cache) == 0


def test_uuid_validation_and_bound() -> None:
    assert UuidCache.key_of(None) == "" and UuidCache.key_of("a" * 50) == "a" * 50
    with refused(codes.INVALID_PARAM):
        UuidCache.key_of("a" * 51)
    with refused(codes.INVALID_PARAM):
        UuidCache.key_of(12)
    cache = UuidCache(max_entries=2)
    for i in range(3):
        cache.remember(APP, f"u{i}", f"om_{i}", 0.0)
    assert cache.seen(APP, "u0", 0.0) is None and cache.seen(APP, "u2", 0.0) == "om_2"


# -- content --------------------------------------------------------------------------------------------------
GOOD = {
    "text": {"text": "hi"},
    "post": {"zh_cn": {"title": "t", "content": [[{"tag": "text", "text": "a"}, {"tag": "at", "user_id": "ou_1"}]]}},
    "image": {"image_key": "img_v3_02ab_1234"},
    "file": {"file_key": "file_v3_00ab_1"},
    "audio": {"file_key": "file_v3_00ab_2"},
    "media": {"file_key": "file_v3_00ab_3", "image_key": "img_v3_02ab_4"},
    "sticker": {"file_key": "file_v3_00ab_5"},
    "interactive": {"config": {"update_multi": True}, "elements": [{"tag": "markdown", "content": "**hi**"}]},
    "share_chat": {"chat_id": "oc_1"},
    "share_user": {"user_id": "ou_1"},
}
BAD = {
    "text": {"txt": "hi"},
    "post": {"zh_cn": {"title": "t", "content": [[{"tag": "blink"}]]}},
    "image": {"image_key": "file_1"},
    "file": {"file_name": "x"},
    "audio": {},
    "media": {"file_key": "f", "image_key": "nope"},
    "sticker": {"file_key": ""},
    "interactive": {"nothing": True},
    "share_chat": {"chat_id": "ou_1"},
    "share_user": {"user_id": "oc_1"},
}


@pytest.mark.parametrize("msg_type", sorted(GOOD))
def test_each_msg_type_accepts_its_shape_and_refuses_another(msg_type: str) -> None:
    assert check(msg_type, json.dumps(GOOD[msg_type])).doc == GOOD[msg_type]
    code = codes.CARD_FAILED if msg_type == "interactive" else codes.INVALID_PARAM
    with refused(code):
        check(msg_type, json.dumps(BAD[msg_type]))


@pytest.mark.parametrize(("msg_type", "content"), [
    ("text", "not json"), ("text", '["a list"]'), ("text", ""), ("text", {"text": "not a string"}),
    ("video", '{"text": "x"}'), (None, '{"text": "x"}'),
])
def test_malformed_content_is_invalid_param(msg_type: object, content: object) -> None:
    with refused(codes.INVALID_PARAM):
        check(msg_type, content)


def test_size_limits_at_the_byte() -> None:
    def text_of(n: int) -> str:
        doc = json.dumps({"text": ""})
        return json.dumps({"text": "x" * (n - len(doc))})

    assert len(check("text", text_of(TEXT_LIMIT)).raw) == TEXT_LIMIT
    with refused(codes.CONTENT_TOO_LONG):
        check("text", text_of(TEXT_LIMIT + 1))
    card = {"elements": [{"tag": "markdown", "content": "é" * 15_400}]}  # two bytes a character
    assert len(json.dumps(card, ensure_ascii=False).encode()) > CARD_LIMIT
    with refused(codes.CONTENT_TOO_LONG):
        check("interactive", json.dumps(card, ensure_ascii=False))
    with refused(codes.CONTENT_TOO_LONG):
        check("post", json.dumps({"zh_cn": {"title": "x" * CARD_LIMIT, "content": []}}))


def test_cards_templates_entities_and_sharing() -> None:
    template = {"type": "template", "data": {"template_id": "AAqk1", "template_variable": {"x": 1}}}
    assert check("interactive", json.dumps(template)).shared_card
    with pytest.raises(ApiRefused, match="11310"):
        check("interactive", json.dumps(template), templates={"other"})
    with refused(codes.CARD_FAILED):
        check("interactive", json.dumps({"type": "template", "data": {}}))
    assert check("interactive", json.dumps({"type": "card", "data": {"card_id": "7355"}})).shared_card
    assert check("interactive", json.dumps({"schema": "2.0", "body": {"elements": []}})).shared_card
    assert not check("interactive", json.dumps({"elements": []})).shared_card
    with refused(codes.CARD_FAILED):
        check("interactive", json.dumps({"elements": {"not": "a list"}}))
    assert check_card({"elements": []}).msg_type == "interactive"
    with refused(codes.INVALID_PARAM):
        check_card("a string")


def test_post_text_and_forms() -> None:
    assert check("post", json.dumps(GOOD["post"])).text == "a "
    wrapped = {"post": {"en_us": {"title": "", "content": [[{"tag": "text", "text": "hello"}]]}}}
    assert check("post", json.dumps(wrapped)).text == "hello"


# -- faults and the call log ----------------------------------------------------------------------------------
def test_fault_rules_match_count_and_expire() -> None:
    faults = ApiFaults()
    faults.add(FaultRule.from_json({"path": "/open-apis/im/v1/messages/*/reply", "method": "post", "count": 2,
                                    "code": 230020}))
    faults.add(FaultRule.from_json({"code": 99991400, "count": 0}))
    assert faults.take("GET", "/open-apis/bot/v3/info") is faults.rules[1]  # the catch-all, never used up
    first = faults.take("POST", "/open-apis/im/v1/messages/om_1/reply")
    assert first is not None and first.code == 230020 and first.status == 400
    assert faults.take("POST", "/open-apis/im/v1/messages/om_2/reply") is first
    rule = faults.take("POST", "/open-apis/im/v1/messages/om_3/reply")
    assert rule is not None and rule.code == 99991400 and rule.status == 429
    assert len(faults.rules) == 1


@pytest.mark.parametrize("doc", [{"path": "x", "code": 1}, {"count": -1, "code": 1}, {}, {"code": 1, "oops": 1},
                                 {"latency_ms": 10**9}, {"code": 1, "status": 99}])
def test_bad_fault_rules(doc: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        FaultRule.from_json(doc)


def _call(n: int, code: int = 0, size: int = 0) -> ApiCall:
    return ApiCall(seq=0, time=0.0, method="POST", path=f"/p/{n}", api="POST /p", query={}, body=None, status=200,
                   code=code, answer={}, size=size)


def test_call_log_bounded_with_exact_counts() -> None:
    log = CallLog(keep=3)
    for i in range(10):
        log.add(_call(i, code=230002 if i % 2 else 0))
    assert [c.seq for c in log.calls()] == [8, 9, 10]
    assert log.counts() == {"total": 10, "retained": 3, "per_api": {"POST /p": 10},
                            "per_code": {"0": 5, "230002": 5}}
    assert log.wait(lambda c: c.path == "/p/9", 0.0) is not None
    assert log.wait(lambda c: c.path == "/p/0", 0.01) is None  # forgotten
    log.clear()
    assert log.add(_call(11)).seq == 11  # numbers go on across clear


def test_call_log_bounded_in_bytes() -> None:
    log = CallLog(keep=100, keep_bytes=1000)
    for i in range(10):
        log.add(_call(i, size=300))
    assert [c.seq for c in log.calls()] == [8, 9, 10] and log.counts()["total"] == 10
    log.add(_call(99, size=5000))  # one call over the budget is still kept, alone
    assert [c.path for c in log.calls()] == ["/p/99"]

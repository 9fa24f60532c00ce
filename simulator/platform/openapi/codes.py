"""The OpenAPI's error codes, their messages and the error envelope (docs/openapi.md#errors-and-limits).

Messages follow the wording of the server-API docs' error tables. Where the docs name no code for a case
(a reply to an unknown message, a reaction that does not exist, an expired card-update token...) the mock
answers 230001 "invalid request parameter" with a ``field_violations`` entry saying what was wrong.
"""

from __future__ import annotations

from typing import Any

from simulator.errors import ApiRefused

# docs/openapi.md#token-errors
TOKEN_INVALID_PARAM = 10003
TOKEN_BAD_SECRET = 10014
TOKEN_UNKNOWN_APP = 10015
MISSING_TOKEN = 99991661
INVALID_TOKEN = 99991663
MISSING_SCOPE = 99991672  # docs/openapi.md#permission-scopes
# docs/openapi.md#rate-limits
GATEWAY_RATE_LIMIT = 99991400
# docs/openapi.md#message-errors
INVALID_PARAM = 230001
BOT_NOT_IN_CHAT = 230002
RECALLED = 230011
NO_AVAILABILITY = 230013
RECIPIENT_RATE_LIMIT = 230020
CONTENT_TOO_LONG = 230025
TOO_OLD_TO_UPDATE = 230031
CARD_FAILED = 230099
# Uploads (im/v1/images, im/v1/files)
UPLOAD_INVALID_PARAM = 234001
UPLOAD_TOO_LARGE = 234006

MESSAGES: dict[int, str] = {
    TOKEN_INVALID_PARAM: "invalid param",
    TOKEN_BAD_SECRET: "app secret invalid",
    TOKEN_UNKNOWN_APP: "app not found",
    MISSING_TOKEN: "Missing access token for authorization. Please make a request with token attached.",
    INVALID_TOKEN: "Invalid access token for authorization. Please make a request with token attached.",
    MISSING_SCOPE: "Access denied. One of the following scopes is required",
    GATEWAY_RATE_LIMIT: "request trigger frequency limit",
    INVALID_PARAM: "Your request contains an invalid request parameter.",
    BOT_NOT_IN_CHAT: "Bot/User can NOT be out of the chat.",
    RECALLED: "The message is recalled.",
    NO_AVAILABILITY: "Bot has NO availability to this user.",
    RECIPIENT_RATE_LIMIT: "This operation triggers the frequency limit.",
    CONTENT_TOO_LONG: "The length of the message content reaches its limit.",
    TOO_OLD_TO_UPDATE: "Message can only be modified within 14 days after sending.",
    CARD_FAILED: "Failed to create card content.",
    UPLOAD_INVALID_PARAM: "Invalid request param.",
    UPLOAD_TOO_LARGE: "The file size exceed the max value.",
}

TROUBLESHOOTER = "排查建议查看(Troubleshooting suggestions): https://open.feishu.cn/search?from=openapi&log_id={log_id}&code={code}"


def refuse(code: int, detail: str = "", *, field: str = "", status: int = 400,
           headers: dict[str, str] | None = None) -> ApiRefused:
    """The refusal to raise: the code's documented message, plus ``detail`` (what exactly was wrong)."""
    return ApiRefused(code, MESSAGES.get(code, "error"), status=status, headers=headers, field=field, detail=detail)


def invalid(field: str, detail: str) -> ApiRefused:
    """230001 with a field violation."""
    return refuse(INVALID_PARAM, detail, field=field)


def error_body(exc: ApiRefused, log_id: str) -> dict[str, Any]:
    """``{code, msg, error{log_id, troubleshooter, field_violations, ...}}`` (docs/openapi.md#error-envelope)."""
    msg = exc.msg if not exc.detail else f"{exc.msg} ext={exc.detail}"
    violations = [{"field": exc.field, "description": exc.detail}] if exc.field else []
    scopes = [{"type": "action_scope_required", "subject": scope} for scope in exc.violations]
    return {"code": exc.code, "msg": msg,
            "error": {"log_id": log_id, "troubleshooter": TROUBLESHOOTER.format(log_id=log_id, code=exc.code),
                      "field_violations": violations, "permission_violations": scopes, "helps": []}}

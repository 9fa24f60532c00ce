"""Sealing the legacy card request (``card.action.trigger_v1``, the "消息卡片请求网址"). Pure.

The legacy request is a flat JSON body (``schemas/callbacks/card.action.trigger_v1.schema.json``) POSTed to the
card request URL, signed differently from events:

* ``X-Lark-Signature = lower_hex(SHA-1(timestamp + nonce + verification_token + body))`` -- SHA-1, keyed by
  the Verification Token, where events use SHA-256 keyed by the Encrypt Key. The string part is UTF-8 and
  the body is appended as the exact bytes sent: lark-oapi 1.7.5 ``lark_oapi.card.action_handler
  .CardActionHandler._verify_sign`` computes ``sha1((timestamp + nonce + token).encode() + request.body)``,
  and the doc's Go/Python/Java samples concatenate in the same order
  (https://open.feishu.cn/document/common-capabilities/message-card/add-card-interaction/message-card-security-verification).
* Headers ``X-Lark-Request-Timestamp``, ``X-Lark-Request-Nonce``, ``X-Lark-Signature``: lark-oapi reads
  them by these exact names (``core/const.py``; its Flask adapter keeps the names as sent), node-sdk in
  lower case (Node lower-cases incoming header names). The doc also names ``X-Refresh-Token``, renewed only
  when a click was answered and shown, for receivers to drop a repeated click.
* The SDKs check the signature only when a Verification Token is configured, and lark-oapi does not check
  it on the URL-verification challenge (it compares ``token`` with the Verification Token instead).
* node-sdk's ``CardActionHandler`` does not hash the bytes received: it hashes ``JSON.stringify`` of the
  parsed body. Only a compact body (``,``/``:`` separators, non-ASCII as UTF-8, the key order kept) is
  therefore accepted by both SDKs: :func:`legacy_body` writes that. (It would differ from
  ``JSON.stringify`` only on floats such as ``1e-05``, which card callbacks do not carry.)

Not covered, because the SDKs disagree and no doc settles it: an *encrypted* legacy request
(``{"encrypt": ...}``). lark-oapi decrypts it and still checks the SHA-1 signature over the encrypted bytes;
node-sdk then switches to the event algorithm (SHA-256 with the Encrypt Key). The legacy doc says the
signature uses only the Verification Token, never the Encrypt Key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

TIMESTAMP_HEADER: Final = "X-Lark-Request-Timestamp"
NONCE_HEADER: Final = "X-Lark-Request-Nonce"
SIGNATURE_HEADER: Final = "X-Lark-Signature"
REFRESH_TOKEN_HEADER: Final = "X-Refresh-Token"

URL_VERIFICATION: Final = "url_verification"


def legacy_body(payload: Mapping[str, Any]) -> bytes:
    """The bytes to send for a legacy request body: compact JSON, UTF-8, key order kept (see the module doc:
    node-sdk checks the signature over ``JSON.stringify`` of the parsed body)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def legacy_signature(timestamp: str, nonce: str, verification_token: str, body: bytes) -> str:
    """``lower_hex(SHA-1(timestamp + nonce + verification_token + body))``, ``body`` as the exact bytes sent."""
    h = hashlib.sha1((timestamp + nonce + verification_token).encode("utf-8"), usedforsecurity=False)
    h.update(body)
    return h.hexdigest()


def legacy_card_headers(timestamp: str, nonce: str, verification_token: str, body: bytes, *,
                        refresh_token: str | None = None) -> dict[str, str]:
    """The signing headers of one legacy request (plus ``X-Refresh-Token`` when given). The caller adds
    ``Content-Type: application/json``."""
    headers = {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: legacy_signature(timestamp, nonce, verification_token, body),
    }
    if refresh_token is not None:
        headers[REFRESH_TOKEN_HEADER] = refresh_token
    return headers


def verify_legacy_signature(headers: Mapping[str, str], verification_token: str, body: bytes) -> bool:
    """Whether ``headers`` carry a valid legacy signature of ``body`` (header names matched case-insensitively;
    a missing header fails). The receiver side of :func:`legacy_card_headers`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower())
    nonce = lowered.get(NONCE_HEADER.lower())
    signature = lowered.get(SIGNATURE_HEADER.lower())
    if timestamp is None or nonce is None or signature is None:
        return False
    expected = legacy_signature(timestamp, nonce, verification_token, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", errors="replace"))


def legacy_challenge_body(challenge: str, verification_token: str) -> bytes:
    """The URL-verification request sent when the card request URL is saved: ``{"challenge", "type":
    "url_verification", "token"}`` (doc order). lark-oapi answers it after checking ``token``; the answer must
    echo ``challenge`` within 1 s (doc)."""
    return legacy_body({"challenge": challenge, "type": URL_VERIFICATION, "token": verification_token})


def legacy_challenge_problem(answer: bytes, challenge: str) -> str | None:
    """``None`` when ``answer`` is a JSON object whose ``challenge`` echoes ``challenge`` (lark-oapi sends
    ``{"challenge": "..."}``), else the one-line problem."""
    try:
        doc = json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"challenge answer is not JSON: {exc}"
    if not isinstance(doc, dict):
        return "challenge answer is not a JSON object"
    if "challenge" not in doc:
        return "challenge answer has no challenge"
    if doc["challenge"] != challenge:
        return f"challenge answer echoes {doc['challenge']!r}, not {challenge!r}"
    return None

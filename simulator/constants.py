"""Protocol numbers, defined once, each with the place in the reference it comes from.

References: ``feishu-semantics.md`` (platform rules) and ``feishu-protocol.md`` (SDK wire behaviour).
"""

from __future__ import annotations

from typing import Final

# docs/semantics.md#required-response: HTTP 200 within 3 s; TCP connect timeout 2 s.
WEBHOOK_TOTAL_BUDGET_S: Final = 3.0
WEBHOOK_CONNECT_BUDGET_S: Final = 2.0
# docs/semantics.md#url-verification: the challenge must be answered within 1 s.
CHALLENGE_BUDGET_S: Final = 1.0
# docs/semantics.md#documented-long-connection-rules: long-connection handlers must finish within 3 s.
LONGCONN_ACK_BUDGET_S: Final = 3.0
# docs/semantics.md: a webhook acks with HTTP 200; a long-connection client with ack code 200
# (the rule that reads them: ``simulator.verdicts.ack``).
ACK_HTTP_STATUS: Final = 200
ACK_CODE: Final = 200

# docs/semantics.md#retry-ladder: retry after 15 s, 5 min, 1 h, 6 h (gap after the previous attempt), at most 4 retries.
FEISHU_RETRY_DELAYS_S: Final[tuple[float, ...]] = (15.0, 300.0, 3600.0, 21600.0)

# docs/semantics.md#documented-long-connection-rules: at most 50 long connections per app.
MAX_CONNECTIONS_PER_APP: Final = 50

# docs/protocol.md#webhook-request-shape / docs/protocol.md#signature: header names, spelled exactly (the Python SDK
# looks them up case-sensitively).
HEADER_TIMESTAMP: Final = "X-Lark-Request-Timestamp"
HEADER_NONCE: Final = "X-Lark-Request-Nonce"
HEADER_SIGNATURE: Final = "X-Lark-Signature"
HEADER_REQUEST_ID: Final = "X-Request-Id"
CONTENT_TYPE_JSON: Final = "application/json; charset=utf-8"
# docs/semantics.md: X-Lark-Request-Nonce is a numeric string; drawn uniformly from this range (9-10 digits).
NONCE_MIN: Final = 100_000_000
NONCE_MAX: Final = 9_999_999_999

# docs/semantics.md#event-envelopes: v2 envelope.
SCHEMA_V2: Final = "2.0"

DEFAULT_EVENT_TYPE: Final = "vc.meeting.share_ended_v1"
# docs/semantics.md#id-formats: app_id = cli_ + 16 hex, tenant_key = 16 hex, token = 32 mixed-case alnum.
DEFAULT_APP_ID: Final = "cli_a1b2c3d4e5f60718"
DEFAULT_APP_SECRET: Final = "sim-app-secret"
DEFAULT_TENANT_KEY: Final = "2ca1d211f64f6438"
DEFAULT_LOCALE: Final = "zh_CN"  # Faker locale of generated names and topics (a Chinese tenant)
DEFAULT_WEBHOOK_PATH: Final = "/webhook/event"  # where the built-in reference receiver and in-process apps are hit
# The simulator's own HTTP API (platform control, reference receiver's record), apart from Feishu's paths.
CONTROL_PREFIX: Final = "/_sim"

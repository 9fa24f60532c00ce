"""The one ack rule (``docs/semantics.md``): when has the receiver acknowledged an event?

* Webhook: HTTP 200, and only 200; ``accept_2xx`` (an option for receivers under development that answer
  204 and the like) counts any 2xx. Every other status is a rejection the platform retries.
* Long connection: the client's ack frame carries ``{"code": 200}``; any other code, or none, is a
  rejection.

The budget (3 s) is judged by the channels; this module only reads the answer. Plain functions, cheap
enough for the load generator's hot path.
"""

from __future__ import annotations

from typing import Final

from simulator import constants as C
from simulator.verdicts.model import Outcome

_STATUS: Final = C.ACK_HTTP_STATUS
_CODE: Final = C.ACK_CODE


def http_acked(status: int, *, accept_2xx: bool = False) -> bool:
    """Whether a webhook's HTTP ``status`` acks the event."""
    return status == _STATUS or (accept_2xx and 200 <= status < 300)


def code_acked(code: int | None) -> bool:
    """Whether a long-connection ack ``code`` (None: unreadable) acks the event."""
    return code == _CODE


def judge_status(status: int, *, accept_2xx: bool) -> Outcome:
    """The outcome of a webhook answer that came within the budget."""
    return Outcome.ACKED if http_acked(status, accept_2xx=accept_2xx) else Outcome.REJECTED


__all__ = ["code_acked", "http_acked", "judge_status"]

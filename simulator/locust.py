"""A Locust user that posts freshly generated, AES-encrypted and signed Feishu events.

For load beyond one machine: Locust's master/worker cluster runs the users, our engine seals every
request (``simulator.load.events.EventSource``: a unique ``event_id``, the current ``create_time``, a fresh
IV, timestamp, nonce, signature and ``X-Request-Id``). Install with ``pip install 'feishu-sim[locust]'``
and write a two-line locustfile::

    # locustfile.py
    from simulator.locust import FeishuEventUser  # noqa: F401  (Locust runs the users it finds here)

    locust -f locustfile.py --headless -u 50 -r 10 -t 1m --host http://127.0.0.1:9000/webhook/event \
        --feishu-encrypt-key KEY --feishu-verification-token TOKEN

``--host`` is the full callback URL. Options (also from the environment): ``--feishu-event-type``
(``FEISHU_SIM_EVENT_TYPE``), ``--feishu-encrypt-key`` (``FEISHU_ENCRYPT_KEY``; without one, events go in
plaintext), ``--feishu-verification-token`` (``FEISHU_VERIFICATION_TOKEN``), ``--feishu-seed``
(``FEISHU_SIM_SEED``; each worker process draws its own stream from it). A response other than HTTP 200
is a failure, as it is for the platform. Note that Locust is closed-loop: its response times do not
include queueing delays (use ``feishu-sim load`` for coordinated-omission-corrected latency).

Imports are absolute so that Locust may also load this file directly with ``-f``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from locust import events, task
from locust.contrib.fasthttp import FastHttpUser

from simulator import constants as C
from simulator.config import AppProfile
from simulator.generation.factory import EventFactory
from simulator.load.events import EventSource
from simulator.rand import SimRandom
from simulator.verdicts.ack import http_acked

_SOURCES: dict[tuple[Any, ...], EventSource] = {}


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator,unused-ignore]
def _add_options(parser: Any) -> None:
    group = parser.add_argument_group("feishu-sim")
    group.add_argument("--feishu-event-type", env_var="FEISHU_SIM_EVENT_TYPE", default=C.DEFAULT_EVENT_TYPE,
                       help="event type to send (default vc.meeting.share_ended_v1)")
    group.add_argument("--feishu-encrypt-key", env_var="FEISHU_ENCRYPT_KEY", default="",
                       help="encrypt key: AES-encrypt and sign every event (default: plaintext)")
    group.add_argument("--feishu-verification-token", env_var="FEISHU_VERIFICATION_TOKEN", default="",
                       help="verification token put in header.token")
    group.add_argument("--feishu-seed", env_var="FEISHU_SIM_SEED", default="",
                       help="seed for reproducible events (each worker process forks its own stream)")


def _option(environment: Any, name: str, env: str, default: str = "") -> str:
    opts = getattr(environment, "parsed_options", None)
    value = getattr(opts, name, None) if opts is not None else None
    if value in (None, ""):
        value = os.environ.get(env, default)
    return str(value)


def source_for(environment: Any, event_type: str | None = None) -> EventSource:
    """The process-wide event source for this environment's options (greenlets share it safely: sealing
    never yields)."""
    et = event_type or _option(environment, "feishu_event_type", "FEISHU_SIM_EVENT_TYPE", C.DEFAULT_EVENT_TYPE)
    key = _option(environment, "feishu_encrypt_key", "FEISHU_ENCRYPT_KEY") or None
    token = _option(environment, "feishu_verification_token", "FEISHU_VERIFICATION_TOKEN") or None
    seed_text = _option(environment, "feishu_seed", "FEISHU_SIM_SEED")
    worker = int(getattr(getattr(environment, "runner", None), "worker_index", 0) or 0)
    cache_key = (et, key, token, seed_text, worker)
    src = _SOURCES.get(cache_key)
    if src is None:
        rand = SimRandom(int(seed_text, 0) if seed_text else None).fork(f"locust-worker-{worker}")
        app = AppProfile(encrypt_key=key, verification_token=token)
        src = EventSource(EventFactory(app=app, rand=rand), et, encrypt_key=key)
        _SOURCES[cache_key] = src
    return src


class FeishuEventUser(FastHttpUser):
    """POSTs one freshly sealed event per task to ``--host`` (the full callback URL) + ``path``."""

    path = ""
    event_type: str | None = None  # None: --feishu-event-type / FEISHU_SIM_EVENT_TYPE

    def on_start(self) -> None:
        self.source = source_for(self.environment, self.event_type)
        self.name = self.source.event_type

    @task
    def post_event(self) -> None:
        sealed = self.source.seal(time.time())
        headers = {"Content-Type": C.CONTENT_TYPE_JSON, **dict(sealed.headers)}
        # FastHttpSession documents "String/bytes" for data; its annotation says str only.
        with self.client.post(self.path, data=sealed.body, headers=headers, name=self.name,  # type: ignore[arg-type]
                              catch_response=True) as resp:
            if http_acked(resp.status_code):
                resp.success()
            else:
                resp.failure(f"HTTP {resp.status_code}: the platform counts only 200 as acked")

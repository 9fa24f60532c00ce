"""Frozen configuration records shared by the CLI, the pytest plugin and the load generator."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from simulator import constants as C
from simulator.engine.faults import FaultSpec
from simulator.errors import ConfigError

MAX_RETRIES = 100  # retries per event (the platform's own ladder has 4)
_APP_ID_RE = re.compile(r"^cli_[0-9a-f]{16}$")


def _check_text(value: str | None, what: str) -> None:
    """Secrets and ids are hashed and sent as UTF-8: bytes that are not UTF-8 (the shell passes them on as
    lone surrogates) are refused here rather than deep inside the seal."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{what} is not valid UTF-8 text") from None


@dataclass(frozen=True)
class AppProfile:
    """The app the events are addressed to, and the secrets its receiver is configured with.

    ``encrypt_key=None`` means plaintext delivery without signature headers; ``verification_token=None``
    sends an empty ``header.token`` (what a receiver with no token configured accepts).
    """

    app_id: str = C.DEFAULT_APP_ID
    app_secret: str = C.DEFAULT_APP_SECRET
    tenant_key: str = C.DEFAULT_TENANT_KEY
    verification_token: str | None = None
    encrypt_key: str | None = None

    def __post_init__(self) -> None:
        if not self.app_id:
            raise ConfigError("app id must not be empty")
        if not self.tenant_key:
            raise ConfigError("tenant key must not be empty")
        if self.encrypt_key is not None and self.encrypt_key == "":
            raise ConfigError("encrypt key must not be empty (omit it for plaintext delivery)")
        if self.verification_token is not None and self.verification_token == "":
            raise ConfigError("verification token must not be empty (omit it to send an empty header.token)")
        for what, value in (("app id", self.app_id), ("app secret", self.app_secret), ("tenant key", self.tenant_key),
                            ("verification token", self.verification_token), ("encrypt key", self.encrypt_key)):
            _check_text(value, what)

    @property
    def app_id_is_realistic(self) -> bool:
        return bool(_APP_ID_RE.match(self.app_id))

    @classmethod
    def from_env(cls, **overrides: Any) -> AppProfile:
        """Keys default to ``FEISHU_ENCRYPT_KEY`` / ``FEISHU_VERIFICATION_TOKEN`` when not given."""
        values: dict[str, Any] = {}
        env_key = os.environ.get("FEISHU_ENCRYPT_KEY")
        env_token = os.environ.get("FEISHU_VERIFICATION_TOKEN")
        _check_text(env_key, "$FEISHU_ENCRYPT_KEY")
        _check_text(env_token, "$FEISHU_VERIFICATION_TOKEN")
        if env_key:
            values["encrypt_key"] = env_key
        if env_token:
            values["verification_token"] = env_token
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class Budget:
    """Receiver budgets (docs/semantics.md#required-response): TCP connect 2 s, whole request 3 s."""

    connect_s: float = C.WEBHOOK_CONNECT_BUDGET_S
    total_s: float = C.WEBHOOK_TOTAL_BUDGET_S

    def __post_init__(self) -> None:
        if self.connect_s <= 0 or self.total_s <= 0:
            raise ConfigError("timeouts must be > 0")


@dataclass(frozen=True)
class RetryPolicy:
    """Gaps (platform seconds) before each retry; ``()`` means no retries."""

    delays: tuple[float, ...] = ()

    @classmethod
    def feishu(cls) -> RetryPolicy:
        return cls(C.FEISHU_RETRY_DELAYS_S)

    @classmethod
    def none(cls) -> RetryPolicy:
        return cls(())

    @classmethod
    def parse(cls, spec: str | int | None) -> RetryPolicy:
        """``feishu`` (15 s, 5 min, 1 h, 6 h), ``none``, or ``N`` (the first N steps of the ladder;
        beyond 4 the last gap repeats)."""
        if spec is None:
            return cls.none()
        if isinstance(spec, int):
            n = spec
        else:
            text = str(spec).strip().lower()
            if text == "feishu":
                return cls.feishu()
            if text in ("none", "0"):
                return cls.none()
            try:
                n = int(text)
            except ValueError:
                raise ConfigError(f"invalid retries {spec!r}: expected feishu, none or a number") from None
        if n < 0:
            raise ConfigError(f"invalid retries {spec!r}: must be >= 0")
        if n > MAX_RETRIES:
            raise ConfigError(f"invalid retries {spec!r}: at most {MAX_RETRIES}")
        ladder = list(C.FEISHU_RETRY_DELAYS_S)
        delays = [ladder[min(i, len(ladder) - 1)] for i in range(n)]
        return cls(tuple(delays))

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.delays)


@dataclass(frozen=True)
class SimConfig:
    """Everything a run needs besides its target."""

    app: AppProfile = field(default_factory=AppProfile)
    seed: int | None = None
    locale: str = C.DEFAULT_LOCALE
    validate: bool = True
    validate_all: bool = False  # also re-validate unmodified generator output (slow: ~1 ms per event)
    budget: Budget = field(default_factory=Budget)
    accept_2xx: bool = False
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    time_scale: float | None = None  # None: real time; 0: instant virtual time; 0.001: compressed
    start_time: float | None = None  # platform time of the first event (epoch seconds); None: now
    faults: FaultSpec = field(default_factory=FaultSpec)  # seeded delivery faults (none by default)

    def with_app(self, **changes: Any) -> SimConfig:
        return replace(self, app=replace(self.app, **changes))

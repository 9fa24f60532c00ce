"""The configuration vocabulary of the test helper: ``@pytest.mark.feishu(...)`` keywords, the
``feishu_config`` fixture's dict and ``FeishuSim.from_options(**keywords)`` all go through ``settings_from``.

Values are checked here, once, with messages that name the option (the plugin adds the test's id).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator import constants as C
from simulator.config import AppProfile, Budget, RetryPolicy, SimConfig
from simulator.durations import parse_duration
from simulator.engine.faults import FAULT_NAMES, FaultSpec
from simulator.errors import ConfigError, did_you_mean

DEFAULT_PATH = C.DEFAULT_WEBHOOK_PATH

# The configuration vocabulary shared by ``@pytest.mark.feishu(...)``, the ``feishu_config`` fixture and
# ``FeishuSim.from_options``: name -> one-line help (the marker's registered signature is built from it).
OPTIONS: dict[str, str] = {
    "encrypt_key": "Encrypt Key: AES-encrypt and sign every request (None: plaintext, no signature)",
    "verification_token": "verification token put in header.token (None: empty token)",
    "app_id": f"app id in header.app_id (default {C.DEFAULT_APP_ID})",
    "app_secret": "app secret (long connection)",
    "tenant_key": f"tenant key in header.tenant_key (default {C.DEFAULT_TENANT_KEY})",
    "seed": "seed of all generated data (default: derived from the test id, so every run is the same)",
    "retries": "retry ladder: 'feishu' (15 s, 5 min, 1 h, 6 h), 'none' (default), N steps, or a list of gaps "
               "(seconds or durations such as '5m')",
    "faults": "seeded faults: a spec such as 'dup=0.3,reorder=4' (as --faults), a FaultSpec or a dict of its fields",
    "time_scale": "virtual clock: 0 (default) runs the ladder instantly, None is real time",
    "start_time": "platform time of the first event (epoch seconds)",
    "locale": f"Faker locale (default {C.DEFAULT_LOCALE})",
    "validate": "validate generated events against their JSON Schema (default True)",
    "accept_2xx": "count any 2xx as acked (the platform wants 200)",
    "timeout": "total budget per request: seconds or a duration such as '500ms' (default 3)",
    "connect_timeout": "TCP connect budget: seconds or a duration (default 2)",
    "path": f"request path for in-process apps (default {DEFAULT_PATH})",
    "transcript": "write every attempt as NDJSON to this file (replayable with feishu-sim replay)",
    "transcript_secrets": "keep the verification token in the transcript (default False: redacted, as "
                          "push --transcript without --transcript-secrets)",
    "check_unacked": "fail the test when a delivery was not acked and not expected to be rejected (default True)",
}


@dataclass(frozen=True)
class Settings:
    """A ``SimConfig`` plus what only the test helper needs."""

    config: SimConfig = field(default_factory=lambda: SimConfig(time_scale=0.0))
    path: str = DEFAULT_PATH
    check_unacked: bool = True
    transcript: str | None = None
    transcript_secrets: bool = False  # the verification token kept in the transcript (redacted by default)
    # app_id was configured (marker, feishu_config, from_options): otherwise pushes to the long-connection
    # platform address its first app, so the app id is configured once, where the platform is
    app_id_given: bool = False


def _type_error(name: str, expected: str, value: object) -> ConfigError:
    return ConfigError(f"option {name!r} must be {expected}, got {value!r} ({type(value).__name__})")


def opt_str(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _type_error(name, "a non-empty string or None", value)
    return value


def _number(name: str, value: object, *, minimum: float, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(name, "a number", value)
    if value < minimum or (strict and value == minimum):
        raise ConfigError(f"option {name!r} must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return float(value)


def _duration(name: str, value: object, *, positive: bool = False) -> float:
    """Seconds, or a duration string such as ``"500ms"`` (``simulator.durations``)."""
    return parse_duration(value, what=f"option {name!r}", positive=positive)


def _bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _type_error(name, "True or False", value)
    return value


def _retries(value: object) -> RetryPolicy:
    if value is None:
        return RetryPolicy.none()
    if isinstance(value, RetryPolicy):
        return value
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return RetryPolicy.parse(value)
    if isinstance(value, Sequence):
        return RetryPolicy(tuple(_duration("retries", v) for v in value))
    raise _type_error("retries", "'feishu', 'none', a number of steps or a list of gaps", value)


def _faults(value: object) -> FaultSpec:
    if value is None or isinstance(value, FaultSpec):
        return value or FaultSpec()
    if isinstance(value, str):
        return FaultSpec.parse(value)
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in FAULT_NAMES]
        if unknown:
            raise ConfigError(f"unknown fault {unknown[0]!r} (known: {', '.join(FAULT_NAMES)})")
        try:
            return FaultSpec(**value)
        except TypeError:
            raise ConfigError(f"invalid faults {dict(value)!r}: expected numbers and (low, high) ranges") from None
    raise _type_error("faults", "a fault spec such as 'dup=0.3', a FaultSpec or a dict", value)


def check_names(options: Mapping[str, Any]) -> None:
    """Reject unknown option names, suggesting the closest known one."""
    for name in options:
        if name not in OPTIONS:
            raise ConfigError(f"unknown option {name!r}{did_you_mean(str(name), OPTIONS)}; known: {', '.join(OPTIONS)}")


def settings_from(options: Mapping[str, Any], *, default_seed: int | None = None, whole: bool = True) -> Settings:
    """Build ``Settings`` from option names (``OPTIONS``); raises ``ConfigError`` naming the bad one.
    ``whole=False``: ``options`` are only part of a test's options (a marker's), so checks that need the
    rest are left out."""
    check_names(options)
    o = dict(options)
    app_kwargs: dict[str, Any] = {}
    for name in ("app_id", "app_secret", "tenant_key"):
        if name in o:
            value = opt_str(name, o[name])
            if value is None:
                raise _type_error(name, "a non-empty string", o[name])
            app_kwargs[name] = value
    app = AppProfile(encrypt_key=opt_str("encrypt_key", o.get("encrypt_key")),
                     verification_token=opt_str("verification_token", o.get("verification_token")), **app_kwargs)
    seed = o.get("seed", default_seed)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _type_error("seed", "an int", seed)
    time_scale = o.get("time_scale", 0.0)
    if time_scale is not None:
        time_scale = _number("time_scale", time_scale, minimum=0)
    start_time = o.get("start_time")
    if start_time is not None:
        start_time = _number("start_time", start_time, minimum=0)
    locale = o.get("locale", C.DEFAULT_LOCALE)
    if not isinstance(locale, str) or not locale:
        raise _type_error("locale", "a locale name such as 'en_US'", locale)
    budget = Budget(connect_s=_duration("connect_timeout", o.get("connect_timeout", C.WEBHOOK_CONNECT_BUDGET_S),
                                        positive=True),
                    total_s=_duration("timeout", o.get("timeout", C.WEBHOOK_TOTAL_BUDGET_S), positive=True))
    path = o.get("path", DEFAULT_PATH)
    if not isinstance(path, str) or not path.startswith("/"):
        raise _type_error("path", "a path starting with '/'", path)
    config = SimConfig(app=app, seed=seed, locale=locale, validate=_bool("validate", o.get("validate", True)),
                       budget=budget, accept_2xx=_bool("accept_2xx", o.get("accept_2xx", False)),
                       retries=_retries(o.get("retries")), time_scale=time_scale, start_time=start_time,
                       faults=_faults(o.get("faults")))
    transcript = o.get("transcript")
    if transcript is not None and not isinstance(transcript, (str, os.PathLike)):
        raise _type_error("transcript", "a file path", transcript)
    keep_secrets = _bool("transcript_secrets", o.get("transcript_secrets", False))
    if keep_secrets and transcript is None and whole:  # (a marker alone may leave the transcript to the fixture)
        raise ConfigError("transcript_secrets=True needs transcript=PATH (there is no transcript to keep them in)")
    return Settings(config=config, path=path, check_unacked=_bool("check_unacked", o.get("check_unacked", True)),
                    transcript=None if transcript is None else os.fspath(transcript),
                    transcript_secrets=keep_secrets,
                    app_id_given="app_id" in o)

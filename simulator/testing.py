"""``FeishuSim``: the simulator as a test helper (what the ``feishu_sim`` pytest fixture returns).

A thin face over the one engine (``simulator.engine.Simulator``): it resolves a target (URL, ASGI app,
WSGI app), pushes through the engine's retry ladder, keeps every delivery, and answers assertions. It
does not need pytest; the plugin only builds it from the marker and checks it after the test.

The engine is async. ``apush`` runs in the caller's event loop (any asyncio loop: pytest-asyncio,
anyio's pytest plugin, ``asyncio.run``); ``push`` is the blocking face for sync code and runs the engine
on one event loop in a background thread (the way Starlette's ``TestClient`` uses a blocking portal),
kept for the helper's lifetime so an in-process app sees the same loop on every push. The thread is a
daemon: a script that forgets ``close()`` still exits.
"""

from __future__ import annotations

import asyncio
import difflib
import threading
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

from . import constants as C
from .config import AppProfile, Budget, RetryPolicy, SimConfig
from .delivery.inprocess import channel_for, check_path, resolve
from .engine import Simulator
from .errors import ConfigError, NotAcked, UsageError
from .faults import FAULT_NAMES, FaultSpec
from .overrides import Overrides
from .seal import Sealer
from .verdict import Attempt, Channel, Delivery, Summary

DEFAULT_PATH = "/webhook/event"

# The configuration vocabulary shared by ``@pytest.mark.feishu(...)``, the ``feishu_config`` fixture and
# ``FeishuSim.from_options``: name -> one-line help (the marker's registered signature is built from it).
OPTIONS: dict[str, str] = {
    "encrypt_key": "Encrypt Key: AES-encrypt and sign every request (None: plaintext, no signature)",
    "verification_token": "verification token put in header.token (None: empty token)",
    "app_id": f"app id in header.app_id (default {C.DEFAULT_APP_ID})",
    "app_secret": "app secret (long connection)",
    "tenant_key": f"tenant key in header.tenant_key (default {C.DEFAULT_TENANT_KEY})",
    "seed": "seed of all generated data (default: derived from the test id, so every run is the same)",
    "retries": "retry ladder: 'feishu' (15 s, 5 min, 1 h, 6 h), 'none' (default), N steps, or a list of gaps",
    "faults": "seeded faults: a spec such as 'dup=0.3,reorder=4' (as --faults), a FaultSpec or a dict of its fields",
    "time_scale": "virtual clock: 0 (default) runs the ladder instantly, None is real time",
    "start_time": "platform time of the first event (epoch seconds)",
    "locale": "Faker locale (default zh_CN)",
    "validate": "validate generated events against their JSON Schema (default True)",
    "accept_2xx": "count any 2xx as acked (the platform wants 200)",
    "timeout": "total budget per request in seconds (default 3)",
    "connect_timeout": "TCP connect budget in seconds (default 2)",
    "path": f"request path for in-process apps (default {DEFAULT_PATH})",
    "check_unacked": "fail the test when a delivery was not acked and not expected to be rejected (default True)",
}


@dataclass(frozen=True)
class Settings:
    """A ``SimConfig`` plus what only the test helper needs."""

    config: SimConfig = field(default_factory=lambda: SimConfig(time_scale=0.0))
    path: str = DEFAULT_PATH
    check_unacked: bool = True


def _type_error(name: str, expected: str, value: object) -> ConfigError:
    return ConfigError(f"option {name!r} must be {expected}, got {value!r} ({type(value).__name__})")


def _opt_str(name: str, value: object) -> str | None:
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
        return RetryPolicy(tuple(_number("retries", v, minimum=0) for v in value))
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
            close = difflib.get_close_matches(str(name), OPTIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown option {name!r}{hint}; known: {', '.join(OPTIONS)}")


def settings_from(options: Mapping[str, Any], *, default_seed: int | None = None) -> Settings:
    """Build ``Settings`` from option names (``OPTIONS``); raises ``ConfigError`` naming the bad one."""
    check_names(options)
    o = dict(options)
    app_kwargs: dict[str, Any] = {}
    for name in ("app_id", "app_secret", "tenant_key"):
        if name in o:
            value = _opt_str(name, o[name])
            if value is None:
                raise _type_error(name, "a non-empty string", o[name])
            app_kwargs[name] = value
    app = AppProfile(encrypt_key=_opt_str("encrypt_key", o.get("encrypt_key")),
                     verification_token=_opt_str("verification_token", o.get("verification_token")), **app_kwargs)
    seed = o.get("seed", default_seed)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _type_error("seed", "an int", seed)
    time_scale = o.get("time_scale", 0.0)
    if time_scale is not None:
        time_scale = _number("time_scale", time_scale, minimum=0)
    start_time = o.get("start_time")
    if start_time is not None:
        start_time = _number("start_time", start_time, minimum=0)
    locale = o.get("locale", "zh_CN")
    if not isinstance(locale, str) or not locale:
        raise _type_error("locale", "a locale name such as 'en_US'", locale)
    budget = Budget(connect_s=_number("connect_timeout", o.get("connect_timeout", C.WEBHOOK_CONNECT_BUDGET_S),
                                      minimum=0, strict=True),
                    total_s=_number("timeout", o.get("timeout", C.WEBHOOK_TOTAL_BUDGET_S), minimum=0, strict=True))
    path = o.get("path", DEFAULT_PATH)
    if not isinstance(path, str) or not path.startswith("/"):
        raise _type_error("path", "a path starting with '/'", path)
    config = SimConfig(app=app, seed=seed, locale=locale, validate=_bool("validate", o.get("validate", True)),
                       budget=budget, accept_2xx=_bool("accept_2xx", o.get("accept_2xx", False)),
                       retries=_retries(o.get("retries")), time_scale=time_scale, start_time=start_time,
                       faults=_faults(o.get("faults")))
    return Settings(config=config, path=path, check_unacked=_bool("check_unacked", o.get("check_unacked", True)))


T = TypeVar("T")


class _LoopThread:
    """An asyncio loop in a daemon thread; ``run(coro)`` blocks the caller until the coroutine is done."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="feishu-sim-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        try:
            self.run(drain())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            if not self.thread.is_alive():
                self.loop.close()


def _platform_loop(target: object) -> asyncio.AbstractEventLoop | None:
    """The event loop of a running long-connection ``PlatformServer``, or None for any other target."""
    server = getattr(target, "server", None)
    if getattr(target, "platform", None) is None or not hasattr(target, "domain"):
        return None
    loop = getattr(server, "loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


class _PlatformChannel:
    """Delivers through a ``PlatformServer`` running on its own loop (thread): the platform picks a live
    connection of the app and judges the ack; this side keeps the engine's ladder, clock and records."""

    channel = Channel.LONGCONN

    def __init__(self, server: Any, app_id: str) -> None:
        self.server = server
        self.app_id = app_id

    async def attempt(self, envelope: dict[str, Any], *, attempt_no: int, sent_at: float) -> Attempt:
        loop = _platform_loop(self.server)
        if loop is None:
            raise UsageError("the long-connection platform is not running")
        coro = self.server.platform.deliver(self.app_id, envelope, attempt_no=attempt_no, sent_at=sent_at)
        att: Attempt = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))
        return att

    async def aclose(self) -> None:
        """The connections belong to the platform."""


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class FeishuSim:
    """Pushes Feishu events into apps under test and keeps every delivery for assertions."""

    def __init__(self, settings: Settings | None = None, *, name: str = "") -> None:
        self.settings = settings or Settings()
        self.name = name
        self.sim = Simulator(self.settings.config)
        self._loop_thread: _LoopThread | None = None
        self._sealers = 0

    @classmethod
    def from_options(cls, name: str = "", **options: Any) -> FeishuSim:
        """``FeishuSim.from_options(encrypt_key=..., seed=...)``: the marker's vocabulary, without pytest."""
        return cls(settings_from(options), name=name)

    # -- what happened -----------------------------------------------------------------------------
    @property
    def config(self) -> SimConfig:
        return self.settings.config

    @property
    def seed(self) -> int:
        return self.sim.rand.seed

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery so far, in push order (each with all its attempts)."""
        return self.sim.deliveries

    @property
    def attempts(self) -> list[Attempt]:
        """Every attempt so far (retries included), delivery by delivery."""
        return [a for d in self.sim.deliveries for a in d.attempts]

    def summary(self) -> Summary:
        return self.sim.summary()

    def generate(self, event_type: str = C.DEFAULT_EVENT_TYPE, *, set: Overrides | None = None) -> dict[str, Any]:
        """One envelope, not delivered (edit it and pass it to ``push`` for hand-made cases)."""
        return self.sim.generate(event_type, overrides=set)

    # -- pushing -----------------------------------------------------------------------------------
    @overload
    async def apush(self, target: object, event: str | dict[str, Any] = ..., *, set: Overrides | None = ...,
                    count: None = ..., path: str | None = ..., expect_rejected: bool = ...,
                    encrypt_key: str | None = ..., concurrency: int = ...) -> Delivery: ...

    @overload
    async def apush(self, target: object, event: str | dict[str, Any] = ..., *, set: Overrides | None = ...,
                    count: int, path: str | None = ..., expect_rejected: bool = ...,
                    encrypt_key: str | None = ..., concurrency: int = ...) -> list[Delivery]: ...

    async def apush(self, target: object, event: str | dict[str, Any] = C.DEFAULT_EVENT_TYPE, *,
                    set: Overrides | None = None, count: int | None = None, path: str | None = None,
                    expect_rejected: bool = False, encrypt_key: str | None = UNSET,
                    concurrency: int = 1) -> Delivery | list[Delivery]:
        """Generate and deliver ``event`` (an event type, or a ready envelope) to ``target``.

        ``target``: an ``http(s)://`` URL, an ASGI app or a WSGI app (called in process at ``path``), or
        the long-connection platform (``feishu_platform``): then the event goes, as plain JSON with an empty
        token, to one live connection of the app, and the verdict is the client's ack.
        ``set``: overrides by dotted path. ``count=N`` delivers N events and returns a list.
        ``expect_rejected``: a negative test; the delivery must *not* be acked.
        ``encrypt_key``: seal this push with another key (``None``: plaintext), e.g. a wrong one.
        """
        __tracebackhide__ = True  # a usage error points at the test's line, not at this module
        envelopes = self._envelopes(event, set, count, longconn=_platform_loop(target) is not None)
        self._resolve(target, path)
        out = await self._deliver(target, envelopes, path, encrypt_key, concurrency, expect_rejected)
        return out if count is not None else out[0]

    @overload
    def push(self, target: object, event: str | dict[str, Any] = ..., *, set: Overrides | None = ...,
             count: None = ..., path: str | None = ..., expect_rejected: bool = ...,
             encrypt_key: str | None = ..., concurrency: int = ...) -> Delivery: ...

    @overload
    def push(self, target: object, event: str | dict[str, Any] = ..., *, set: Overrides | None = ...,
             count: int, path: str | None = ..., expect_rejected: bool = ...,
             encrypt_key: str | None = ..., concurrency: int = ...) -> list[Delivery]: ...

    def push(self, target: object, event: str | dict[str, Any] = C.DEFAULT_EVENT_TYPE, *,
             set: Overrides | None = None, count: int | None = None, path: str | None = None,
             expect_rejected: bool = False, encrypt_key: str | None = UNSET,
             concurrency: int = 1) -> Delivery | list[Delivery]:
        """Blocking ``apush`` for sync tests. In ``async def`` tests use ``await feishu_sim.apush(...)``."""
        __tracebackhide__ = True
        self._not_in_loop("push", "apush")
        # Generation and target checks run here, so bad input raises in the test's own thread.
        envelopes = self._envelopes(event, set, count, longconn=_platform_loop(target) is not None)
        self._resolve(target, path)
        out = self._blocking().run(self._deliver(target, envelopes, path, encrypt_key, concurrency,
                                                 expect_rejected))
        return out if count is not None else out[0]

    async def apush_scenario(self, target: object, scenario: str | Path, *, runs: int = 1, concurrency: int = 1,
                             path: str | None = None, expect_rejected: bool = False,
                             encrypt_key: str | None = UNSET) -> list[Delivery]:
        """Deliver a whole scenario (a shipped name such as ``"plain-meeting"`` or a ``.toml`` file) to
        ``target``, in scenario order (``concurrency`` > 1 lets later events overtake)."""
        __tracebackhide__ = True
        envelopes = self._scenario(target, scenario, runs)
        self._resolve(target, path)
        return await self._deliver(target, envelopes, path, encrypt_key, concurrency, expect_rejected)

    def push_scenario(self, target: object, scenario: str | Path, *, runs: int = 1, concurrency: int = 1,
                      path: str | None = None, expect_rejected: bool = False,
                      encrypt_key: str | None = UNSET) -> list[Delivery]:
        """Blocking ``apush_scenario`` for sync tests."""
        __tracebackhide__ = True
        self._not_in_loop("push_scenario", "apush_scenario")
        envelopes = self._scenario(target, scenario, runs)
        self._resolve(target, path)
        return self._blocking().run(self._deliver(target, envelopes, path, encrypt_key, concurrency,
                                                  expect_rejected))

    # -- assertions --------------------------------------------------------------------------------
    def assert_all_acked(self) -> None:
        """Every delivery so far ended acked (expected rejections included: use ``check()`` for those)."""
        self.sim.assert_all_acked()

    def assert_acked(self, event_id: str) -> Delivery:
        return self.sim.assert_acked(event_id)

    def assert_rejected(self, event_id: str) -> Delivery:
        """The delivery of ``event_id`` ended *not* acked (every attempt failed)."""
        for d in self.sim.deliveries:
            if d.event_id == event_id:
                if d.acked:
                    raise NotAcked(f"expected a rejection, but it was acked: {d.summary_line()}")
                return d
        raise NotAcked(f"no delivery with event_id {event_id}")

    def unexpected(self) -> list[Delivery]:
        """Deliveries that did not end as expected: not acked, or acked although a rejection was expected."""
        return self.sim.unexpected()

    def report(self, deliveries: Sequence[Delivery] | None = None) -> str | None:
        """The failure message for the unexpected deliveries (among ``deliveries``), or None."""
        pool = self.sim.deliveries if deliveries is None else list(deliveries)
        bad = [d for d in pool if d.acked == d.expect_rejected]
        if not bad:
            return None
        lines = [f"feishu_sim: {len(bad)} of {len(pool)} deliveries did not end as expected (seed={self.seed}):"]
        for d in bad:
            why = "expected a rejection, but it was acked" if d.expect_rejected else "not acked"
            lines.append(f"  {why}: {d.summary_line()}")
        lines.append("Mark negative tests with push(..., expect_rejected=True), "
                     "or opt out with @pytest.mark.feishu(check_unacked=False).")
        return "\n".join(lines)

    # -- plumbing ----------------------------------------------------------------------------------
    def _where(self) -> str:
        return f"{self.name}: " if self.name else ""

    def _not_in_loop(self, sync: str, async_: str) -> None:
        __tracebackhide__ = True
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise UsageError(f"{self._where()}feishu_sim.{sync}() blocks; inside a running event loop "
                         f"(an async test) use 'await feishu_sim.{async_}(...)'")

    def _envelopes(self, event: str | dict[str, Any], overrides: Overrides | None,
                   count: int | None, *, longconn: bool = False) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ConfigError(f"{self._where()}count must be an int >= 1, got {count!r}")
        n = 1 if count is None else count
        if isinstance(event, dict):
            if overrides:
                raise ConfigError(f"{self._where()}set= applies to generated events, not to a ready envelope")
            return [event] * n
        return self.sim.generate_many(event, n, overrides=overrides, longconn=longconn)

    def _scenario(self, target: object, scenario: str | Path, runs: int) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
            raise ConfigError(f"{self._where()}runs must be an int >= 1, got {runs!r}")
        return self.sim.generate_scenario(scenario, runs=runs, longconn=_platform_loop(target) is not None)

    def _resolve(self, target: object, path: str | None) -> None:
        __tracebackhide__ = True
        if _platform_loop(target) is not None:
            return
        try:
            resolve(target)
            check_path(path or self.settings.path)
        except UsageError as exc:
            raise type(exc)(f"{self._where()}{exc}") from None

    async def _deliver(self, target: object, envelopes: list[dict[str, Any]], path: str | None,
                       encrypt_key: str | None, concurrency: int, expect_rejected: bool) -> list[Delivery]:
        if _platform_loop(target) is not None:
            return await self.sim.push(_PlatformChannel(target, self.config.app.app_id), envelopes,
                                       concurrency=concurrency, expect_rejected=expect_rejected)
        sealer = self.sim.sealer
        if encrypt_key is not UNSET:
            self._sealers += 1
            sealer = Sealer(_opt_str("encrypt_key", encrypt_key), self.sim.rand.fork(f"seal-{self._sealers}"))
        channel = channel_for(target, sealer=sealer, path=path or self.settings.path, budget=self.config.budget,
                              accept_2xx=self.config.accept_2xx)
        try:
            return await self.sim.push(channel, envelopes, concurrency=concurrency, expect_rejected=expect_rejected)
        finally:
            await channel.aclose()

    def _blocking(self) -> _LoopThread:
        if self._loop_thread is None:
            self._loop_thread = _LoopThread()
        return self._loop_thread

    def close(self) -> None:
        """Stop the background loop of ``push`` (if it was started)."""
        if self._loop_thread is not None:
            lt, self._loop_thread = self._loop_thread, None
            lt.close()

    def __enter__(self) -> FeishuSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

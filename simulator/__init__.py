"""feishu-sim: a mock of the Feishu (Lark) open platform's event delivery.

The public API: configure a run (``AppProfile``, ``SimConfig``, ``Budget``, ``RetryPolicy``, ``FaultSpec``,
``Clock``), generate and seal (``EventFactory``, ``SimRandom``, ``Sealer``, ``AesCipher``, ``sign``,
``canonical_json``), drive it (``Simulator``: generate, seal, deliver, judge, record), read results
(``Delivery``, ``DeliveryState``, ``Attempt``, ``Outcome``, ``Channel``, ``Summary``; a callback's judged
``Answer`` and its ``AnswerKind``), test against it
(``FeishuSim``, ``PlatformServer``, ``ReferenceReceiver``) and catch errors (``SimulatorError`` and its
subclasses, drawn in ``simulator.errors``).

``FeishuSim`` and ``PlatformServer`` are imported on first use: eagerly, they would add 50-80 ms (about a
third) to ``import simulator``, which every ``feishu-sim`` command pays. Type checkers see them, like every
other name here, as the real classes (``tests/test_public_api_types.py`` checks it).
"""

from __future__ import annotations

import importlib
import typing

from simulator.clock import Clock, SystemClock, VirtualClock
from simulator.config import AppProfile, Budget, RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.errors import (
    AnswerDecodeError,
    ApiRefused,
    BadAnswer,
    BotCallMissing,
    ConfigError,
    DecryptError,
    FixtureError,
    FrameError,
    NotAcked,
    OverrideError,
    ProtocolError,
    ReceiverError,
    SimulatorError,
    TargetError,
    UnknownEventType,
    UsageError,
    ValidationFailed,
)
from simulator.generation.factory import EventFactory
from simulator.rand import SimRandom
from simulator.receiver import ReferenceReceiver
from simulator.verdicts.answers import Answer, AnswerKind
from simulator.verdicts.model import Attempt, Channel, Delivery, DeliveryState, Outcome, Summary
from simulator.verdicts.model import deprecated_alias as _deprecated_alias
from simulator.wire.seal import AesCipher, Sealer, canonical_json, sign

if typing.TYPE_CHECKING:
    from simulator.platform_server import PlatformServer
    from simulator.testing import FeishuSim
    from simulator.verdicts.model import Final as Final  # deprecated alias of DeliveryState (the runtime warns)

from simulator._version import __version__

_ON_FIRST_USE = {"FeishuSim": "simulator.testing", "PlatformServer": "simulator.platform_server"}


def _attribute(name: str) -> object:
    """``FeishuSim`` / ``PlatformServer`` imported on first use (then cached here), ``Final`` with a
    ``DeprecationWarning``; anything else an ``AttributeError``."""
    module = _ON_FIRST_USE.get(name)
    if module is None:
        return _deprecated_alias(__name__, name)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if not typing.TYPE_CHECKING:  # a type checker sees the imports above instead, and reports misspelt names
    __getattr__ = _attribute


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AesCipher",
    "Answer",
    "AnswerDecodeError",
    "AnswerKind",
    "ApiRefused",
    "AppProfile",
    "Attempt",
    "BadAnswer",
    "BotCallMissing",
    "Budget",
    "Channel",
    "Clock",
    "ConfigError",
    "DecryptError",
    "Delivery",
    "DeliveryState",
    "EventFactory",
    "FaultSpec",
    "FeishuSim",
    "FixtureError",
    "FrameError",
    "NotAcked",
    "Outcome",
    "OverrideError",
    "PlatformServer",
    "ProtocolError",
    "ReceiverError",
    "ReferenceReceiver",
    "RetryPolicy",
    "Sealer",
    "SimConfig",
    "SimRandom",
    "Simulator",
    "SimulatorError",
    "Summary",
    "SystemClock",
    "TargetError",
    "UnknownEventType",
    "UsageError",
    "ValidationFailed",
    "VirtualClock",
    "__version__",
    "canonical_json",
    "sign",
]

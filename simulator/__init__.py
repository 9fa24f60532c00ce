"""feishu-sim: a mock of the Feishu (Lark) open platform's event delivery.

The public API: configure a run (``AppProfile``, ``SimConfig``, ``Budget``, ``RetryPolicy``, ``FaultSpec``), drive it
(``Simulator``: generate, seal, deliver, judge, record), read results (``Delivery``, ``Attempt``,
``Outcome``, ``Summary``), and catch errors (``SimulatorError`` and its subclasses).
"""

from __future__ import annotations

from simulator.clock import Clock, SystemClock, VirtualClock
from simulator.config import AppProfile, Budget, RetryPolicy, SimConfig
from simulator.engine.core import Simulator
from simulator.engine.faults import FaultSpec
from simulator.errors import (
    ConfigError,
    FixtureError,
    NotAcked,
    OverrideError,
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
from simulator.verdicts.model import Attempt, Channel, Delivery, Final, Outcome, Summary
from simulator.wire.seal import AesCipher, Sealer, canonical_json, sign

__version__ = "0.1.0"

# Heavier faces, imported on first use so ``import simulator`` stays light.
_LAZY = {
    "FeishuSim": "simulator.testing",
    "PlatformServer": "simulator.platform_server",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

__all__ = [
    "AesCipher",
    "AppProfile",
    "Attempt",
    "Budget",
    "Channel",
    "Clock",
    "ConfigError",
    "Delivery",
    "EventFactory",
    "FaultSpec",
    "FeishuSim",
    "Final",
    "FixtureError",
    "NotAcked",
    "Outcome",
    "OverrideError",
    "PlatformServer",
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

"""feishu-sim: a mock of the Feishu (Lark) open platform's event delivery.

The public API: configure a run (``AppProfile``, ``SimConfig``, ``Budget``, ``RetryPolicy``, ``FaultSpec``), drive it
(``Simulator``: generate, seal, deliver, judge, record), read results (``Delivery``, ``Attempt``,
``Outcome``, ``Summary``), and catch errors (``SimulatorError`` and its subclasses).
"""

from __future__ import annotations

from .clock import Clock, SystemClock, VirtualClock
from .config import AppProfile, Budget, RetryPolicy, SimConfig
from .engine import Simulator
from .errors import (
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
from .faults import FaultSpec
from .generator import EventFactory
from .rand import SimRandom
from .receiver import ReferenceReceiver
from .seal import AesCipher, Sealer, canonical_json, sign
from .verdict import Attempt, Channel, Delivery, Final, Outcome, Summary

__version__ = "0.1.0"

# Heavier faces, imported on first use so ``import simulator`` stays light.
_LAZY = {
    "FeishuSim": "simulator.testing",
    "PlatformServer": "simulator.longconn.server",
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

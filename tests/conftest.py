from __future__ import annotations

import pytest

from simulator.clock import VirtualClock
from simulator.generation.factory import SEEDED_EPOCH
from simulator.rand import SimRandom


@pytest.fixture
def rand() -> SimRandom:
    return SimRandom(1234)


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock(SEEDED_EPOCH, scale=0)

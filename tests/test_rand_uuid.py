"""``SimRandom.uuid`` formats the version-4 UUID itself; it must give exactly what ``uuid.UUID`` gives."""

from __future__ import annotations

import random
import uuid

from hypothesis import given
from hypothesis import strategies as st

from simulator.rand import SimRandom


@given(st.integers(min_value=0, max_value=2**63))
def test_uuid_matches_the_stdlib_formatting(seed: int) -> None:
    mine = SimRandom(seed)
    ref = random.Random()
    ref.setstate(mine.random.getstate())
    for _ in range(20):
        expected = str(uuid.UUID(int=ref.getrandbits(128), version=4))
        got = mine.uuid()
        assert got == expected
        assert uuid.UUID(got).version == 4

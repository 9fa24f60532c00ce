from __future__ import annotations

import types

import simulator


def test_all_is_sorted_and_complete() -> None:
    assert simulator.__all__ == sorted(simulator.__all__)
    for name in simulator.__all__:
        assert hasattr(simulator, name), name
    public = {n for n, v in vars(simulator).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public - {"annotations"} <= set(simulator.__all__)

from __future__ import annotations

import subprocess
import sys
import types
import warnings

import pytest

import simulator
from simulator import errors
from simulator.platform_server import PlatformServer
from simulator.testing import FeishuSim
from simulator.verdicts import model


def test_all_is_sorted_and_complete() -> None:
    assert simulator.__all__ == sorted(simulator.__all__)
    for name in simulator.__all__:
        assert hasattr(simulator, name), name
    public = {n for n, v in vars(simulator).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public - {"annotations"} <= set(simulator.__all__)
    assert set(simulator.__all__) <= set(dir(simulator))


def test_every_error_class_is_exported() -> None:
    classes = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.SimulatorError)}
    assert classes <= set(simulator.__all__)


def test_heavy_faces_are_the_real_classes_imported_on_first_use() -> None:
    assert simulator.FeishuSim is FeishuSim and simulator.PlatformServer is PlatformServer
    from simulator import FeishuSim as imported

    assert imported is FeishuSim
    code = ("import sys, simulator; heavy = [m for m in ('simulator.testing', 'simulator.platform_server') "
            "if m in sys.modules]; print(heavy); simulator.FeishuSim; print('simulator.testing' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.split() == ["[]", "True"]


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'FeishuSimm'"):
        simulator.FeishuSimm  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(simulator, "Nope")


@pytest.mark.parametrize(("module", "name"), [(simulator, "simulator"), (model, "simulator.verdicts.model")])
def test_final_is_a_deprecated_alias_of_delivery_state(module: types.ModuleType, name: str) -> None:
    with pytest.warns(DeprecationWarning, match=rf"^{name}\.Final is deprecated .* use DeliveryState$"):
        alias = module.Final
    assert alias is simulator.DeliveryState
    assert "Final" not in simulator.__all__  # ``from simulator import *`` no longer shadows typing.Final


def test_the_new_name_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state: object = simulator.DeliveryState.ACKED  # a str enum: it equals its value
        assert state == "acked"

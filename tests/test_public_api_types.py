"""What a type checker sees of the public API: the real classes (also for the names imported on first use),
and an error, not ``Any``, for a misspelt name. Runs mypy on a snippet with the project's configuration."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parent.parent

SNIPPET = textwrap.dedent('''\
    from __future__ import annotations

    from typing_extensions import assert_type

    import simulator
    from simulator import DeliveryState, FeishuSim, PlatformServer, Simulator
    from simulator.engine.core import Simulator as EngineSimulator
    from simulator.platform_server import PlatformServer as RealPlatformServer
    from simulator.testing import FeishuSim as RealFeishuSim
    from simulator.verdicts.model import DeliveryState as RealDeliveryState


    async def use(sim: Simulator, helper: FeishuSim, platform: PlatformServer) -> None:
        assert_type(simulator.FeishuSim, type[RealFeishuSim])
        assert_type(simulator.PlatformServer, type[RealPlatformServer])
        assert_type(simulator.Simulator, type[EngineSimulator])
        assert_type(simulator.Final, type[RealDeliveryState])
        assert_type(sim, EngineSimulator)
        assert_type(helper, RealFeishuSim)
        assert_type(platform, RealPlatformServer)
        assert_type(DeliveryState("acked"), RealDeliveryState)
        assert_type(simulator.NotAcked("x"), simulator.errors.NotAcked)
        async with Simulator() as engine:
            assert_type(engine, EngineSimulator)
            async with engine.webhook("http://127.0.0.1:9/hook") as channel:
                assert_type(channel.url, str)
        simulator.FeishuSimm
''')


def test_mypy_sees_the_real_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    monkeypatch.chdir(ROOT)  # the worktree's ``simulator`` package and pyproject.toml
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"),
                                "--no-error-summary", "--hide-error-context", str(snippet)])
    last = len(SNIPPET.splitlines())
    assert err == ""
    assert out.splitlines() == [f'{snippet}:{last}: error: Module has no attribute "FeishuSimm"; maybe "FeishuSim"?  '
                                "[attr-defined]"]
    assert status == 1

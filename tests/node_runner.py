"""The official Node SDK (@larksuiteoapi/node-sdk 1.74.0) scripts of ``tests/node``, run in subprocesses.

``requires_node`` skips a test module when node or the package is missing (``.ci/run`` runs
``npm install --prefix tests/node``). The SDK's own logger writes to stdout too, so a script's results are the
stdout lines that are JSON objects under a known first key (``json_lines``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"
MODULES = NODE_DIR / "node_modules"

requires_node = pytest.mark.skipif(
    shutil.which("node") is None or not (MODULES / "@larksuiteoapi" / "node-sdk").is_dir(),
    reason="node or @larksuiteoapi/node-sdk not installed (npm install --prefix tests/node)",
)


def node_env() -> dict[str, str]:
    """This process's environment with ``NODE_PATH`` at the installed packages."""
    return {**os.environ, "NODE_PATH": str(MODULES)}


def _argv(script: str, args: tuple[str, ...]) -> list[str]:
    return ["node", str(NODE_DIR / script), *args]


def json_lines(out: str, *keys: str) -> list[dict[str, Any]]:
    """The lines of ``out`` that are JSON objects whose first key is one of ``keys`` (``{"received": ...}``)."""
    starts = tuple('{"' + key + '"' for key in keys)
    return [json.loads(line) for line in out.splitlines() if line.startswith(starts)]


def run_node(script: str, *args: str, timeout: float = 60) -> str:
    """Run ``tests/node/<script>`` to its end and return its stdout; a non-zero exit fails the test."""
    return subprocess.run(_argv(script, args), env=node_env(), capture_output=True, text=True, timeout=timeout,
                          check=True).stdout


class NodeProcess:
    """``tests/node/<script>`` running in the background, its stdout piped (stderr dropped unless ``quiet=False``)."""

    def __init__(self, script: str, *args: str, quiet: bool = True) -> None:
        self.proc = subprocess.Popen(_argv(script, args), env=node_env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL if quiet else None, text=True)

    def wait_for_port(self) -> int:
        """Read stdout up to the script's ``{"port": N}`` line (once it listens) and return N."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        while line and not line.startswith('{"port"'):  # the SDK logs to stdout too
            line = self.proc.stdout.readline()
        return int(json.loads(line)["port"])

    def stop(self) -> str:
        """Terminate the script and return the rest of its stdout."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        return out

    def kill(self) -> None:
        """Kill the script if it still runs (a fixture's teardown, after a test that failed before ``stop()``)."""
        if self.proc.poll() is None:
            self.proc.kill()

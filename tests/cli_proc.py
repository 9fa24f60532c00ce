"""Running ``feishu-sim`` as a real process (exit codes, stderr, signals), and the odd servers the tests need."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a child ``feishu-sim``: this checkout first, no inherited keys or tokens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEISHU_", "PYTHONWARNINGS"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "0"
    env.update(extra)
    return env


def cli_argv(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "simulator", *args]


def run_cli(args: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 60.0) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cli_argv(args), cwd=cwd, env=env or cli_env(), capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def spawn_cli(args: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
              stdout: int | IO[bytes] | None = subprocess.PIPE, group: bool = False) -> subprocess.Popen[bytes]:
    """``group``: in a process group of its own, so that ``os.killpg`` reaches it and its children, as a
    terminal's Ctrl-C does."""
    return subprocess.Popen(cli_argv(args), cwd=cwd, env=env or cli_env(), stdout=stdout,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=group)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextmanager
def stalled_listener() -> Iterator[int]:
    """A loopback port whose accept queue is full: a TCP connect to it neither succeeds nor is refused
    (the SYN is dropped), the way an unreachable host behaves -- without leaving the machine."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port: int = srv.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            with suppress(BlockingIOError):
                c.connect(("127.0.0.1", port))
            fillers.append(c)
        yield port
    finally:
        for c in fillers:
            c.close()
        srv.close()

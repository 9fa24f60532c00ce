"""Helpers for the door tests: a `feishu-sim` subprocess on a loopback port, its peak RSS and open
descriptors (Linux /proc), and raw-socket HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def proc_status(pid: int, key: str) -> int:
    """A ``/proc/<pid>/status`` figure in KiB (VmHWM: peak RSS, VmRSS: current)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def peak_rss_mb(pid: int) -> float:
    return proc_status(pid, "VmHWM") / 1024


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _limit_files(n: int) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))


@contextlib.contextmanager
def feishu_sim(args: list[str], tmp_path: Path, *, open_files: int | None = None,
               timeout: float = 20.0) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run ``python -m simulator ARGS --ready-file F`` (optionally under an open-files limit) and yield the
    process and the URL it wrote once listening."""
    stamp = time.monotonic_ns()
    ready, log = tmp_path / f"ready-{stamp}", tmp_path / f"stderr-{stamp}"
    with log.open("wb") as err:  # a file, not a pipe nobody drains
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", *args, "--ready-file", str(ready)],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=err,
            preexec_fn=(lambda: _limit_files(open_files)) if open_files else None,
        )
    proc.log_path = log  # type: ignore[attr-defined]  # what it wrote to stderr
    try:
        deadline = time.monotonic() + timeout
        while not ready.exists() or not ready.read_text().strip():
            if proc.poll() is not None:
                raise AssertionError(f"feishu-sim exited {proc.returncode}: {log.read_text()[-2000:]}")
            assert time.monotonic() < deadline, "feishu-sim did not start in time"
            time.sleep(0.02)
        yield proc, ready.read_text().strip().splitlines()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_port(url: str) -> tuple[str, int]:
    hostport = url.split("://", 1)[1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    return host.strip("[]"), int(port)


def read_status(sock: socket.socket, timeout: float) -> tuple[int | None, bytes]:
    """The status code of the first response line on ``sock`` (None if closed first) and what was read."""
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    if data.startswith(b"HTTP/1.1 "):
        return int(data[9:12]), data
    return None, data


@dataclass
class Loris:
    closed_after: list[float] = field(default_factory=list)
    opened: int = 0
    refused: int = 0


async def slowloris(host: str, port: int, n: int, stop: asyncio.Event, stats: Loris) -> None:
    """``n`` connections that send request headers a line every 0.3 s and never finish them; each one
    closed by the server is opened again after 0.1 s."""
    loop = asyncio.get_running_loop()

    async def one() -> None:
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                stats.refused += 1
                await asyncio.sleep(0.1)
                continue
            stats.opened += 1
            t0 = loop.time()
            try:
                writer.write(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")
                while not stop.is_set():
                    try:
                        if await asyncio.wait_for(reader.read(1024), 0.3) == b"":
                            stats.closed_after.append(loop.time() - t0)
                            break
                    except asyncio.TimeoutError:
                        writer.write(b"X-Slow: 1\r\n")
            except OSError:
                stats.closed_after.append(loop.time() - t0)
            finally:
                writer.close()
            await asyncio.sleep(0.1)

    await asyncio.gather(*(one() for _ in range(n)))


class SlowlorisProcess:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self._stats: dict[str, float] | None = None

    def stats(self) -> dict[str, float]:
        """After the context: connections opened, closed by the server, the longest one's life (s)."""
        assert self._stats is not None
        return self._stats


@contextlib.contextmanager
def slowloris_process(host: str, port: int, n: int) -> Iterator[SlowlorisProcess]:
    """``slowloris`` in another process (its own CPU time and event loop) until the context ends."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.door", host, str(port), str(n)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    attack = SlowlorisProcess(proc)
    try:
        yield attack
    finally:
        out, _ = proc.communicate("stop\n", timeout=30)
    attack._stats = json.loads(out)


def _main(host: str, port: str, n: str) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)

    async def run() -> None:
        stop, stats = asyncio.Event(), Loris()
        attack = asyncio.create_task(slowloris(host, int(port), int(n), stop, stats))
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        stop.set()
        await attack
        print(json.dumps({"opened": stats.opened, "refused": stats.refused, "closed": len(stats.closed_after),
                          "longest": max(stats.closed_after, default=0.0)}))

    asyncio.run(run())


if __name__ == "__main__":
    _main(*sys.argv[1:4])


def stream_until_answer(url: str, head: bytes, chunk: bytes, limit: int) -> tuple[int | None, int]:
    """Send ``head`` then ``chunk`` repeatedly (up to ``limit`` bytes) until the server answers or closes;
    the status and how many body bytes were sent."""
    sent = 0
    with socket.create_connection(host_port(url)) as s:
        s.sendall(head)
        s.setblocking(False)
        got, pending = b"", chunk
        while sent < limit:
            try:
                data = s.recv(65536)
                if not data:
                    break
                got += data
                if b"\r\n" in got:
                    break
            except BlockingIOError:
                pass
            try:
                n = s.send(pending)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            except OSError:
                break
            sent += n
            pending = pending[n:] or chunk  # a partial send continues where it stopped (chunked framing)
        status, _ = read_status(s, timeout=5) if not got else (int(got[9:12]), got)
    return status, sent


# -- a receiver that answers an endless body -----------------------------------------------------------
@contextlib.contextmanager
def endless_answer_server(mode: str = "chunked") -> Iterator[str]:
    """A loopback HTTP server answering every request ``200`` with a body that never ends: ``chunked``
    (endless chunks) or ``length`` (``Content-Length: 4 GiB``, then bytes until the client goes away).
    Yields its base URL."""
    import socketserver
    import threading

    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            if mode == "chunked" else
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4294967296\r\n\r\n")
    piece = b'{"msg":"success"}' + b" " * (65536 - 17)
    chunk = b"10000\r\n" + piece + b"\r\n" if mode == "chunked" else piece

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            sock.settimeout(30)
            with contextlib.suppress(OSError):
                while True:  # one answer per request on this connection
                    if not sock.recv(1 << 20):
                        return
                    sock.sendall(head)
                    while True:
                        sock.sendall(chunk)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    with Server(("127.0.0.1", 0), Handler) as srv:
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{srv.server_address[1]}"
        finally:
            srv.shutdown()


def run_cli_measured(args: list[str], timeout: float = 60) -> tuple[int, str, float, float]:
    """Run ``feishu-sim ARGS`` in a subprocess: exit code, stdout, its peak RSS (MB) and wall time (s)."""
    # VmHWM, not getrusage's ru_maxrss: on Linux that carries over the peak of the forking process (pytest).
    code = ("import sys\n"
            "from simulator.cli import main\n"
            "try:\n    rc = main(sys.argv[1:])\nexcept SystemExit as e:\n    rc = e.code\n"
            "sys.stdout.flush()\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
            "print('PEAK_RSS_KB', hwm, file=sys.stderr)\n"
            "sys.exit(rc)\n")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, *args], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - t0
    peak = [line for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB")]
    assert peak, proc.stderr[-2000:]
    return proc.returncode, proc.stdout, int(peak[-1].split()[1]) / 1024, took

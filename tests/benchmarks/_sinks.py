"""Loopback sinks for the load benchmarks: nginx answering 200 to every POST, and a stalling sink.

nginx runs as a non-daemon subprocess from a config written to a temporary directory, on a free port,
and is stopped afterwards. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.polling import wait_until  # the benchmark scripts put the repository root on sys.path

NGINX_CONF = """
worker_processes {workers};
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_buffer_size 64k;
    tcp_nodelay on;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            default_type application/json;
            return 200 '{{"msg":"success"}}';
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, timeout: float = 10.0) -> None:
    def accepts() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_until(accepts, f"something listening on 127.0.0.1:{port}", timeout=timeout)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


class Nginx:
    """``with Nginx() as url:`` -- an nginx sink on loopback answering ``200 {"msg":"success"}``."""

    def __init__(self, workers: int = 1) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (apt-get install -y nginx)")
        self.binary = binary
        self.workers = workers
        self.tmp = Path(tempfile.mkdtemp(prefix="feishu-sim-nginx-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook/event"

    def __enter__(self) -> str:
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(workers=self.workers, tmp=self.tmp, port=self.port))
        self.proc = subprocess.Popen([self.binary, "-c", str(conf), "-p", str(self.tmp), "-e",
                                      str(self.tmp / "error.log")], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        wait_listening(self.port)
        return self.url

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

"""The http.server the lark-oapi receivers of the tests run behind (tests/sdk_http_receiver.py) takes a burst of
connections: ``feishu-sim load`` opens 32 at once before its clock starts and, as HTTP/1.0 closes each
connection after its answer, a new one per request. With http.server's listen backlog of 5 the kernel dropped
the SYNs past the sixth unaccepted connection and the client retried after 1 s, then 3 s: past ``load``'s 2 s
connect budget on a busy machine (the ``callbacks-load`` doc example failed with "cannot reach ...: TimeoutError")."""

from __future__ import annotations

import contextlib
import socket

from tests.sdk_http_receiver import SdkHttpServer

BURST = 64  # twice ``feishu-sim load``'s default --connections


def test_a_burst_of_connections_waits_in_the_backlog_instead_of_being_dropped() -> None:
    server = SdkHttpServer(handler=None)  # never started: nothing accepts, so the backlog alone holds them
    with contextlib.ExitStack() as stack:
        stack.callback(server.server.server_close)
        for _ in range(BURST):  # a dropped SYN is retried after 1 s: a connect that takes 0.5 s was dropped
            stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=0.5))

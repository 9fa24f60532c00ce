"""A loopback HTTP sink that answers 200 at once, except that it stalls for ``STALL_S`` once per second
(every response due in the first ``STALL_S`` of each second waits until the stall ends), like a receiver
with a periodic GC pause. Run as a script: ``python _stall_sink.py PORT_FILE [STALL_S]``; it writes its
port to PORT_FILE and serves until killed."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httptools

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n"
            b"Connection: keep-alive\r\n\r\n{\"msg\":\"success\"}")


class Sink(asyncio.Protocol):
    stall_s = 0.2
    t0 = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        phase = (time.monotonic() - self.t0) % 1.0
        if phase < self.stall_s:
            asyncio.get_running_loop().call_later(self.stall_s - phase, self._respond)
        else:
            self._respond()

    def _respond(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]


async def main(port_file: str, stall: float) -> None:
    Sink.stall_s = stall
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    Path(port_file).write_text(str(port))
    await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.2))

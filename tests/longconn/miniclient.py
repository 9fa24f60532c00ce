"""A minimal long-connection client on the ``websockets`` library: discovery, ping, reassembly, acks.

It speaks the wire protocol with our own ``frames`` helpers and is used where the official SDK cannot be
steered: misbehaving clients in robustness tests, and 50 cheap clients in the benchmark. The fidelity
claims are proven with ``lark.ws.Client`` elsewhere; this client only has to be correct enough.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import websockets

from simulator.wire import frames as F

AckPolicy = Callable[[dict[str, Any]], int | None]  # event -> ack code, or None to send no ack


def discover(domain: str, app_id: str, app_secret: str) -> dict[str, Any]:
    """``POST {domain}/callback/ws/endpoint``; returns the parsed JSON (blocking, stdlib only)."""
    req = urllib.request.Request(domain + "/callback/ws/endpoint", method="POST",
                                 data=json.dumps({"AppID": app_id, "AppSecret": app_secret}).encode(),
                                 headers={"Content-Type": "application/json", "locale": "zh"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        doc: dict[str, Any] = json.loads(resp.read())
    return doc


class MiniClient:
    def __init__(self, domain: str, app_id: str, app_secret: str, *, policy: AckPolicy | None = None,
                 ping: bool = True) -> None:
        self.domain, self.app_id, self.app_secret = domain, app_id, app_secret
        self.policy: AckPolicy = policy or (lambda _event: 200)
        self.ping = ping
        self.events: list[dict[str, Any]] = []
        self.pongs: list[F.Frame] = []
        self.reassembler = F.Reassembler()
        self.ws: Any = None
        self.service_id = 0
        self.url = ""

    async def connect(self) -> MiniClient:
        doc = await asyncio.to_thread(discover, self.domain, self.app_id, self.app_secret)
        if doc.get("code") != 0:
            raise RuntimeError(f"discovery failed: {doc}")
        self.url = doc["data"]["URL"]
        self.service_id = int(parse_qs(urlsplit(self.url).query)["service_id"][0])
        self.ws = await websockets.connect(self.url, max_size=F.MAX_CLIENT_MESSAGE, compression=None)
        if self.ping:
            await self.send_ping()
        return self

    async def send_ping(self) -> None:
        await self.ws.send(F.encode(F.control_frame(F.MessageType.PING, service=self.service_id)))

    async def run(self) -> None:
        """Receive until the connection closes: answer every complete event per ``policy``."""
        try:
            async for message in self.ws:
                await self.handle(message)
        except websockets.ConnectionClosed:
            pass

    async def handle(self, message: bytes | str) -> None:
        frame = F.decode(message if isinstance(message, bytes) else message.encode())
        if frame.method == F.FrameType.CONTROL:
            self.pongs.append(frame)
            return
        payload = self.reassembler.feed(frame, time.monotonic())
        if payload is None:
            return
        event = json.loads(payload)
        self.events.append(event)
        code = self.policy(event)
        if code is not None:
            await self.ws.send(F.encode(F.ack_frame(frame, code=code, biz_rt_ms=0)))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

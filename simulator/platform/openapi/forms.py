"""Request bodies of the mock OpenAPI: JSON whatever the Content-Type (the SDK's token request carries none,
docs/openapi.md#tenant-access-token), and ``multipart/form-data`` uploads parsed with the standard library's
MIME parser (no extra dependency)."""

from __future__ import annotations

import email
import email.message
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from simulator.platform.openapi import codes

BINARY_FIELDS = frozenset({"image", "file"})  # the upload fields, sent by the SDK without a filename


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str = ""


@dataclass
class Form:
    parts: dict[str, Part] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        part = self.parts.get(name)
        return None if part is None else part.data.decode("utf-8", "replace")

    def data(self, name: str) -> bytes | None:
        part = self.parts.get(name)
        return None if part is None else part.data

    def summary(self) -> dict[str, Any]:
        """What the call log keeps of a form: text fields as text, files as their name and size."""
        out: dict[str, Any] = {}
        for name, part in self.parts.items():
            if part.filename is not None or name in BINARY_FIELDS or len(part.data) > 1024:
                out[name] = {"filename": part.filename, "size": len(part.data), "content_type": part.content_type}
            else:
                out[name] = part.data.decode("utf-8", "replace")
        return out


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (234006) past ``limit`` bytes without reading the rest into memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise codes.refuse(codes.UPLOAD_TOO_LARGE, f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise codes.refuse(codes.UPLOAD_TOO_LARGE, f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """The JSON document of a body; None when empty; the text itself when it is not JSON (the API then refuses
    it as not being an object, and the call log shows what was sent)."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:4096]


def parse_multipart(content_type: str, raw: bytes) -> Form | None:
    """The parts of a ``multipart/form-data`` body, or None when the body is not one."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    msg = email.message_from_bytes(head + raw)
    if not msg.is_multipart():
        return None
    form = Form()
    for part in msg.get_payload():
        if not isinstance(part, email.message.Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        form.parts[name] = Part(name, data, part.get_filename(), part.get_content_type() if part.get("content-type")
                                else "")
    return form

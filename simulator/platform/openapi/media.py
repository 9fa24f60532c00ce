"""Images and files: uploads the bot makes and resources it downloads (docs/openapi.md#uploads,
docs/openapi.md#message-resources), sans-IO.

Uploaded bytes are kept (bounded: ``MAX_BYTES`` in all, oldest first out) and served back for their key; any
other key of a message resource gets deterministic bytes derived from the key (a small valid PNG for images),
so a bot that downloads what a user sent always gets the same data.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote

from simulator.platform.openapi import codes
from simulator.rand import SimRandom

MAX_BYTES = 64 * 1024 * 1024
IMAGE_LIMIT = 10 * 1024 * 1024
FILE_LIMIT = 30 * 1024 * 1024
IMAGE_TYPES = ("message", "avatar")
FILE_TYPES = ("opus", "mp4", "pdf", "doc", "xls", "ppt", "stream")


@dataclass(frozen=True)
class Blob:
    key: str
    name: str
    content_type: str
    data: bytes


class MediaStore:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._blobs: OrderedDict[str, Blob] = OrderedDict()
        self._size = 0

    def put(self, blob: Blob) -> None:
        old = self._blobs.pop(blob.key, None)
        if old is not None:
            self._size -= len(old.data)
        self._blobs[blob.key] = blob
        self._size += len(blob.data)
        while self._size > self.max_bytes and len(self._blobs) > 1:
            _, gone = self._blobs.popitem(last=False)
            self._size -= len(gone.data)

    def get(self, key: str) -> Blob | None:
        return self._blobs.get(key)

    def clear(self) -> None:
        self._blobs.clear()
        self._size = 0

    def __len__(self) -> int:
        return len(self._blobs)


def _key_uuid(r: SimRandom) -> str:
    return r.uuid()[:-1] + "g"


def new_image_key(r: SimRandom) -> str:
    """``img_v3_<4 hex>_<uuid ending in g>``, the current image key form."""
    return f"img_v3_02{r.hex(2)}_{_key_uuid(r)}"


def new_file_key(r: SimRandom) -> str:
    return f"file_v3_00{r.hex(2)}_{_key_uuid(r)}"


def upload_image(store: MediaStore, r: SimRandom, image_type: str | None, data: bytes | None) -> str:
    if image_type not in IMAGE_TYPES:
        raise codes.refuse(codes.UPLOAD_INVALID_PARAM, f"image_type must be one of {', '.join(IMAGE_TYPES)}",
                           field="image_type")
    if not data:
        raise codes.refuse(codes.UPLOAD_INVALID_PARAM, "image is required and must not be empty", field="image")
    if len(data) > IMAGE_LIMIT:
        raise codes.refuse(codes.UPLOAD_TOO_LARGE, "images are at most 10 MB", field="image")
    key = new_image_key(r)
    store.put(Blob(key, key + _image_ext(data), _image_type(data), data))
    return key


def upload_file(store: MediaStore, r: SimRandom, file_type: str | None, file_name: str | None,
                data: bytes | None) -> str:
    if file_type not in FILE_TYPES:
        raise codes.refuse(codes.UPLOAD_INVALID_PARAM, f"file_type must be one of {', '.join(FILE_TYPES)}",
                           field="file_type")
    if not file_name:
        raise codes.refuse(codes.UPLOAD_INVALID_PARAM, "file_name is required", field="file_name")
    if not data:
        raise codes.refuse(codes.UPLOAD_INVALID_PARAM, "file is required and must not be empty", field="file")
    if len(data) > FILE_LIMIT:
        raise codes.refuse(codes.UPLOAD_TOO_LARGE, "files are at most 30 MB", field="file")
    key = new_file_key(r)
    store.put(Blob(key, file_name, "application/octet-stream", data))
    return key


def resource(store: MediaStore, key: str, kind: str, name: str = "") -> Blob:
    """The bytes behind ``key``: the uploaded ones, else deterministic ones."""
    found = store.get(key)
    if found is not None:
        return found
    if kind == "image":
        return Blob(key, name or key + ".png", "image/png", placeholder_png(key))
    return Blob(key, name or key, "application/octet-stream", placeholder_bytes(key))


def content_disposition(name: str) -> str:
    """``attachment; filename="..."`` for ASCII names, with an RFC 5987 ``filename*`` otherwise."""
    if name.isascii() and '"' not in name and "\\" not in name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename*=UTF-8''{quote(name, safe='')}"


def placeholder_bytes(key: str, size: int = 1024) -> bytes:
    out = bytearray()
    block = hashlib.sha256(key.encode()).digest()
    while len(out) < size:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:size])


def placeholder_png(key: str, side: int = 16) -> bytes:
    """A ``side`` x ``side`` RGB PNG in one colour derived from ``key``."""
    rgb = hashlib.sha256(key.encode()).digest()[:3]
    raw = b"".join(b"\x00" + rgb * side for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"


def _image_ext(data: bytes) -> str:
    return {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}.get(_image_type(data), "")

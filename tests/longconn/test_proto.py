"""The committed ``pbbp2_pb2.py`` is what protoc makes of our ``pbbp2.proto`` (they cannot drift), and the
schema matches the wire facts of docs/protocol.md#the-pbbp2-frame-schema."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from simulator.wire import frames as F
from simulator.wire import pbbp2_pb2

ROOT = Path(__file__).resolve().parents[2]
PROTO = "simulator/wire/pbbp2.proto"


def serialized_descriptor(source: str) -> bytes:
    """The bytes passed to ``AddSerializedFile`` in a generated module (its protoc-version header aside)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddSerializedFile":
            value = node.args[0]
            assert isinstance(value, ast.Constant) and isinstance(value.value, bytes)
            return value.value
    raise AssertionError("no AddSerializedFile call in the generated module")


def test_generated_module_matches_proto(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    out = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT}", f"--python_out={tmp_path}", PROTO],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    fresh = (tmp_path / "simulator/wire/pbbp2_pb2.py").read_text()
    committed = (ROOT / "simulator/wire/pbbp2_pb2.py").read_text()
    assert serialized_descriptor(fresh) == serialized_descriptor(committed), \
        "pbbp2_pb2.py is stale: regenerate it from pbbp2.proto (command at the top of the .proto)"


def test_field_table() -> None:
    def label(f: Any) -> str:
        return "required" if f.is_required else "repeated" if f.is_repeated else "optional"

    fields = {f.name: (f.number, f.type, label(f)) for f in pbbp2_pb2.Frame.DESCRIPTOR.fields}
    d = pbbp2_pb2.Frame.DESCRIPTOR.fields[0]
    required, optional, repeated = "required", "optional", "repeated"
    assert fields == {
        "SeqID": (1, d.TYPE_UINT64, required), "LogID": (2, d.TYPE_UINT64, required),
        "service": (3, d.TYPE_INT32, required), "method": (4, d.TYPE_INT32, required),
        "headers": (5, d.TYPE_MESSAGE, repeated), "payload_encoding": (6, d.TYPE_STRING, optional),
        "payload_type": (7, d.TYPE_STRING, optional), "payload": (8, d.TYPE_BYTES, optional),
        "LogIDNew": (9, d.TYPE_STRING, optional),
    }
    assert pbbp2_pb2.Frame.DESCRIPTOR.full_name == "pbbp2.Frame"


def test_python_ping_bytes_from_the_docs() -> None:
    # docs/protocol.md#the-pbbp2-frame-schema: the Python SDK's ping for service 33554678.
    expected = bytes.fromhex("0800 1000 18f6818010 2000 2a0c 0a0474797065 120470696e67".replace(" ", ""))
    assert F.encode(F.control_frame(F.MessageType.PING, service=33554678)) == expected
    frame = F.decode(expected)
    assert (frame.service, frame.method, F.header(frame, "type")) == (33554678, 0, "ping")

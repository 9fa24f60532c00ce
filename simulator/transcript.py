"""The NDJSON transcript: one JSON object per line, appended and flushed per attempt, so a killed run
leaves a valid prefix. Line kinds: ``attempt`` (one try), ``delivery`` (an event's terminal state),
``run`` (first line: seed, app, channel).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError
from .verdict import Attempt, Delivery


class TranscriptWriter:
    """Opened lazily on the first record, so bad input never leaves a half-written file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        parent = self.path.parent
        if not parent.is_dir():
            raise ConfigError(f"transcript directory {str(parent)!r} does not exist")
        self._fh: IO[str] | None = None
        self.lines = 0

    def _write(self, obj: dict[str, Any]) -> None:
        if self._fh is None:
            self._fh = self.path.open("w", encoding="utf-8")
        self._fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._fh.flush()
        self.lines += 1

    def run(self, info: dict[str, Any]) -> None:
        self._write({"kind": "run", **info})

    def attempt(self, attempt: Attempt, envelope: dict[str, Any] | None = None) -> None:
        data = attempt.to_json()
        if envelope is not None:
            data["envelope"] = envelope
        self._write(data)

    def delivery(self, d: Delivery) -> None:
        self._write({"kind": "delivery", "event_id": d.event_id, "event_type": d.event_type, "final": str(d.final),
                     "attempts": len(d.attempts), "acked_at_attempt": d.acked_at_attempt,
                     "envelope": d.envelope})

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> TranscriptWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The NDJSON transcript: one JSON object per line, appended and flushed per attempt, so a killed run
leaves a valid prefix. Line kinds:

* ``run`` (first line): seed, target, channel, retries, faults, time scale -- never a secret;
* ``attempt``: one try (``Attempt.to_json``) plus ``delivery`` (the engine's delivery number) and
  ``origin``; the first attempt of a delivery also carries the plaintext ``envelope``, so a transcript cut
  short by a kill can still be replayed;
* ``delivery``: an event's terminal state (``Delivery.to_json(reproducible=True)``), its ``delivery``
  number and envelope; ``attempts`` counts the attempts and ``history`` lists their verdicts;
* ``api_call``: one OpenAPI call the bot made back to the platform (``ApiCall.transcript_json``: method,
  path, query, body, status, code, answer; a tenant token masked), in the order the platform answered them.
  ``replay`` skips these lines: they are what the bot did, not events.

Each line goes to the file in one unbuffered ``write`` call: a process killed between two records
leaves whole lines only. ``read_transcript`` is the strict reader used by ``replay``: a line that is not
JSON or lacks fields is a ``FixtureError`` naming the line number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from simulator.errors import ConfigError, FixtureError
from simulator.verdicts.model import Attempt, Delivery, Outcome


class TranscriptWriter:
    """Opened lazily on the first record, so bad input never leaves a half-written file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        parent = self.path.parent
        if not parent.is_dir():
            raise ConfigError(f"transcript directory {str(parent)!r} does not exist")
        if self.path.is_dir():
            raise ConfigError(f"transcript path {str(self.path)!r} is a directory")
        self._fh: IO[bytes] | None = None
        self.lines = 0

    def _write(self, obj: dict[str, Any]) -> None:
        if self._fh is None:
            try:
                self._fh = self.path.open("wb", buffering=0)
            except OSError as exc:
                raise ConfigError(f"cannot write transcript {str(self.path)!r}: {exc.strerror or exc}") from None
        data = (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:  # a regular file takes it in one call; loop only for the pathological short write
            n = self._fh.write(view)
            view = view[n or 0:]
        self.lines += 1

    def run(self, info: dict[str, Any]) -> None:
        self._write({"kind": "run", **info})

    def attempt(self, attempt: Attempt, envelope: dict[str, Any] | None = None, *, delivery: int | None = None,
                origin: str | None = None) -> None:
        data = attempt.to_json()
        if delivery is not None:
            data["delivery"] = delivery
        if origin is not None:
            data["origin"] = origin
        if envelope is not None:
            data["envelope"] = envelope
        self._write(data)

    def delivery(self, d: Delivery) -> None:
        data = d.to_json(reproducible=True)
        history = data.pop("attempts")  # a transcript line counts the attempts and lists them as its history
        self._write({"kind": "delivery", **data, "attempts": len(history), "delivery": d.seq, "history": history,
                     "envelope": d.envelope})

    def api_call(self, call: dict[str, Any]) -> None:
        """An OpenAPI call the bot made (``ApiCall.transcript_json()``)."""
        self._write({"kind": "api_call", **call})

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> TranscriptWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- reading ---------------------------------------------------------------------------------------
KINDS = ("run", "attempt", "delivery", "api_call")
_ATTEMPT_FIELDS: dict[str, tuple[type, ...]] = {
    "event_id": (str,), "attempt": (int,), "outcome": (str,), "sent_at": (int, float),
}
_DELIVERY_FIELDS: dict[str, tuple[type, ...]] = {"event_id": (str,), "final": (str,)}


@dataclass
class RecordedEvent:
    """One recorded delivery to replay: its envelope, where it was first seen, and its origin."""

    envelope: dict[str, Any]
    line: int
    origin: str = "event"


def _check_fields(obj: dict[str, Any], spec: dict[str, tuple[type, ...]], where: str) -> None:
    for name, types in spec.items():
        value = obj.get(name)
        if value is None:
            raise FixtureError(f"{where}: {obj['kind']} line lacks field {name!r}")
        if not isinstance(value, types) or isinstance(value, bool):
            raise FixtureError(f"{where}: field {name!r} has the wrong type ({type(value).__name__})")


def _check_envelope(env: Any, where: str) -> dict[str, Any]:
    if not isinstance(env, dict):
        raise FixtureError(f"{where}: field 'envelope' is not a JSON object")
    header = env.get("header")
    if not isinstance(header, dict) or not isinstance(header.get("event_id"), str) \
            or not isinstance(header.get("event_type"), str):
        raise FixtureError(f"{where}: envelope lacks header.event_id / header.event_type")
    return env


def iter_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line, validated; FixtureError names the line."""
    p = Path(path)
    try:
        fh = p.open("r", encoding="utf-8")
    except OSError as exc:
        raise FixtureError(f"cannot read transcript {str(p)!r}: {exc.strerror or exc}") from None
    with fh:
        try:
            for number, text in enumerate(fh, start=1):
                where = f"transcript {p.name} line {number}"
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except ValueError as exc:
                    raise FixtureError(f"{where}: not JSON ({exc})") from None
                if not isinstance(obj, dict):
                    raise FixtureError(f"{where}: not a JSON object")
                kind = obj.get("kind")
                if kind not in KINDS:
                    raise FixtureError(f"{where}: lacks a valid 'kind' (one of {', '.join(KINDS)})")
                if kind == "attempt":
                    _check_fields(obj, _ATTEMPT_FIELDS, where)
                    try:
                        Outcome(obj["outcome"])
                    except ValueError:
                        raise FixtureError(f"{where}: unknown outcome {obj['outcome']!r}") from None
                    if "envelope" in obj:
                        _check_envelope(obj["envelope"], where)
                elif kind == "delivery":
                    _check_fields(obj, _DELIVERY_FIELDS, where)
                    if "envelope" not in obj:
                        raise FixtureError(f"{where}: delivery line lacks field 'envelope'")
                    _check_envelope(obj["envelope"], where)
                yield number, obj
        except UnicodeDecodeError:
            raise FixtureError(f"transcript {p.name} is not UTF-8 text") from None


def read_transcript(path: str | os.PathLike[str]) -> list[RecordedEvent]:
    """The recorded deliveries in order of first appearance (one per delivery number; transcripts
    without delivery numbers are keyed by event_id)."""
    events: dict[object, RecordedEvent] = {}
    for number, obj in iter_lines(path):
        if obj["kind"] == "run" or "envelope" not in obj:
            continue
        key: object = obj.get("delivery")
        if not isinstance(key, int) or isinstance(key, bool):
            key = ("event", obj["event_id"], obj.get("origin"))
        if key not in events:
            events[key] = RecordedEvent(obj["envelope"], number, str(obj.get("origin") or "event"))
    if not events:
        raise FixtureError(f"transcript {Path(path).name} records no events to replay")
    return list(events.values())

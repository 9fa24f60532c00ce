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

The verification token is a secret the platform puts in every envelope (``header.token``): the writer
replaces the ``secrets`` it is given by ``[redacted]`` in envelopes and plaintext request bodies (the CLI
passes the token unless ``--transcript-secrets``). ``replay`` sets ``header.token`` from its own command
line anyway, so a redacted transcript replays the same.

Each line goes to the file in one unbuffered ``write`` call: a process killed between two records
leaves whole lines only -- except a line longer than the kernel writes at once (a pipe buffer, a page),
which a kill can tear. ``read_transcript`` is the strict reader used by ``replay``: a line that is not
JSON or lacks fields is a ``FixtureError`` naming the line number, except a torn *last* line (no
newline at its end), which is skipped with a warning (``on_warning``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from simulator.errors import ConfigError, FixtureError
from simulator.outfile import check_writable
from simulator.verdicts.model import Attempt, Delivery, Outcome

REDACTED = "[redacted]"


class TranscriptWriter:
    """Opened lazily on the first record, so bad input never leaves a half-written file; whether it can be
    written is checked at construction (a missing or read-only directory, a directory, a file that cannot
    be opened for writing), and a write that fails later raises ``ConfigError`` with one line."""

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str | None] = ()) -> None:
        self.path = Path(path)
        self.secrets = tuple(s for s in secrets if s)
        check_writable(self.path, "transcript")
        self._fh: IO[bytes] | None = None
        self._opened = False
        self.lines = 0

    def _fail(self, exc: OSError) -> ConfigError:
        self.close()
        return ConfigError(f"cannot write transcript {str(self.path)!r}: {exc.strerror or exc}")

    def _write(self, obj: dict[str, Any]) -> None:
        if self._fh is None:
            try:  # truncated once, on the first record; a record after close() appends
                self._fh = self.path.open("ab" if self._opened else "wb", buffering=0)
                self._opened = True
            except OSError as exc:
                raise self._fail(exc) from None
        data = (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        view = memoryview(data)
        try:
            while view:  # a regular file takes it in one call; loop only for the pathological short write
                n = self._fh.write(view)
                view = view[n or 0:]
        except OSError as exc:
            raise self._fail(exc) from None
        self.lines += 1

    def _redact(self, envelope: dict[str, Any]) -> dict[str, Any]:
        header = envelope.get("header")
        if self.secrets and isinstance(header, dict) and header.get("token") in self.secrets:
            return {**envelope, "header": {**header, "token": REDACTED}}
        return envelope

    def _redact_body(self, body: str) -> str:
        for secret in self.secrets:
            if secret in body:
                body = body.replace(f'"token":{json.dumps(secret, ensure_ascii=False)}', f'"token":"{REDACTED}"')
        return body

    def run(self, info: dict[str, Any]) -> None:
        self._write({"kind": "run", **info})

    def attempt(self, attempt: Attempt, envelope: dict[str, Any] | None = None, *, delivery: int | None = None,
                origin: str | None = None) -> None:
        data = attempt.to_json()
        if self.secrets:
            data["request_body"] = self._redact_body(data["request_body"])
        if delivery is not None:
            data["delivery"] = delivery
        if origin is not None:
            data["origin"] = origin
        if envelope is not None:
            data["envelope"] = self._redact(envelope)
        self._write(data)

    def delivery(self, d: Delivery) -> None:
        data = d.to_json(reproducible=True)
        history = data.pop("attempts")  # a transcript line counts the attempts and lists them as its history
        self._write({"kind": "delivery", **data, "attempts": len(history), "delivery": d.seq, "history": history,
                     "envelope": self._redact(d.envelope)})

    def api_call(self, call: dict[str, Any]) -> None:
        """An OpenAPI call the bot made (``ApiCall.transcript_json()``)."""
        self._write({"kind": "api_call", **call})

    def close(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            with contextlib.suppress(OSError):  # unbuffered: nothing is lost that a write did not already report
                fh.close()

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


Warn = Callable[[str], None]


def iter_lines(path: str | os.PathLike[str], on_warning: Warn | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line, validated; FixtureError names the line. A last
    line without its newline that does not parse is a write torn by a kill: skipped, with a warning."""
    p = Path(path)
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise FixtureError(f"cannot read transcript {str(p)!r}: {exc.strerror or exc}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            where = f"transcript {p.name} line {number}"
            try:
                text = raw.decode("utf-8")
                obj = json.loads(text) if text.strip() else None
            except ValueError as exc:  # UnicodeDecodeError is a ValueError too
                if not raw.endswith(b"\n"):  # the last line, cut short
                    if on_warning is not None:
                        on_warning(f"{where} is cut short (a write torn by a kill?): skipped; the "
                                   f"{number - 1} lines before it are read")
                    return
                if isinstance(exc, UnicodeDecodeError):
                    raise FixtureError(f"{where}: not UTF-8 text") from None
                raise FixtureError(f"{where}: not JSON ({exc})") from None
            if obj is None:
                continue
            _check_line(obj, where)
            yield number, obj


def _check_line(obj: Any, where: str) -> None:
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


def read_transcript(path: str | os.PathLike[str], on_warning: Warn | None = None) -> list[RecordedEvent]:
    """The recorded deliveries in order of first appearance (one per delivery number; transcripts
    without delivery numbers are keyed by event_id)."""
    events: dict[object, RecordedEvent] = {}
    for number, obj in iter_lines(path, on_warning):
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

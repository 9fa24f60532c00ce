"""JSON Schema validation of generated and loaded payloads (JSON Schema 2020-12, ``schemas/``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from simulator.errors import UnknownEventType, ValidationFailed
from simulator.resources import schemas_dir

# Schemas under ``schemas/`` that describe no event (a family's shared definitions, the envelope, the scenario
# file format read by ``generation.scenarios``, the copy-me template) have no dot in their name.


@cache
def _index() -> dict[str, Path]:
    """Every event schema under ``schemas/`` (one folder per family) by its event type. Event types have
    dots (``im.message.receive_v1``); shared files (``common``, ``envelope_v2``, ``message_content``) do not."""
    found: dict[str, Path] = {}
    for path in sorted(schemas_dir().rglob("*.schema.json")):
        name = path.name.removesuffix(".schema.json")
        if "." in name:
            found.setdefault(name, path)
    return found


def schema_path(event_type: str) -> Path:
    """The schema file of ``event_type`` (in its family's folder), or ``UnknownEventType``."""
    index = _index()
    try:
        return index[event_type]
    except KeyError:
        raise UnknownEventType(event_type, index) from None


@cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(schemas_dir().rglob("*.schema.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        resources.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources)  # type: ignore[arg-type]


@cache
def validator(event_type: str) -> Draft202012Validator:
    path = schema_path(event_type)
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Draft202012Validator(doc, registry=_registry())


def errors(envelope: dict[str, Any], event_type: str | None = None) -> list[ValidationError]:
    """All schema violations of ``envelope``, most specific first."""
    if event_type is None:
        event_type = str(envelope.get("header", {}).get("event_type", ""))
    v = validator(event_type)
    # unevaluatedProperties errors repeat what a failed sub-schema already said; report them last.
    return sorted(v.iter_errors(envelope),
                  key=lambda e: (e.validator == "unevaluatedProperties", [str(p) for p in e.absolute_path], e.message))


def describe(err: ValidationError) -> str:
    path = ".".join(str(p) for p in err.absolute_path) or "<root>"
    return f"{path}: {err.message}"


def validate(envelope: dict[str, Any], event_type: str | None = None, *, what: str = "event") -> None:
    """Raise ``ValidationFailed`` naming the first problem (and how many there are)."""
    errs = errors(envelope, event_type)
    if len(errs) > 1:
        errs = [e for e in errs if e.validator != "unevaluatedProperties"] or errs
    if errs:
        more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        raise ValidationFailed(f"{what} does not match its schema: {describe(errs[0])}{more}")

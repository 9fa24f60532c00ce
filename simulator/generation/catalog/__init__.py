"""The event catalogue: a registry of ``EventSpec`` by event type.

Event families (``simulator.generation.families``) register their types when imported, and the catalogue
imports every family on first use. Adding an event type = a JSON Schema in
``schemas/<family>/<event_type>.schema.json`` (copy ``schemas/_template.schema.json``) plus a generator
in the family's package (copy ``_template.py``). A duplicate registration is a ``UsageError``; an unknown
type is an ``UnknownEventType`` naming the closest registered ones.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from simulator.errors import UnknownEventType, UsageError
from simulator.generation.catalog._base import EventSpec, GenContext, Generator

_REGISTRY: dict[str, EventSpec] = {}


def register(spec: EventSpec) -> EventSpec:
    if spec.event_type in _REGISTRY:
        raise UsageError(f"event type {spec.event_type} registered twice")
    _REGISTRY[spec.event_type] = spec
    return spec


def get(event_type: str) -> EventSpec:
    _load()
    try:
        return _REGISTRY[event_type]
    except KeyError:
        raise UnknownEventType(event_type, _REGISTRY) from None


def find(event_type: str) -> EventSpec | None:
    """The spec of ``event_type``, or None (a hand-made envelope of a type nobody registered)."""
    _load()
    return _REGISTRY.get(event_type)


def business_key(envelope: dict[str, Any]) -> str | None:
    """``<event_type>:<key>`` when the envelope's type names a business dedupe key (``EventSpec.dedupe_key``,
    e.g. the message_id of ``im.message.receive_v1``), else None. A redelivery can carry a new event_id
    but keeps this key (docs/semantics.md#dedupe-and-event_id-reuse); so does nothing else."""
    header = envelope.get("header")
    event_type = header.get("event_type") if isinstance(header, dict) else None
    if not isinstance(event_type, str):
        return None
    _load()
    spec = _REGISTRY.get(event_type)
    if spec is None or spec.dedupe_key is None:
        return None
    try:
        return f"{event_type}:{spec.dedupe_key(envelope['event'])}"
    except (KeyError, TypeError):
        return None


def event_types() -> list[str]:
    _load()
    return sorted(_REGISTRY)


_loaded = False


def _load() -> None:
    """Import every family package under ``simulator.generation.families``: each registers its event
    types on import, so a new family is a folder dropped there (``_``-prefixed names are not loaded)."""
    global _loaded
    if not _loaded:
        _loaded = True
        from simulator.generation import families

        for info in pkgutil.iter_modules(families.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{families.__name__}.{info.name}")


__all__ = ["EventSpec", "GenContext", "Generator", "business_key", "event_types", "find", "get", "register"]

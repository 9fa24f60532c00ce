"""The event catalogue: a registry of ``EventSpec`` by event type.

Adding an event type = a JSON Schema in ``schemas/<event_type>.schema.json`` (copy
``schemas/_template.schema.json``) plus a generator module in this package (copy ``_template.py``); the
module registers its ``EventSpec`` on import. Duplicate registrations fail at import.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import UnknownEventType
from ._base import EventSpec, GenContext, Generator

_REGISTRY: dict[str, EventSpec] = {}


def register(spec: EventSpec) -> EventSpec:
    if spec.event_type in _REGISTRY:
        raise RuntimeError(f"event type {spec.event_type} registered twice")
    _REGISTRY[spec.event_type] = spec
    return spec


def get(event_type: str) -> EventSpec:
    _load()
    try:
        return _REGISTRY[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def event_types() -> list[str]:
    _load()
    return sorted(_REGISTRY)


_loaded = False


def _load() -> None:
    """Import every public module of this package: each registers its event types on import, so a new
    type is a schema plus a module dropped here (``_``-prefixed modules, like the template, are not)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for info in pkgutil.iter_modules(__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")


__all__ = ["EventSpec", "GenContext", "Generator", "event_types", "get", "register"]

"""The event catalogue: a registry of ``EventSpec`` by event type.

Adding an event type = a JSON Schema in ``schemas/<family>/<event_type>.schema.json`` plus a generator in
the family's package under ``simulator/generation/families/``, which registers its ``EventSpec`` when
imported (``_template.py`` is an annotated example; docs/catalogue.md walks through it). Duplicate
registrations fail at import.
"""

from __future__ import annotations

import importlib
import pkgutil

from simulator.errors import UnknownEventType
from simulator.generation.catalog._base import EventSpec, GenContext, Generator

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


def find(event_type: str) -> EventSpec | None:
    """The spec of ``event_type``, or None (a hand-made envelope of a type nobody registered)."""
    _load()
    return _REGISTRY.get(event_type)


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


__all__ = ["EventSpec", "GenContext", "Generator", "event_types", "find", "get", "register"]

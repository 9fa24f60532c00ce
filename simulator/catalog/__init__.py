"""The event catalogue: a registry of ``EventSpec`` by event type.

Adding an event type = a JSON Schema in ``schemas/<event_type>.schema.json`` plus a generator registered
here (copy ``_template.py``). Duplicate registrations fail at import.
"""

from __future__ import annotations

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
    global _loaded
    if not _loaded:
        _loaded = True
        from . import vc_meeting  # noqa: F401  (registers on import)


__all__ = ["EventSpec", "GenContext", "Generator", "event_types", "get", "register"]

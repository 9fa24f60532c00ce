"""One-line problems from JSON Schema errors: how :mod:`simulator.verdicts.answers` words what is wrong with a
callback answer (``toast.type 'ok' is not one of info|success|warning|error``). Pure functions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from jsonschema.exceptions import ValidationError

SHOWN_VALUE: Final = 60  # characters of a wrong value quoted in a problem

_TYPE_NAMES: Final = {"object": "an object", "array": "an array", "string": "a string", "number": "a number",
                      "integer": "an integer", "boolean": "a boolean", "null": "null"}


def describe(err: ValidationError) -> list[str]:
    """One-line problems for one jsonschema error."""
    path = _path(err.absolute_path)
    where = path or "answer"
    schema = err.schema if isinstance(err.schema, dict) else {}
    value: Any = err.validator_value
    instance: Any = err.instance
    validator = err.validator
    if "propertyNames" in err.relative_schema_path:  # the key itself is wrong (``instance`` is the key)
        return [f"{where} key {_show(instance)} {_expectation(validator, value)}"]
    hint = schema.get("x-problem")
    if isinstance(hint, str) and validator in ("anyOf", "oneOf", "not"):
        return [f"{where} {hint}"]
    if validator == "required" and isinstance(instance, dict):
        return [f"{_join(path, key)} is missing" for key in value if key not in instance]
    if validator == "dependentRequired" and isinstance(instance, dict):
        return [f"{_join(path, need)} is missing (required with {_join(path, key)})"
                for key, needs in value.items() if key in instance for need in needs if need not in instance]
    if validator == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        return [f"unknown field {_join(path, key)} (allowed: {'|'.join(known)})"
                for key in instance if key not in known]
    if validator == "type":
        return [f"{where} is {a(instance)}, not {_types(value)}{_text_hint(instance)}"]
    if validator in ("enum", "const"):
        return [f"{where} {_show(instance)} {_expectation(validator, value)}"]
    if validator == "minLength" and value == 1:
        return [f"{where} is empty"]
    message = " ".join(err.message.split())  # one line, whatever jsonschema wrote
    return [f"{where}: {message[:200]}"]


def _expectation(validator: Any, value: Any) -> str:
    if validator == "enum":
        return f"is not one of {'|'.join(str(v) for v in value)}"
    if validator == "const":
        return f"is not {_show(value)}"
    return f"does not satisfy {validator} {value!r}"


def _text_hint(instance: Any) -> str:
    """A card (or object) sent as JSON text: the shape of the message-send API, not of a callback answer."""
    if isinstance(instance, str):
        try:
            inner = json.loads(instance)
        except ValueError:
            return ""
        if isinstance(inner, dict):
            return " (it holds JSON text: answer the object itself, not a string of it)"
    return ""


def _path(parts: Iterable[Any]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in parts).replace(".[", "[")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = value if len(value) <= SHOWN_VALUE else value[:SHOWN_VALUE] + "..."
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= SHOWN_VALUE else shown[:SHOWN_VALUE] + "..."


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def a(value: Any) -> str:
    """``an object``, ``a string``, ``null``: the type of ``value`` with its article."""
    name = json_type(value)
    return _TYPE_NAMES.get(name, f"a {name}")


def _types(value: Any) -> str:
    names = [value] if isinstance(value, str) else list(value)
    return " or ".join(_TYPE_NAMES.get(str(n), str(n)) for n in names)

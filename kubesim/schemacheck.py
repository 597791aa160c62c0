"""Checking a value against an OpenAPI v3 schema, with the causes the apiserver's schema validator gives.

The part of the language the apiserver's CRD validation uses most: type (a list of types is accepted
too, for the built-in union types), x-kubernetes-int-or-string, enum, required, properties,
additionalProperties, items, minimum/maximum (exclusive too), pattern. Fields the schema does not
name are tolerated, as the apiserver does without strict field validation. A null counts as absent:
the apiserver prunes nulls before validating (and a typed decoder drops them).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from . import causes
from .causes import Cause

Schema = dict[str, Any]
INT_OR_STRING = ("integer", "string")
_TYPE_NAMES = {bool: "boolean", int: "integer", str: "string", list: "array", dict: "object"}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value; a whole float (3.0) is an integer, as in the apiserver."""
    name = _TYPE_NAMES.get(type(value))
    if name is not None:
        return name
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    return next((n for kind, n in _TYPE_NAMES.items() if isinstance(value, kind)), "null")


def _accepts(wanted: str, got: str) -> bool:
    return wanted == got or (wanted == "number" and got == "integer")


def types_of(schema: Schema) -> tuple[str, ...]:
    if schema.get("x-kubernetes-int-or-string"):
        return INT_OR_STRING
    wanted = schema.get("type")
    if isinstance(wanted, str) and wanted:
        return (wanted,)
    return tuple(t for t in wanted if isinstance(t, str)) if isinstance(wanted, list) else ()


def check(value: Any, schema: Schema, path: str, found: list[Cause], skip: Collection[str] = ()) -> None:
    """Append the causes for `value` (at `path`, dotted as in the apiserver's messages) to `found`;
    the fields of an object named in `skip` are known to be valid (unchanged since they were checked)."""
    if value is None or not isinstance(schema, dict):
        return
    got, wanted = json_type(value), types_of(schema)
    if wanted and got not in wanted and not any(_accepts(w, got) for w in wanted):
        found.append(causes.type_invalid(path, got, ",".join(wanted)))
        return
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and value not in enum:
        found.append(causes.not_supported(path, value, enum))
    if isinstance(value, dict):
        _object(value, schema, path, found, skip)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                if not _plain_match(item, items):
                    check(item, items, f"{path}[{index}]", found)
    elif got in ("integer", "number"):
        _bounds(value, schema, path, found)
    elif isinstance(value, str) and isinstance(schema.get("pattern"), str):
        pattern = _compiled(schema["pattern"])
        if pattern is not None and not pattern.search(value):
            found.append(causes.bad_value(path, value, f"{path} in body should match '{schema['pattern']}'"))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(value: dict[str, Any], schema: Schema, path: str, found: list[Cause], skip: Collection[str]) -> None:
    for key in schema.get("required") or ():
        if isinstance(key, str) and value.get(key) is None:
            found.append(causes.required(_join(path, key)))
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    extra = schema.get("additionalProperties")
    extra = extra if isinstance(extra, dict) else None
    for key, sub in value.items():
        sub_schema = properties.get(key, extra)
        if sub is None or sub_schema is None or key in skip or _plain_match(sub, sub_schema):
            continue
        check(sub, sub_schema, _join(path, key), found)


_PLAIN = {str: ("string",), bool: ("boolean",), int: ("integer", "number")}


def _plain_match(value: Any, schema: Schema) -> bool:
    """A leaf whose schema asks for nothing but its (right) type: the common case, checked without
    building its path."""
    wanted = _PLAIN.get(type(value))
    return wanted is not None and len(schema) == 1 and schema.get("type") in wanted


def _bounds(value: float, schema: Schema, path: str, found: list[Cause]) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float):
        if schema.get("exclusiveMinimum") is True and value <= low:
            found.append(causes.bad_value(path, value, f"{path} in body should be greater than {low}"))
        elif value < low:
            found.append(causes.bad_value(path, value, f"{path} in body should be greater than or equal to {low}"))
    if isinstance(high, int | float):
        if schema.get("exclusiveMaximum") is True and value >= high:
            found.append(causes.bad_value(path, value, f"{path} in body should be less than {high}"))
        elif value > high:
            found.append(causes.bad_value(path, value, f"{path} in body should be less than or equal to {high}"))


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """The CRD's ECMA-262 pattern read as a Python regex; one Python cannot read is not checked."""
    try:
        return re.compile(pattern)
    except re.error:
        return None

"""Field errors as the apiserver words them in the causes of a 422 Invalid (k8s.io/apimachinery field.Error)."""

from __future__ import annotations

import json
from typing import Any

Cause = dict[str, str]


def shown(value: Any) -> str:
    """A value as field.Error prints it: strings quoted, other scalars bare (true, 1.5, null)."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    return str(value)


def required(field: str, detail: str = "") -> Cause:
    message = "Required value" + (f": {detail}" if detail else "")
    return {"reason": "FieldValueRequired", "message": message, "field": field}


def bad_value(field: str, value: Any, detail: str) -> Cause:
    return {"reason": "FieldValueInvalid", "message": f"Invalid value: {shown(value)}: {detail}", "field": field}


def type_invalid(field: str, got: str, wanted: str) -> Cause:
    """A value of the wrong JSON type; `got` and `wanted` are JSON type names (integer, string, object...)."""
    detail = f'{field} in body must be of type {wanted}: "{got}"'
    return {"reason": "FieldValueTypeInvalid", "message": f'Invalid value: "{got}": {detail}', "field": field}


def not_supported(field: str, value: Any, supported: list[Any]) -> Cause:
    listed = ", ".join(shown(v) for v in supported)
    return {"reason": "FieldValueNotSupported", "field": field,
            "message": f"Unsupported value: {shown(value)}: supported values: {listed}"}

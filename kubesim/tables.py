"""meta.k8s.io/v1 Table output, as kubectl get asks for it (Accept: ...;as=Table)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from .columns import COLUMNS, Column, age, human_duration, name_cell, printer_column
from .resources import ResourceType

__all__ = ["human_duration", "row_object", "table"]

_WITHOUT_NAME_FIRST = {"Event"}


def _column_defs(rt: ResourceType) -> list[Column]:
    kind = rt.kind
    if rt.printer_columns:
        first: list[Column] = [("Name", "string", 0, name_cell)]
        return first + [(name, type_, priority, printer_column(type_, path))
                        for name, type_, priority, path in rt.printer_columns]
    if kind in _WITHOUT_NAME_FIRST:
        return COLUMNS[kind]
    first = [("Name", "string", 0, name_cell)]
    default: list[Column] = [("Age", "string", 0, age)]
    return first + COLUMNS.get(kind, default)


def row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(rt: ResourceType, items: list[dict[str, Any]], meta: dict[str, Any], request: Request | None,
          now: datetime | None = None, with_columns: bool = True) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    include = request.query_params.get("includeObject", "Metadata") if request is not None else "Metadata"
    columns = _column_defs(rt)
    rows = []
    for obj in items:
        row: dict[str, Any] = {"cells": [cell(obj, now) for _, _, _, cell in columns]}
        embedded = row_object(obj, include)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    result: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
    if with_columns:
        result["columnDefinitions"] = [
            {"name": name, "type": kind, "format": "name" if name == "Name" else "", "description": name,
             "priority": priority} for name, kind, priority, _ in columns]
    else:
        result["columnDefinitions"] = None
    result["rows"] = rows
    return result

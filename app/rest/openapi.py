"""The OpenAPI 3.1 document of every served path, generated from the table: parameters and
bodies from the rows' pydantic models, answers from the dialects' envelopes around the JSON
Schema of each row's GraphQL selection (app/rest/shapes.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from graphql import GraphQLSchema
from pydantic import BaseModel

from app import __version__
from app.rest.dialect import Dialect
from app.rest.inputs import query_model
from app.rest.routing import Mounted, Placement, placements
from app.rest.rows import Row
from app.rest.shapes import at, data_schema, items_of, with_epoch_numbers

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"
SECURITY = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "a sign-in's access token (JWT) or an API token"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "an API token"},
}
ERRORS = {400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found", 409: "Conflict"}
ERRORS |= {429: "Rate limited", 500: "Internal error", 503: "Upstream unavailable", 504: "Upstream timeout"}
_PARAM = re.compile(r"\{([^}]+)\}")


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}

    def model(self, model: type[BaseModel]) -> Schema:
        schema = model.model_json_schema(by_alias=True, ref_template=REF)
        self.schemas.update(schema.pop("$defs", {}))
        return schema


def _file_schema(media: str) -> Schema:
    """A file's schema: YAML is read as the document it holds; anything else is text or bytes."""
    if "yaml" in media:
        return {"type": "object"}
    if media.startswith("image/png") or media == "application/octet-stream":
        return {"type": "string", "format": "binary"}
    return {"type": "string"}


def _parameters(row: Row, dialect: Dialect, components: _Components) -> list[Schema]:
    found = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _PARAM.findall(row.path)
    ]
    found += [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string", "enum": [value]}}
        for name, value in dialect.required_headers(row).items()
    ]
    model = query_model(row, dialect)
    if model is not None:
        schema = components.model(model)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if prop.get("type") == "array":
                parameter |= {"style": "form", "explode": True}
            found.append(parameter)
    return found


def _answer(row: Row, placed: Placement, schema: GraphQLSchema, components: _Components) -> Schema:
    dialect = placed.mounted.dialect
    if row.status == 204:
        return {"description": "Done, nothing to say"}
    files: Schema = {}
    if row.attachment is not None:
        types = (row.attachment.media_type, *row.attachment.media_types)
        files = {media: {"schema": _file_schema(media)} for media in types}
        if row.attachment.when is None:
            return {"description": row.summary, "content": files}
    data: Schema = {}
    for operation in placed.mounted.executor.operations[row]:
        part = data_schema(schema, operation)
        data = {**data, "properties": {**data.get("properties", {}), **part["properties"]}}
    value = at(data, row.pick)
    if row.listing is not None:
        value = {"type": "array", "items": with_epoch_numbers(items_of(value), row.epochs)}
    else:
        value = with_epoch_numbers(value, row.epochs)
    if row.response is not None:
        value = components.model(row.response)
    elif row.shape is not None:
        value = {}  # reshaped by the row's own function: its model is not known here
    if row.listing is not None:
        body = dialect.listing_schema(row, value.get("items", {}))
    else:
        body = dialect.success_schema(row, value)
    return {"description": row.summary, "content": {"application/json": {"schema": body}, **files}}


def _operation(placed: Placement, schema: GraphQLSchema, components: _Components) -> Schema:
    row, dialect = placed.row, placed.mounted.dialect
    error = {"content": {"application/json": {"schema": dialect.error_schema()}}}
    invalid = {"content": {"application/json": {"schema": dialect.invalid_schema()}}}
    responses: dict[str, Schema] = {str(row.status): _answer(row, placed, schema, components)}
    for status, description in ERRORS.items():
        responses[str(status)] = {"description": description, **error}
    responses[str(dialect.validation_status)] = {"description": "Validation failed", **invalid}
    where = "bare" if not placed.prefix else placed.prefix.strip("/").replace("/", "_")
    operation: Schema = {
        "operationId": f"{where}_{row.method.lower()}_{'_'.join(row.operations)}",
        "summary": row.summary,
        "tags": [row.tag],
        "parameters": _parameters(row, dialect, components),
        "responses": responses,
        "security": [] if row.public else [{"bearer": []}, {"apiKey": []}],
        "x-graphql-operations": list(row.operations),
    }
    if row.body is not None:
        body = components.model(row.body)
        content = {"application/json": {"schema": body}}
        if row.form:
            content["application/x-www-form-urlencoded"] = {"schema": body}
        if row.yaml:
            content["application/yaml"] = {"schema": body}
        operation["requestBody"] = {"required": True, "content": content}
    return operation


def openapi_document(mounted: Sequence[Mounted], bare_v1: str, schema: GraphQLSchema) -> Schema:
    components = _Components()
    paths: dict[str, Schema] = {}
    tags: dict[str, str] = {}
    for placed in placements(mounted, bare_v1):
        paths.setdefault(placed.path, {})[placed.row.method.lower()] = _operation(placed, schema, components)
        tags.setdefault(placed.row.tag, placed.mounted.dialect.title)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Fleetgraph REST compatibility API",
            "version": __version__,
            "description": "The source documents' REST paths, each answered by the GraphQL API at /graphql.",
        },
        "paths": dict(sorted(paths.items())),
        "tags": [{"name": tag, "description": f"{title} dialect"} for tag, title in sorted(tags.items())],
        "components": {"schemas": components.schemas, "securitySchemes": SECURITY},
    }

"""A request's path, query and body, validated by the row's pydantic models into a `Call`.

A bad parameter or body is refused here, field by field, before any GraphQL runs; what the
models cannot say (does this cluster exist, may this caller see it) is GraphQL's to decide."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError, create_model
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from app.rest.dialect import Dialect, Problem
from app.rest.rows import Call, Row

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
YAML = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_models: dict[tuple[int, str], type[BaseModel] | None] = {}


class Refused(Exception):
    def __init__(self, status: int, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems


def query_model(row: Row, dialect: Dialect) -> type[BaseModel] | None:
    """The row's query model, with the dialect's paging parameters when the row is a list."""
    key = (id(row), dialect.name)
    if key not in _models:
        model = row.query
        if row.listing is not None:
            bases = (row.query, dialect.paging) if row.query else (dialect.paging,)
            model = create_model(f"{dialect.title}{(row.query or dialect.paging).__name__}Page", __base__=bases)
        _models[key] = model
    return _models[key]


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set):
        return True
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def _raw_query(model: type[BaseModel], params: QueryParams) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in params:
            continue
        raw[key] = params.getlist(key) if _is_list(info.annotation) else params[key]
    return raw


def problems_of(error: ValidationError, where: str) -> list[Problem]:
    return [Problem(".".join([where, *(str(part) for part in e["loc"])]), e["msg"], e["type"]) for e in error.errors()]


def _yaml(raw: bytes) -> Any:
    """One YAML document, or several as a `List` of them (what `kubectl apply -f` reads)."""
    try:
        documents = [d for d in yaml.safe_load_all(raw.decode()) if d is not None]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Refused(
            400, "the body is not valid YAML", [Problem("body", f"is not valid YAML: {exc}", "yaml_invalid")]
        ) from None
    if len(documents) == 1:
        return documents[0]
    return {"apiVersion": "v1", "kind": "List", "items": documents}


async def _raw_body(row: Row, request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in FORMS:
        if not row.form:
            raise Refused(415, f"send the body as application/json, not {media}")
        try:
            return dict(await request.form())
        except (HTTPException, MultiPartException) as exc:  # Starlette's answer to a form it cannot read
            problem = Problem("body", f"is not a readable form: {getattr(exc, 'detail', exc)}", "form_invalid")
            raise Refused(400, "Validation failed", [problem]) from None
    raw = await request.body()
    if not raw.strip():
        return {}
    if media in YAML:
        if not row.yaml:
            raise Refused(415, f"send the body as application/json, not {media}")
        return _yaml(raw)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(
            400, "the body is not valid JSON", [Problem("body", f"is not valid JSON: {exc}", "json_invalid")]
        ) from None


async def read_call(row: Row, dialect: Dialect, request: Request) -> Call:
    path = {name: str(value) for name, value in request.path_params.items()}
    query = body = None
    model = query_model(row, dialect)
    try:
        if model is not None:
            query = model.model_validate(_raw_query(model, request.query_params))
    except ValidationError as exc:
        raise Refused(400, "Validation failed", problems_of(exc, "query")) from None
    if row.body is not None:
        raw = await _raw_body(row, request)
        if not isinstance(raw, dict):
            raise Refused(400, "Validation failed", [Problem("body", "must be a JSON object", "object_type")])
        try:
            body = row.body.model_validate(raw)
        except ValidationError as exc:
            raise Refused(400, "Validation failed", problems_of(exc, "body")) from None
    return Call(request.method, path, query, body, request.headers, request.app.state)

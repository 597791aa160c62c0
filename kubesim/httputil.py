"""Request parsing and response helpers shared by the handlers."""

from __future__ import annotations

import json
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response

from . import errors, protobuf

JSON = "application/json"
_FALSE = {"0", "false", "False", "FALSE", "f", "F"}


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(obj), status_code=status, media_type=JSON, headers=headers)


def error_response(err: errors.ApiError) -> Response:
    return json_response(err.status(), err.code, err.headers)


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter as the apiserver reads it: present and not false/0 means true."""
    value = request.query_params.get(name)
    return value is not None and value not in _FALSE


def int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise errors.bad_request(f'invalid value for {name}: "{value}"') from exc


async def read_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    content_type = request.headers.get("content-type", JSON).split(";")[0].strip()
    if is_protobuf(content_type):
        try:
            return protobuf.decode(raw)
        except protobuf.DecodeError as exc:
            raise errors.unsupported_media_type(content_type) from exc
    try:
        if content_type in ("application/yaml", "application/apply-patch+yaml"):
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"error decoding request body: {exc}") from exc


def wants_table(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    first = accept.split(",")[0]
    return "as=Table" in first


def is_protobuf(value: str) -> bool:
    return "application/vnd.kubernetes.protobuf" in value


def check_media_types(request: Request) -> None:
    """Responses are JSON: a protobuf Accept works when JSON is also accepted, and is refused otherwise.

    Protobuf request bodies are decoded by read_body for the kinds kubectl's typed clients send.
    """
    content_type = request.headers.get("content-type", "")
    if request.method == "PATCH" and is_protobuf(content_type):
        raise errors.unsupported_media_type(content_type)
    accept = request.headers.get("accept", "")
    if accept and is_protobuf(accept):
        options = [a.split(";")[0].strip() for a in accept.split(",")]
        if not any(o in (JSON, "*/*", "application/*", "application/yaml") for o in options):
            raise errors.not_acceptable(accept)

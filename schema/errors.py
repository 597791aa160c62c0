"""Errors on the wire: one vocabulary in `extensions.code`, internal details masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from graphql.error import GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from app.errors import AppError

log = logging.getLogger("fleetgraph.errors")


def format_error(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, AppError):
        return _with(error, original.message, original.extensions())
    if isinstance(original, PermissionError):
        return _with(error, str(original), {"code": "FORBIDDEN"})
    if original is None:
        code = (error.extensions or {}).get("code") or "BAD_USER_INPUT"
        if isinstance(error, GraphQLSyntaxError):
            code = "BAD_USER_INPUT"
        return _with(error, error.message, {**(error.extensions or {}), "code": code})
    if isinstance(original, GraphQLError) and original.original_error is None:
        return _with(error, original.message, {"code": "BAD_USER_INPUT"})
    log.error("internal error (request %s)", request_id, exc_info=original)
    message = f"internal error; quote request ID {request_id} when reporting it"
    return _with(error, message, {"code": "INTERNAL", "requestId": request_id})


def _with(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if not self._streamed:
            self._format(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result of a subscription, before it is sent."""
        self._streamed = True
        self._format(result)
        yield

    def _format(self, result: Any) -> None:
        request_id = getattr(self.execution_context.context, "request_id", "")
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [format_error(e, request_id) for e in errors]

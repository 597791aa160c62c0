"""Running a row: the request's path, query and body validated into a call, the row's GraphQL
operations executed in process against the one schema with the request's own context, and the
result (or the first error) turned into the dialect's documented answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from strawberry.schema import Schema
from strawberry.types.graphql import OperationType

from app.audit import HttpFacts
from app.context import RequestContext, build_context
from app.paging import encode_cursor
from app.rest.dialect import Dialect, Problem, Window
from app.rest.documents import Operation
from app.rest.inputs import Refused, read_call
from app.rest.rows import Call, Data, Row, pick
from app.rest.values import UnknownId, with_epochs
from app.services import Services
from app.telemetry.access import access_facts

log = logging.getLogger("fleetgraph.rest")
ALLOWED = {OperationType.QUERY, OperationType.MUTATION}
FIRST_EVENT_WAIT = 1.0  # seconds a stream waits for its first event (or error) before sending its status


class Failure(Exception):
    """A GraphQL error, as the row's dialect will answer it."""

    def __init__(self, code: str, message: str, details: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


class Executor:
    """One dialect's rows, bound to the schema and services they run with."""

    def __init__(
        self,
        schema: Schema,
        services: Services,
        dialect: Dialect,
        operations: Mapping[Row, Sequence[Operation]],
        streams: Mapping[Row, Operation] | None = None,
    ) -> None:
        self.schema = schema
        self.services = services
        self.dialect = dialect
        self.operations = operations
        self.streams = streams or {}

    async def answer(self, row: Row, request: Request) -> Response:
        """The row's answer; a fault of the layer itself is the dialect's 500, logged with the
        request ID, never a bare text page."""
        try:
            return await self._answer(row, request)
        except Exception:
            request_id = request.scope.get("request_id", "")
            log.exception("REST %s %s failed (request %s)", row.method, row.path, request_id)
            message = f"internal error; quote request ID {request_id} when reporting it"
            return JSONResponse(self.dialect.error(500, "INTERNAL", message), status_code=500)

    async def _answer(self, row: Row, request: Request) -> Response:
        try:
            call = await read_call(row, self.dialect, request)
        except Refused as refusal:
            return self.refusal(row, refusal.status, refusal.problems, refusal.message)
        missing = _missing_headers(self.dialect, row, call)
        if missing:
            return self.refusal(row, self.dialect.validation_status, missing, "Validation failed")
        ctx = await build_context(self.services, request, None)
        ctx.http = HttpFacts(request.method, request.url.path, row.status, _statuses(self.dialect, row))
        if row.stream is not None and row.stream.serves(call):
            return await self.stream(row, call, ctx)
        try:
            data = await self.run(row, call, ctx)
        except Failure as failure:
            return self.failure(row, failure)
        return self.success(row, call, data)

    async def run(self, row: Row, call: Call, ctx: RequestContext) -> Data:
        data: Data = {}
        facts = access_facts(ctx.request.scope)
        for operation in self.operations[row]:
            try:
                variables = row.variables_for(call, data)
            except UnknownId as unknown:
                raise Failure("NOT_FOUND", str(unknown)) from None
            if row.listing is not None and isinstance(call.query, self.dialect.paging):
                variables = {**call.query.variables(), **variables}
            facts.operation = operation.name
            log.debug("rest operation", extra={"rest_path": row.path, "operation": operation.name})
            result = await self.schema.execute(
                operation.text,
                variable_values=variables,
                context_value=ctx,
                operation_name=operation.name,
                allowed_operation_types=ALLOWED,
            )
            if result.errors:
                raise _failure_of(result.errors)
            data.update(result.data or {})
        return data

    async def stream(self, row: Row, call: Call, ctx: RequestContext) -> Response:
        """The row's subscription as a streamed body. An error the subscription starts with (a refused
        permission, a missing object) is answered as the dialect answers errors; once the first event
        has come, or `FIRST_EVENT_WAIT` has passed without one, the status is sent and the events follow."""
        assert row.stream is not None
        operation, chunk = self.streams[row], row.stream.chunk
        try:
            variables = row.variables_for(call, {})
        except UnknownId as unknown:
            return self.failure(row, Failure("NOT_FOUND", str(unknown)))
        access_facts(ctx.request.scope).operation = operation.name
        events = await self.schema.subscribe(
            operation.text, variable_values=variables, context_value=ctx, operation_name=operation.name
        )
        if not isinstance(events, AsyncGenerator):
            return self.failure(row, _failure_of(events.errors))
        first = asyncio.ensure_future(anext(events, None))
        await asyncio.wait({first}, timeout=FIRST_EVENT_WAIT)
        if first.done() and first.exception() is None and (result := first.result()) and result.errors:
            await events.aclose()
            return self.failure(row, _failure_of(result.errors))

        async def body() -> AsyncIterator[str]:
            try:
                result = await first
                while result is not None:
                    if result.errors:
                        log.info("REST stream %s ended: %s", row.path, result.errors[0].message)
                        return
                    yield chunk(result.data or {})
                    result = await anext(events, None)
            finally:
                first.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await first
                await events.aclose()

        return StreamingResponse(body(), status_code=row.status, media_type=row.stream.media_type)

    def success(self, row: Row, call: Call, data: Data) -> Response:
        file = row.attachment if row.attachment is not None and row.attachment.serves(call) else None
        value = pick(data, file.pick if file is not None and file.pick is not None else row.pick)
        if row.status == 204:
            return Response(status_code=204)
        if value is None:
            return self.failure(row, Failure("NOT_FOUND", "not found"))
        if file is not None:
            return _attachment(row, call, data, str(value))
        if row.listing is not None:
            body = self.dialect.listing(row, self.window(row, call, value))
        else:
            value = with_epochs(value, row.epochs)
            body = self.dialect.success(row, row.shape(value, call) if row.shape else value)
        return JSONResponse(body, status_code=row.status)

    def window(self, row: Row, call: Call, value: Any) -> Window:
        paging = call.query if isinstance(call.query, self.dialect.paging) else self.dialect.paging()
        if isinstance(value, Mapping) and "nodes" in value:
            items = list(value["nodes"])
            total = int(value.get("totalCount") or len(items))
            info = value.get("pageInfo") or {}
            cursor = info.get("endCursor") if info.get("hasNextPage") else None
        else:
            offset, size = paging.window()
            everything = list(value)
            items, total = everything[offset : offset + size], len(everything)
            cursor = encode_cursor(offset + len(items) - 1) if offset + len(items) < total else None
        items = [with_epochs(item, row.epochs) for item in items]
        if row.shape is not None:
            items = [row.shape(item, call) for item in items]
        return Window(items, total, paging, cursor)

    def failure(self, row: Row | None, failure: Failure) -> Response:
        status = self.dialect.status_of(row, failure.code)
        if failure.code == "BAD_USER_INPUT" and failure.details:
            status = self.dialect.validation_status
            return JSONResponse(self.dialect.invalid(failure.details), status_code=status)
        body = self.dialect.error(status, failure.code, failure.message, failure.details)
        return JSONResponse(body, status_code=status)

    def refusal(self, row: Row | None, status: int, problems: Sequence[Problem], message: str) -> Response:
        """A request refused before GraphQL ran: a body that is not JSON, a bad parameter."""
        if problems:
            return JSONResponse(self.dialect.invalid(problems), status_code=self.dialect.validation_status)
        body = self.dialect.error(status, "BAD_USER_INPUT" if status < 500 else "INTERNAL", message)
        return JSONResponse(body, status_code=status)


def _failure_of(errors: Sequence[GraphQLError] | None) -> Failure:
    """The first GraphQL error as the dialect will answer it."""
    if not errors:
        return Failure("INTERNAL", "the operation failed without an error")
    first = errors[0]
    extensions = first.extensions or {}
    code = str(extensions.get("code") or "BAD_USER_INPUT")
    details = [
        Problem(str(d.get("field", "")), str(d.get("message", "")), "invalid")
        for d in extensions.get("details") or []
        if isinstance(d, Mapping)
    ]
    return Failure(code, first.message, details)


def _missing_headers(dialect: Dialect, row: Row, call: Call) -> list[Problem]:
    """The headers the dialect requires on the row that the call lacks (or gives another value)."""
    return [
        Problem(f"header.{name}", f"must be {value!r}", "missing")
        for name, value in dialect.required_headers(row).items()
        if call.headers.get(name, "").strip().lower() != value.lower()
    ]


def _statuses(dialect: Dialect, row: Row) -> dict[str, int]:
    return {**dialect.statuses, **row.statuses}


def _attachment(row: Row, call: Call, data: Data, text: str) -> Response:
    assert row.attachment is not None
    name = row.attachment.filename(call, data).replace('"', "")
    disposition = "inline" if row.attachment.inline else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{name}"'}
    chosen = row.attachment.chosen
    media, content = chosen(text, call) if chosen else (row.attachment.media_type, text)
    return Response(content, status_code=row.status, media_type=media, headers=headers)

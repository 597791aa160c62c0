"""HTTP middleware: request and trace IDs (echoed on every response as `X-Request-ID` and
`X-Trace-ID`), CORS, and the request body's size limit."""

from __future__ import annotations

import re
import uuid

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http_errors import error_response

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_TRACE_CONTEXT = TraceContextTextMapPropagator()


def trace_id_of(traceparent: str) -> str:
    """The trace ID a request belongs to, as 32 hex digits: an incoming W3C `traceparent`'s when
    valid, else the current OpenTelemetry span's (when tracing is on, the request's server span),
    else a new one."""
    if traceparent:
        given = trace.get_current_span(_TRACE_CONTEXT.extract({"traceparent": traceparent})).get_span_context()
        if given.is_valid:
            return trace.format_trace_id(given.trace_id)
    current = trace.get_current_span().get_span_context()
    if current.is_valid:
        return trace.format_trace_id(current.trace_id)
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Names each request (`scope["request_id"]`, `scope["trace_id"]`) and, over HTTP, says both
    names in the response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or [])
        given = incoming.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SANE.match(given) else uuid.uuid4().hex
        trace_id = trace_id_of(incoming.get(b"traceparent", b"").decode("latin-1"))
        scope["request_id"] = request_id
        scope["trace_id"] = trace_id
        if scope["type"] == "websocket":  # no response headers to add: every later send goes straight through
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-trace-id", trace_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


class CorsMiddleware(CORSMiddleware):
    """Starlette's CORS handling, installed whether or not any origin is allowed, so that every
    preflight is answered here: a refused one with a GraphQL error that says which setting
    allows it, rather than a bare "Disallowed CORS origin" (or, with CORS off, the endpoint's
    answer to an OPTIONS request)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        origin = request_headers["origin"]
        if not self.allow_origins and self.allow_origin_regex is None:
            message = f"cross-origin requests are not enabled: set FLEETGRAPH_CORS_ORIGINS to allow {origin}"
        elif not self.is_allowed_origin(origin):
            message = f"the origin {origin} is not allowed: add it to FLEETGRAPH_CORS_ORIGINS"
        else:
            asked = request_headers["access-control-request-method"]
            message = f"a cross-origin {asked} request is not allowed here: send GraphQL with GET or POST"
        kept = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        return error_response(403, message, headers=kept)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses a request body over `max_bytes` with a 413: at once when its Content-Length says
    so, else (a chunked body) as soon as the bytes received pass the limit, without reading on."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:  # the app answered before it read everything: nothing more can be said
                return
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is larger than the {self.max_bytes} bytes allowed"
        await error_response(413, message, headers={"Connection": "close"})(scope, receive, send)

"""One access line per request (and per websocket, when it closes), with who called and which
GraphQL operation ran; the same facts feed the request metrics."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from app.telemetry.metrics import Metrics

SCOPE_KEY = "fleetgraph.access"
log = logging.getLogger("fleetgraph.access")  # its fields travel as `extra` (structlog's ExtraAdder)


@dataclass
class AccessFacts:
    """What the request's handlers learn about it: filled in as they learn it."""

    tenant: str | None = None
    user: str | None = None
    operation: str | None = None
    outcome: str | None = None  # "ok" or the first error's code


def access_facts(scope: Scope) -> AccessFacts:
    """The facts of the request `scope` belongs to (a throwaway one outside this middleware)."""
    facts = scope.get(SCOPE_KEY)
    return facts if isinstance(facts, AccessFacts) else AccessFacts()


def route_of(scope: Scope) -> str:
    """The matched route's template (bounded cardinality for metrics), or `unmatched`."""
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        facts = scope[SCOPE_KEY] = AccessFacts()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=scope.get("request_id", ""))
        started = time.perf_counter()
        status = {"code": 500 if scope["type"] == "http" else 1000}

        async def observing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            elif message["type"] == "websocket.close":
                status["code"] = int(message.get("code", 1000))
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            self._finish(scope, facts, status["code"], time.perf_counter() - started)
            structlog.contextvars.clear_contextvars()

    def _finish(self, scope: Scope, facts: AccessFacts, status: int, seconds: float) -> None:
        line: dict[str, Any] = {
            "method": scope.get("method", "WS"),
            "path": scope.get("path", ""),
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "tenant": facts.tenant,
            "user": facts.user,
            "operation": facts.operation,
            "outcome": facts.outcome,
        }
        client = scope.get("client")
        if client:
            line["ip"] = client[0]
        log.info("request" if scope["type"] == "http" else "websocket closed", extra=line)
        if self.metrics is not None:
            self.metrics.observe_request(scope, facts, status, seconds)

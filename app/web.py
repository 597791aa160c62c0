"""The Starlette application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from app import __version__
from app.graphiql import STATIC, home
from app.graphql_view import GraphQLView
from app.legacy_ws import resource_updates
from app.middleware import BodyLimitMiddleware, CorsMiddleware, RequestIdMiddleware
from app.readiness import ready
from app.rest import RestLayer
from app.rest.docs_page import docs_html
from app.rest.rate_limits import RestRateLimiter
from app.services import Services
from app.settings import Settings
from app.telemetry import AccessLogMiddleware, Metrics
from app.telemetry.metrics import metrics_endpoint
from app.telemetry.tracing import Tracing
from schema.root import build_schema

log = logging.getLogger("fleetgraph")
RATE_LIMIT_HEADERS = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"]


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "healthy", "version": __version__})


Attachment = Callable[[Services], AbstractAsyncContextManager[object]]


def create_app(settings: Settings, services: Services | None = None, attach: Attachment | None = None) -> Starlette:
    """`attach` runs for the app's lifetime inside its event loop (the demo's simulated fleet)."""
    services = services or Services.from_settings(settings)
    metrics = Metrics()
    metrics.bind(services)
    tracing = Tracing.start(settings.otel_endpoint, settings.otel_resolver_cost) if settings.otel_endpoint else None
    if tracing is not None:
        tracing.instrument_database(services.db.engine)

    @asynccontextmanager
    async def serving() -> AsyncIterator[None]:
        """The services, stopped (streams, runners, watches, then the bus and the database)
        before what `attach` brought goes away: nothing watches a cluster that is gone."""
        await services.start()
        try:
            yield
        finally:
            await services.close()
            if limiter is not None:
                await limiter.close()
            if tracing is not None:
                await asyncio.to_thread(tracing.close)  # flushing the last spans blocks

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if attach is None:
            async with serving():
                yield
            return
        async with attach(services), serving():
            yield

    schema = build_schema(settings, tracing.schema_extension() if tracing else None)
    graphql = GraphQLView(
        services,
        schema=schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        connection_init_wait_timeout=timedelta(seconds=10),
        allowed_origins=settings.cors_origins,
    )
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    routes: list[BaseRoute] = [
        Route("/", home),
        Route("/health", health),
        Route("/ready", ready),
        Route("/metrics", metrics_endpoint(metrics, token)),
        Route("/graphql", graphql),  # every method: the view answers those it does not serve
        WebSocketRoute("/graphql", graphql),
        WebSocketRoute("/ws/resources", resource_updates),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
    limiter = RestRateLimiter.from_settings(settings) if settings.rest_rate_limits else None
    rest = RestLayer(schema, services, settings.rest_v1_dialect, limiter)
    sdl = schema.as_str() if settings.introspection else None
    routes += [
        Route("/openapi.json", lambda request: JSONResponse(rest.openapi())),
        Route("/docs", lambda request: HTMLResponse(docs_html(rest.openapi(), sdl))),
        *rest.routes(),
    ]
    middleware = _middleware(settings, metrics)
    if tracing is not None:
        middleware.insert(0, tracing.middleware())
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.services = services
    app.state.metrics = metrics
    app.state.rest = rest
    return app


def _middleware(settings: Settings, metrics: Metrics) -> list[Middleware]:
    """Outermost first: the request ID, then the access line (which reads it), CORS, the body limit."""
    middleware = [Middleware(RequestIdMiddleware), Middleware(AccessLogMiddleware, metrics=metrics)]
    middleware.append(
        Middleware(
            CorsMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "X-Trace-ID", *RATE_LIMIT_HEADERS],
        )
    )
    middleware.append(Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes))
    return middleware

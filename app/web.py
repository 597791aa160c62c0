"""The Starlette application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from app import __version__
from app.graphql_view import GraphQLView
from app.legacy_ws import resource_updates
from app.middleware import RequestIdMiddleware
from app.services import Services
from app.settings import Settings
from schema.root import build_schema

log = logging.getLogger("fleetgraph")


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "healthy", "version": __version__})


Attachment = Callable[[Services], AbstractAsyncContextManager[object]]


def create_app(settings: Settings, services: Services | None = None, attach: Attachment | None = None) -> Starlette:
    """`attach` runs for the app's lifetime inside its event loop (the demo's simulated fleet)."""
    services = services or Services.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.start()
        try:
            if attach is None:
                yield
            else:
                async with attach(services):
                    yield
        finally:
            await services.close()

    graphql = GraphQLView(
        services,
        schema=build_schema(settings),
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        connection_init_wait_timeout=timedelta(seconds=10),
        allowed_origins=settings.cors_origins,
    )
    middleware = [Middleware(RequestIdMiddleware)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["*"],
                expose_headers=["X-Request-ID"],
            )
        )
    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/graphql", graphql, methods=["GET", "POST", "OPTIONS"]),
            WebSocketRoute("/graphql", graphql),
            WebSocketRoute("/ws/resources", resource_updates),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.services = services
    return app

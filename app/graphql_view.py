"""The GraphQL endpoint: Strawberry's ASGI view with our context getter."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.context import RequestContext, build_context
from app.services import Services


class GraphQLView(GraphQL[RequestContext, None]):
    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> RequestContext:
        return await build_context(self.services, request, response if isinstance(response, Response) else None)

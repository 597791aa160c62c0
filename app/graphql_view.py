"""The GraphQL endpoint: Strawberry's ASGI view with our context getter and body checks."""

from __future__ import annotations

from typing import Any, cast

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from app.context import RequestContext, build_context, sign_in_websocket
from app.errors import AppError
from app.services import Services


class GraphQLView(GraphQL[RequestContext, None]):
    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> RequestContext:
        return await build_context(self.services, request, response if isinstance(response, Response) else None)

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """The token goes in connection_init; a missing or bad one closes the socket with 4403."""
        try:
            await sign_in_websocket(context, context.connection_params or {})
        except AppError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from exc
        return UNSET

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object with a `query`")
        return parsed

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Every error leaves with a code, including those raised before the schema's extensions ran
        (a syntax error or the token limit, found while parsing)."""
        response = await super().process_result(request, result)
        for error in cast(list[dict[str, Any]], response.get("errors") or []):
            extensions = error.get("extensions") or {}
            error["extensions"] = {"code": "BAD_USER_INPUT", **extensions}
        return response

"""The GraphQL endpoint: Strawberry's ASGI view with our context getter, body checks and
websocket handlers whose subscriptions share each event's execution (app/realtime/shared.py)."""

from __future__ import annotations

import json
from typing import Any, cast

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected as StarletteDisconnected
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import Schema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType
from strawberry.utils.await_maybe import await_maybe

from app.context import RequestContext, build_context, sign_in_websocket
from app.errors import AppError
from app.realtime.shared import Delivery, current_delivery, visibility
from app.services import Services
from schema.errors import format_error


def _socket(handler: BaseGraphQLTransportWSHandler[Any, Any] | BaseGraphQLWSHandler[Any, Any]) -> WebSocket:
    return cast(WebSocket, handler.websocket.ws)  # type: ignore[attr-defined]


class TransportWSHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """graphql-transport-ws, each operation's task holding its delivery."""

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, WebSocketDisconnected | StarletteDisconnected):
            return  # a client that left while its operation was still sending: nothing went wrong
        await super().handle_task_exception(error)

    async def run_operation(self, operation: Operation[RequestContext, None]) -> None:
        view = cast(GraphQLView, self.view)
        envelope: dict[str, object] = {"id": operation.id, "type": "next"}
        current_delivery.set(
            view.delivery(
                _socket(self), self.context, envelope, operation.query, operation.variables, operation.operation_name
            )
        )
        await super().run_operation(operation)


class LegacyWSHandler(BaseGraphQLWSHandler[RequestContext, None]):
    """The legacy graphql-ws protocol, each operation's task holding its delivery."""

    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None, variables: dict[str, object] | None
    ) -> None:
        view = cast(GraphQLView, self.view)
        envelope: dict[str, object] = {"type": "data", "id": operation_id}
        current_delivery.set(view.delivery(_socket(self), self.context, envelope, query, variables, operation_name))
        await super().handle_async_results(operation_id, query, operation_name, variables)


class GraphQLView(GraphQL[RequestContext, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> RequestContext:
        return await build_context(self.services, request, response if isinstance(response, Response) else None)

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """The token goes in connection_init; a missing or bad one closes the socket with 4403.
        Sign-ins wait their turn for the database, so a burst of connections queues rather than fails."""
        try:
            async with self.services.handshakes:
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

    def delivery(
        self,
        socket: WebSocket,
        context: RequestContext,
        envelope: dict[str, object],
        query: str,
        variables: dict[str, object] | None,
        operation_name: str | None,
    ) -> Delivery:
        """How one websocket operation's subscription events reach its socket."""

        async def send(text: str) -> bool:
            try:
                await socket.send_text(text)
            except (WebSocketDisconnect, StarletteDisconnected):
                return False  # the client went away: the subscription ends without an error
            return True

        def format_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
            return [dict(format_error(error, context.request_id).formatted) for error in errors]

        variables_key = json.dumps(variables or {}, sort_keys=True, default=str)
        return Delivery(
            send=send,
            envelope=envelope,
            key=(query, operation_name, variables_key, visibility(context.principal)),
            variables=variables,
            encode=self.encode_json_string,
            extensions=lambda: extension_results(cast(Schema, self.schema), context, query, variables),
            format_errors=format_errors,
            selections=self.services.selections,
        )


async def extension_results(
    schema: Schema, context: RequestContext, query: str, variables: dict[str, object] | None
) -> dict[str, Any]:
    """What the schema's extensions add to each result of an operation (as Strawberry's runner
    collects it), taken once when a shared subscription starts sending."""
    execution_context = ExecutionContext(
        query=query,
        schema=schema,
        allowed_operations=(OperationType.SUBSCRIPTION,),
        context=context,
        variables=cast(dict[str, Any] | None, variables),
    )
    results: dict[str, Any] = {}
    for extension in schema.get_extensions():
        extension.execution_context = execution_context
        results.update(await await_maybe(extension.get_results()))
    return results

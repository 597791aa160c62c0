"""The GraphQL endpoint: Strawberry's ASGI view with our context getter, body checks, GraphQL
over HTTP's media types and status codes (app/response_media.py), and websocket handlers whose
subscriptions share each event's execution (app/realtime/shared.py)."""

from __future__ import annotations

import json
from typing import Any, cast

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected as StarletteDisconnected
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import Schema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionErrorMessage
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyConnectionInitMessage
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType
from strawberry.utils.await_maybe import await_maybe

from app.context import RequestContext, build_context, sign_in_websocket
from app.errors import AppError, Unauthenticated
from app.graphiql import graphiql_page
from app.http_errors import error_response
from app.realtime.shared import Delivery, current_delivery, visibility
from app.response_media import is_request_error, negotiate, status_of
from app.services import Services
from schema.errors import format_error

SUBSCRIPTIONS_OVER_HTTP = (
    "subscriptions are not served over HTTP: open a WebSocket to /graphql with the graphql-transport-ws protocol"
)
METHODS = "GET, POST, OPTIONS"
SIGN_IN = 'send {"Authorization": "Bearer <token>"} in connection_init'


class MethodNotAllowed(HTTPException):
    """A 405, with the methods that would work in its `Allow` header."""

    def __init__(self, reason: str, allow: str) -> None:
        super().__init__(405, reason)
        self.allow = allow


class SignInRequired(Exception):
    """A websocket without a valid token: closed with 4401 and how to sign in, so that a client
    asks its user for a token instead of reconnecting with the same one (as it would on 4403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        reason = message if "connection_init" in message else f"{message}: {SIGN_IN}"
        self.reason = reason.encode()[:123].decode(errors="ignore")  # a close reason's limit


def _socket(handler: BaseGraphQLTransportWSHandler[Any, Any] | BaseGraphQLWSHandler[Any, Any]) -> WebSocket:
    return cast(WebSocket, handler.websocket.ws)  # type: ignore[attr-defined]


class TransportWSHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """graphql-transport-ws, each operation's task holding its delivery."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SignInRequired as refusal:
            await self.websocket.close(code=4401, reason=refusal.reason)

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

    async def handle_connection_init(self, message: LegacyConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SignInRequired as refusal:
            error: ConnectionErrorMessage = {
                "type": "connection_error",
                "payload": {"message": refusal.reason, "code": "UNAUTHENTICATED"},
            }
            await self.send_message(error)
            await self.websocket.close(code=4401, reason=refusal.reason)

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

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the product's own assets (app/graphiql.py), never a CDN."""
        return HTMLResponse(graphiql_page())

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> RequestContext:
        return await build_context(self.services, request, response if isinstance(response, Response) else None)

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """The token goes in connection_init; a missing or bad one closes the socket with 4401.
        Sign-ins wait their turn for the database, so a burst of connections queues rather than fails."""
        try:
            async with self.services.handshakes:
                await sign_in_websocket(context, context.connection_params or {})
        except Unauthenticated as exc:
            raise SignInRequired(exc.message) from exc
        except AppError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from exc
        return UNSET

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As Strawberry's, but a request refused before GraphQL runs is answered in GraphQL's JSON
        (a CORS preflight never gets here: app/middleware.py answers it)."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.answer(request)
        except HTTPException as exc:
            headers = {"Allow": exc.allow} if isinstance(exc, MethodNotAllowed) else None
            media_type = negotiate(request.headers.get("accept"))
            response = error_response(exc.status_code, exc.reason, headers=headers, media_type=media_type)
        response.headers.add_vary_header("Accept")  # the media type (or GraphiQL's page) follows it
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": METHODS})
        if request.method not in ("GET", "POST"):
            raise MethodNotAllowed(f"{request.method} is not served here: send GraphQL with GET or POST", METHODS)
        return await self.run(request)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Also carries the media type the client asked for, which the response is encoded as."""
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = negotiate(request.headers.get("accept"))
        return sub_response

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = sub_response.media_type or "application/json"
        return response

    def decode_json(self, data: str | bytes) -> object:
        """Also a body nested deeper than the parser's stack, or not UTF-8, is JSON that cannot be
        decoded (for the websocket protocols too, which close the socket for it)."""
        try:
            return json.loads(data)
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", "", 0) from None
        except UnicodeDecodeError:
            raise json.JSONDecodeError("not valid UTF-8", "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        try:
            parsed = self.decode_json(data)
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"The request body is not JSON: {exc.msg}") from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object with a `query`")
        return parsed

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Queries and mutations: over HTTP, a subscription would run once, as if it were a query."""
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        if not self.allow_queries_via_get and request_adapter.method == "GET":
            allowed -= {OperationType.QUERY}
        try:
            result = await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, SUBSCRIPTIONS_OVER_HTTP) from None
            if request_adapter.method == "GET":
                raise MethodNotAllowed(f"{exc.as_http_error_reason('GET')}: send them with POST", "POST") from None
            raise HTTPException(400, exc.as_http_error_reason(request_adapter.method)) from None
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from None
        except MissingQueryError:
            raise HTTPException(400, "No GraphQL query found in the request") from None
        sub_response.status_code = status_of(result, sub_response.media_type or "")
        return result

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Every error leaves with a code, including those raised before the schema's extensions ran
        (a syntax error or the token limit, found while parsing). A request that failed before
        execution has no `data` entry at all, as the GraphQL spec says."""
        response = await super().process_result(request, result)
        if is_request_error(result):
            response.pop("data", None)
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

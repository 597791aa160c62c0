"""What a GraphQL response over HTTP is encoded as, and which status it carries.

A client names `application/graphql-response+json` (GraphQL over HTTP's own media type) or
`application/json` in its Accept header; without one, or with `*/*`, it gets application/json.
With application/graphql-response+json the status says whether the request itself failed: a
document that does not parse or validate, variables that do not coerce, or a request refused
before it ran answers with its error's status (400 for bad input, 429 when rate limited, ...);
a response with data is 200. With application/json every GraphQL response is 200, which is
what clients of that older media type expect.
"""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.types import ExecutionResult

from app.errors import AppError

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_CHOICES = {GRAPHQL_RESPONSE: GRAPHQL_RESPONSE, JSON: JSON, "application/*": JSON, "*/*": JSON}
KINDS: list[type[AppError]] = [AppError, *AppError.__subclasses__()]
STATUS_OF_CODE = {kind.code: kind.http_status for kind in KINDS}


def negotiate(accept: str | None) -> str:
    """The media type the client prefers among those served: the highest quality, an exact name
    before a wildcard, the first listed before a later one. Accept naming none of them gets
    application/json, as GraphQL over HTTP allows, rather than a 406 a GraphQL client cannot read."""
    chosen, best = JSON, (0.0, False)
    for item in (accept or "").split(","):
        name, _, parameters = item.partition(";")
        served = _CHOICES.get(name.strip().lower())
        rank = (_quality(parameters), "*" not in name)
        if served is not None and rank[0] > 0 and rank > best:
            chosen, best = served, rank
    return chosen


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 1.0
    return 1.0


def is_request_error(result: ExecutionResult) -> bool:
    """Failed before any field ran: no data, and no error that belongs to a field's path."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def status_of(result: ExecutionResult, media_type: str) -> int:
    if media_type != GRAPHQL_RESPONSE or not is_request_error(result):
        return 200
    first: GraphQLError = (result.errors or [])[0]
    code = (first.extensions or {}).get("code", "BAD_USER_INPUT")
    return STATUS_OF_CODE.get(str(code), 400)

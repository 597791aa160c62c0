"""A request refused before GraphQL runs (a body too large, not JSON, a wrong method) still gets
a GraphQL response: `{"errors": [{"message", "extensions": {"code"}}]}` with its HTTP status."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

CODES = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT", 429: "RATE_LIMITED"}


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None, media_type: str = "application/json"
) -> JSONResponse:
    """`media_type` is the one the client asked for (app/response_media.py): both are JSON."""
    code = CODES.get(status, "BAD_USER_INPUT" if status < 500 else "INTERNAL")
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers, media_type=media_type)

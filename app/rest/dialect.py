"""A dialect: one source document's envelope, error bodies, paging and status codes.

The executor hands a dialect plain values (the picked data, a list's items and total, an error's
code and message) and gets back the documented body; the OpenAPI document asks the same dialect
for the JSON Schemas of those bodies, so what is published and what is served cannot differ."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel

from app.rest.rows import Data, Row

STATUSES: Mapping[str, int] = {
    "UNAUTHENTICATED": 401,
    "ACCOUNT_LOCKED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "BAD_USER_INPUT": 400,
    "RATE_LIMITED": 429,
    "UPSTREAM_UNAVAILABLE": 503,
    "UPSTREAM_TIMEOUT": 504,
    "INTERNAL": 500,
}
CODES = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "CONFLICT"}
CODES |= {413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 422: "BAD_USER_INPUT", 429: "RATE_LIMITED"}


def code_for(status: int) -> str:
    return CODES.get(status, "BAD_USER_INPUT" if status < 500 else "INTERNAL")


@dataclass(frozen=True)
class Problem:
    """One field's problem: where (`body.email`, `query.page`), what, and a machine code."""

    path: str
    message: str
    code: str = "invalid"


class Paging(BaseModel):
    """The query parameters a dialect pages with, and what they mean to GraphQL."""

    @abstractmethod
    def variables(self) -> Data:
        """Variables for a connection field (`page/pageSize` or `first/after`)."""
        ...

    @abstractmethod
    def window(self) -> tuple[int, int]:
        """Offset and size, for a list the schema answers whole."""
        ...


@dataclass(frozen=True)
class Window:
    """One page of a list, as a dialect describes it."""

    items: Sequence[Any]
    total: int
    paging: Paging
    next_cursor: str | None


class Dialect(ABC):
    name: ClassVar[str]
    title: ClassVar[str]
    paging: ClassVar[type[Paging]]
    statuses: ClassVar[Mapping[str, int]] = STATUSES
    validation_status: ClassVar[int] = 400

    def status_of(self, row: Row | None, code: str) -> int:
        if row is not None and code in row.statuses:
            return row.statuses[code]
        return self.statuses.get(code, 400 if code != "INTERNAL" else 500)

    def required_headers(self, row: Row) -> Mapping[str, str]:
        """The headers the document requires on the row's calls, each with the one value it
        accepts (any case): a call without them is refused before any GraphQL runs."""
        return {}

    # bodies
    @abstractmethod
    def success(self, row: Row, value: Any) -> Any: ...

    @abstractmethod
    def listing(self, row: Row, window: Window) -> Any: ...

    @abstractmethod
    def error(self, status: int, code: str, message: str, details: Sequence[Problem] = ()) -> Any: ...

    def invalid(self, problems: Sequence[Problem]) -> Any:
        """The body of a request whose input was refused field by field."""
        return self.error(self.validation_status, "BAD_USER_INPUT", "Validation failed", problems)

    # their JSON Schemas, for the OpenAPI document
    @abstractmethod
    def success_schema(self, row: Row, value: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def listing_schema(self, row: Row, item: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def error_schema(self) -> dict[str, Any]: ...

    def invalid_schema(self) -> dict[str, Any]:
        return self.error_schema()


def page_count(total: int, size: int) -> int:
    return (total + size - 1) // size if size else 0


def object_schema(properties: dict[str, Any], required: Sequence[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required or properties)}

"""QAssure (seed 003): `{success, data, pagination {page, limit, total, totalPages, hasMore}}`,
validation errors `{success: false, error: "Validation failed", details}`, others
`{success: false, error: {code, message}}`. An act with nothing to give back (a delete, a
sign-out) answers `{success, message}`: its `Message` stands beside `success`, not in `data`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from app.rest.answers import Message
from app.rest.dialect import Dialect, Paging, Problem, Window, object_schema, page_count
from app.rest.rows import Data, Row

PROBLEM = object_schema({"path": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}})


class QAssurePaging(Paging):
    page: int = Field(1, ge=1, le=1_000_000)
    limit: int = Field(20, ge=1, le=100)

    def variables(self) -> Data:
        return {"page": self.page, "pageSize": self.limit}

    def window(self) -> tuple[int, int]:
        return (self.page - 1) * self.limit, self.limit


def _says_only(row: Row) -> bool:
    """Whether the row's answer is a `Message`, which 003 gives beside `success`."""
    return row.response is not None and issubclass(row.response, Message)


class QAssure(Dialect):
    name = "qassure"
    title = "QAssure"
    paging = QAssurePaging

    def success(self, row: Row, value: Any) -> Any:
        if _says_only(row):
            return {"success": True, **value}
        return {"success": True, "data": value}

    def listing(self, row: Row, window: Window) -> Any:
        paging = window.paging
        assert isinstance(paging, QAssurePaging)
        pages = page_count(window.total, paging.limit)
        pagination = {"page": paging.page, "limit": paging.limit, "total": window.total}
        pagination |= {"totalPages": pages, "hasMore": paging.page < pages}
        return {"success": True, "data": list(window.items), "pagination": pagination}

    def error(self, status: int, code: str, message: str, details: Sequence[Problem] = ()) -> Any:
        return {"success": False, "error": {"code": code, "message": message}}

    def invalid(self, problems: Sequence[Problem]) -> Any:
        details = [{"path": p.path, "message": p.message, "code": p.code} for p in problems]
        return {"success": False, "error": "Validation failed", "details": details}

    def success_schema(self, row: Row, value: dict[str, Any]) -> dict[str, Any]:
        if _says_only(row):
            said = {"success": {"const": True}, **value.get("properties", {})}
            return object_schema(said, ["success", *value.get("required", [])])
        return object_schema({"success": {"const": True}, "data": value})

    def listing_schema(self, row: Row, item: dict[str, Any]) -> dict[str, Any]:
        pagination = object_schema(
            {name: {"type": "integer"} for name in ("page", "limit", "total", "totalPages")}
            | {"hasMore": {"type": "boolean"}}
        )
        return object_schema(
            {"success": {"const": True}, "data": {"type": "array", "items": item}, "pagination": pagination}
        )

    def error_schema(self) -> dict[str, Any]:
        error = object_schema({"code": {"type": "string"}, "message": {"type": "string"}})
        return object_schema({"success": {"const": False}, "error": error})

    def invalid_schema(self) -> dict[str, Any]:
        details = {"type": "array", "items": PROBLEM}
        return object_schema({"success": {"const": False}, "error": {"const": "Validation failed"}, "details": details})

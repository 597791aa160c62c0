"""CKS (seeds 000/001): `ApiResponse {success, data, error?}`; lists `{<items>, total, page, pageSize}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from app.rest.dialect import Dialect, Paging, Problem, Window, object_schema
from app.rest.rows import Data, Row

PROBLEM = object_schema({"path": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}})


class CksPaging(Paging):
    page: int = Field(1, ge=1, le=1_000_000)
    pageSize: int = Field(20, ge=1, le=100)

    def variables(self) -> Data:
        return {"page": self.page, "pageSize": self.pageSize}

    def window(self) -> tuple[int, int]:
        return (self.page - 1) * self.pageSize, self.pageSize


class Cks(Dialect):
    name = "cks"
    title = "CKS"
    paging = CksPaging

    def success(self, row: Row, value: Any) -> Any:
        return {"success": True, "data": value}

    def listing(self, row: Row, window: Window) -> Any:
        paging = window.paging
        assert isinstance(paging, CksPaging)
        items = row.listing.items if row.listing else "items"
        data = {items: list(window.items), "total": window.total, "page": paging.page, "pageSize": paging.pageSize}
        return {"success": True, "data": data}

    def error(self, status: int, code: str, message: str, details: Sequence[Problem] = ()) -> Any:
        error: dict[str, Any] = {"code": code, "message": message}
        if details:
            error["details"] = [{"path": p.path, "message": p.message, "code": p.code} for p in details]
        return {"success": False, "error": error}

    def success_schema(self, row: Row, value: dict[str, Any]) -> dict[str, Any]:
        return object_schema({"success": {"const": True}, "data": value})

    def listing_schema(self, row: Row, item: dict[str, Any]) -> dict[str, Any]:
        items = row.listing.items if row.listing else "items"
        page = {items: {"type": "array", "items": item}, "total": {"type": "integer"}}
        page |= {"page": {"type": "integer"}, "pageSize": {"type": "integer"}}
        return self.success_schema(row, object_schema(page))

    def error_schema(self) -> dict[str, Any]:
        error = object_schema(
            {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "array", "items": PROBLEM}},
            ["code", "message"],
        )
        return object_schema({"success": {"const": False}, "error": error})

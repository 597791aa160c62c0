"""The Provisioner (seed 004): FastAPI's shapes: bare JSON, lists
`{total, page, page_size, total_pages, data}`, errors `{"detail": "..."}` and 422 validation
errors `{"detail": [{loc, msg, type}]}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from app.rest.dialect import Dialect, Paging, Problem, Window, object_schema, page_count
from app.rest.rows import Data, Row


class ProvisionerPaging(Paging):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=100)

    def variables(self) -> Data:
        return {"page": self.page, "pageSize": self.page_size}

    def window(self) -> tuple[int, int]:
        return (self.page - 1) * self.page_size, self.page_size


class Provisioner(Dialect):
    name = "provisioner"
    title = "Provisioner"
    paging = ProvisionerPaging
    validation_status = 422

    def success(self, row: Row, value: Any) -> Any:
        return value

    def listing(self, row: Row, window: Window) -> Any:
        paging = window.paging
        assert isinstance(paging, ProvisionerPaging)
        pages = page_count(window.total, paging.page_size)
        return {
            "total": window.total,
            "page": paging.page,
            "page_size": paging.page_size,
            "total_pages": pages,
            "data": list(window.items),
        }

    def error(self, status: int, code: str, message: str, details: Sequence[Problem] = ()) -> Any:
        return {"detail": message}

    def invalid(self, problems: Sequence[Problem]) -> Any:
        return {"detail": [{"loc": p.path.split("."), "msg": p.message, "type": p.code} for p in problems]}

    def success_schema(self, row: Row, value: dict[str, Any]) -> dict[str, Any]:
        return value

    def listing_schema(self, row: Row, item: dict[str, Any]) -> dict[str, Any]:
        counts = {name: {"type": "integer"} for name in ("total", "page", "page_size", "total_pages")}
        return object_schema(counts | {"data": {"type": "array", "items": item}})

    def error_schema(self) -> dict[str, Any]:
        return object_schema({"detail": {"type": "string"}})

    def invalid_schema(self) -> dict[str, Any]:
        problem = object_schema(
            {
                "loc": {"type": "array", "items": {"type": "string"}},
                "msg": {"type": "string"},
                "type": {"type": "string"},
            }
        )
        return object_schema({"detail": {"type": "array", "items": problem}})

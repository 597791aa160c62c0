"""Kubilitics (seed 002): bare JSON, `{"error": "..."}`, `limit`/`continue` paging with
`metadata {continue, total}`, 423 for a locked account, and DELETEs confirmed by a header."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, field_validator

from app.paging import decode_cursor
from app.rest.dialect import STATUSES, Dialect, Paging, Problem, Window, object_schema
from app.rest.rows import Data, Row

CONFIRM = {"X-Confirm-Destructive": "true"}


class KubiliticsPaging(Paging):
    limit: int = Field(100, ge=1, le=100, description="at most 100 per page")
    continue_: str | None = Field(None, alias="continue", max_length=200, description="the previous page's token")

    @field_validator("continue_")
    @classmethod
    def _a_token(cls, value: str | None) -> str | None:
        if value is not None and decode_cursor(value) is None:
            raise ValueError("is not a token this server gave")
        return value

    def variables(self) -> Data:
        return {"first": self.limit, "after": self.continue_}

    def window(self) -> tuple[int, int]:
        after = decode_cursor(self.continue_) if self.continue_ else None
        return (after + 1 if after is not None else 0), self.limit


def _newest_version(items: Sequence[Any]) -> str:
    """The list's `resourceVersion`: the newest of its Kubernetes objects' versions ("" for a list
    of anything else). A watch started from it gets every later change of those objects."""
    versions = [
        int(v)
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("metadata"), Mapping)
        for v in [item["metadata"].get("resourceVersion")]
        if isinstance(v, str) and v.isdigit()
    ]
    return str(max(versions)) if versions else ""


class Kubilitics(Dialect):
    name = "kubilitics"
    title = "Kubilitics"
    paging = KubiliticsPaging
    statuses = {**STATUSES, "ACCOUNT_LOCKED": 423}

    def required_headers(self, row: Row) -> Mapping[str, str]:
        """A DELETE carries `X-Confirm-Destructive: true` (seed 002, "Common Headers")."""
        return CONFIRM if row.method == "DELETE" else {}

    def success(self, row: Row, value: Any) -> Any:
        return value

    def listing(self, row: Row, window: Window) -> Any:
        items = row.listing.items if row.listing else "items"
        metadata = {"resourceVersion": _newest_version(window.items), "continue": window.next_cursor or ""}
        return {items: list(window.items), "metadata": {**metadata, "total": window.total}}

    def error(self, status: int, code: str, message: str, details: Sequence[Problem] = ()) -> Any:
        body: dict[str, Any] = {"error": message, "code": code}
        if details:
            body["details"] = [{"field": p.path, "message": p.message} for p in details]
        return body

    def success_schema(self, row: Row, value: dict[str, Any]) -> dict[str, Any]:
        return value

    def listing_schema(self, row: Row, item: dict[str, Any]) -> dict[str, Any]:
        items = row.listing.items if row.listing else "items"
        metadata = object_schema(
            {"resourceVersion": {"type": "string"}, "continue": {"type": "string"}, "total": {"type": "integer"}}
        )
        return object_schema({items: {"type": "array", "items": item}, "metadata": metadata})

    def error_schema(self) -> dict[str, Any]:
        return object_schema({"error": {"type": "string"}, "code": {"type": "string"}}, ["error"])

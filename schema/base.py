"""Shared schema pieces: the Node interface, connections and paging arguments."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from app.errors import FieldErrors

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@strawberry.interface(description="Anything that can be refetched by its global ID.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="The nodes of this page, without the edges around them.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int | None:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return offset if kind == "offset" and offset >= 0 else None


def page_from(
    first: int | None = None, after: str | None = None, page: int | None = None, page_size: int | None = None
) -> Page:
    """Relay (`first/after`) or page-number (`page/pageSize`) paging, validated."""
    errors = FieldErrors()
    size = first if first is not None else page_size
    if size is None:
        size = DEFAULT_PAGE_SIZE
    if not 0 <= size <= MAX_PAGE_SIZE:
        errors.add("first" if first is not None else "pageSize", f"must be between 0 and {MAX_PAGE_SIZE}")
    offset = 0
    if after is not None:
        decoded = decode_cursor(after)
        if decoded is None:
            errors.add("after", "is not a valid cursor")
        else:
            offset = decoded + 1
    elif page is not None:
        if page < 1:
            errors.add("page", "must be 1 or more")
        else:
            offset = (page - 1) * size
    errors.raise_if_any()
    return Page(offset=offset, limit=size)


def connection(items: list[T], total: int, page: Page) -> Connection[T]:
    edges = [Edge(node=item, cursor=encode_cursor(page.offset + i)) for i, item in enumerate(items)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.offset + len(items) < total,
            has_previous_page=page.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )

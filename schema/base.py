"""Shared schema pieces: the Node interface, connections and paging arguments."""

from __future__ import annotations

from typing import Generic, TypeVar

import strawberry

from app.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, decode_cursor, encode_cursor, page_from

__all__ = [
    "DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Connection", "Edge", "Node", "Page", "PageInfo", "connection",
    "decode_cursor", "encode_cursor", "page_from",
]  # fmt: skip

T = TypeVar("T")


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

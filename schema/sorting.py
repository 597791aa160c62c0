"""The `orderBy` argument lists share: keys of a field name and a direction."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types.arguments import StrawberryArgumentAnnotation

from app.sorting import Sortable, SortKey


@strawberry.enum(description="Which way a sort key runs; missing values come last either way")
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="One key of a list's order: a field the list sorts by, and which way")
class SortInput:
    field: str = strawberry.field(description="A field of the listed type, by its GraphQL name")
    direction: SortDirection = SortDirection.ASC


def ordering(sortable: Sortable, own_order: str) -> StrawberryArgumentAnnotation:
    """The `orderBy` argument of a list that sorts by `sortable`'s fields."""
    fields = ", ".join(sortable.fields)
    return strawberry.argument(
        description=f"Sort keys, first to last, by {fields}; the ID breaks ties. Without them: {own_order}"
    )


def sort_keys(order_by: list[SortInput] | None) -> list[SortKey] | None:
    if order_by is None:
        return None
    return [SortKey(key.field, key.direction is SortDirection.DESC) for key in order_by]

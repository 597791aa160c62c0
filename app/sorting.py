"""Ordering a list by the fields its caller names.

Each list declares once which of its fields sort, by their GraphQL names, and the column each one
is. The caller's keys come first, in the order given; the ID breaks the remaining ties, so equal
values keep one order from page to page. A list asked for no order keeps its own. Missing values
(NULL) come last whichever the direction, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import FieldErrors

T = TypeVar("T")
ARGUMENT = "orderBy"


@dataclass(frozen=True)
class SortKey:
    """One key of an order: a field by its GraphQL name, ascending unless `descending`."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class Sortable:
    """The fields a list sorts by (GraphQL name → column) and the ID column that breaks ties."""

    columns: Mapping[str, InstrumentedAttribute[Any]]
    tiebreak: InstrumentedAttribute[Any]

    @property
    def fields(self) -> list[str]:
        return sorted(self.columns)

    def check(self, keys: Sequence[SortKey]) -> None:
        """BAD_USER_INPUT naming each key whose field the list does not sort by."""
        errors = FieldErrors()
        for index, key in enumerate(keys):
            if key.field not in self.columns:
                sortable = ", ".join(self.fields)
                errors.add(f"{ARGUMENT}[{index}].field", f"cannot sort by {key.field!r}; sortable fields: {sortable}")
        errors.raise_if_any()

    def order(self, query: Select[Any], keys: Sequence[SortKey] | None) -> Select[Any]:
        """The query in the keys' order (its own order when there are none)."""
        if not keys:
            return query
        self.check(keys)
        clauses = []
        for key in keys:
            column = self.columns[key.field]
            clauses.append((column.desc() if key.descending else column.asc()).nulls_last())
        return query.order_by(None).order_by(*clauses, self.tiebreak.asc())

    def sort(self, items: Sequence[T], keys: Sequence[SortKey] | None) -> list[T]:
        """Objects held in memory (each with the columns' attributes) in the keys' order."""
        ordered = list(items)
        if not keys:
            return ordered
        self.check(keys)
        ordered.sort(key=lambda item: getattr(item, self.tiebreak.key))
        for key in reversed(keys):
            name = self.columns[key.field].key
            if key.descending:  # missing values last: they rank lowest, and the order is reversed
                ordered.sort(key=lambda item: _present_first(getattr(item, name)), reverse=True)
            else:
                ordered.sort(key=lambda item: _missing_last(getattr(item, name)))
        return ordered


def _missing_last(value: Any) -> tuple[bool, Any]:
    return value is None, value


def _present_first(value: Any) -> tuple[bool, Any]:
    return value is not None, value

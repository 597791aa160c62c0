"""Batch loading by primary key inside a tenant-scoped session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select

from app.db.session import Database

M = TypeVar("M")


def by_id(db: Database, scope: str | None, model: type[M]) -> Callable[[Sequence[str]], Awaitable[list[M | None]]]:
    async def load(ids: Sequence[str]) -> list[M | None]:
        column: Any = model.id  # type: ignore[attr-defined]
        async with db.session(scope) as session:
            rows = (await session.execute(select(model).where(column.in_(list(ids))))).scalars().all()
        found = {row.id: row for row in rows}  # type: ignore[attr-defined]
        return [found.get(i) for i in ids]

    return load

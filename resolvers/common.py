"""Helpers every domain uses: scoped lookups and paged listing."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.paging import Page

M = TypeVar("M")


async def get_or_404(session: AsyncSession, model: type[M], identifier: str, what: str) -> M:
    """Loads through the session's tenant scope: another tenant's row is simply not found."""
    column: Any = model.id  # type: ignore[attr-defined]
    row = (await session.execute(select(model).where(column == identifier))).scalar_one_or_none()
    if row is None:
        raise NotFound.of(what, identifier)
    return row


async def paged(session: AsyncSession, query: Select[Any], page: Page) -> tuple[list[Any], int]:
    total = (await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()
    rows = (await session.execute(query.offset(page.offset).limit(page.limit))).scalars().all()
    return list(rows), int(total)


def changed_fields(model: object, updates: dict[str, Any]) -> dict[str, Any]:
    """Apply `updates` (None means 'leave as is'); returns {field: [old, new]} for the audit."""
    changes: dict[str, Any] = {}
    for field, value in updates.items():
        if value is None:
            continue
        old = getattr(model, field)
        if old != value:
            changes[field] = [old, value]
            setattr(model, field, value)
    return changes

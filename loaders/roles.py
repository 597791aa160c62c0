from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from strawberry.dataloader import DataLoader

from app.db.models import Role
from app.db.session import Database


def make_role_by_name_loader(db: Database, scope: str | None) -> DataLoader[str, Role | None]:
    """Custom roles by the name users hold them by, their code, as the caller's tenant sees them
    (its own, then shared ones)."""

    async def load(codes: Sequence[str]) -> list[Role | None]:
        async with db.session(scope) as session:
            rows = (await session.execute(select(Role).where(Role.code.in_(list(codes))))).scalars().all()
        found: dict[str, Role] = {}
        for row in sorted(rows, key=lambda r: r.tenant_id is None):
            found.setdefault(row.code, row)
        return [found.get(c) for c in codes]

    return DataLoader(load_fn=load)


HeldRole = tuple[str | None, str]
"""A role as a user holds it: (the user's tenant, or None for provider staff; the role's code)."""


def make_held_role_loader(db: Database, scope: str | None) -> DataLoader[HeldRole, Role | None]:
    """The custom role a user holds: the row of that code made by the user's own tenant (or, for
    provider staff, by the provider), as the caller's scope lets them see it."""

    async def load(keys: Sequence[HeldRole]) -> list[Role | None]:
        codes = sorted({code for _, code in keys})
        tenants = sorted({tenant for tenant, _ in keys if tenant is not None})
        query = select(Role).where(Role.code.in_(codes), or_(Role.tenant_id.in_(tenants), Role.tenant_id.is_(None)))
        async with db.session(scope) as session:
            rows = (await session.execute(query)).scalars().all()
        found = {(row.tenant_id, row.code): row for row in rows}
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)

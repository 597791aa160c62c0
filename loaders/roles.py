from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from app.db.models import Role
from app.db.session import Database


def make_role_by_name_loader(db: Database, scope: str | None) -> DataLoader[str, Role | None]:
    """Custom roles by name, as the caller's tenant sees them (its own, then shared ones)."""

    async def load(names: Sequence[str]) -> list[Role | None]:
        async with db.session(scope) as session:
            rows = (await session.execute(select(Role).where(Role.name.in_(list(names))))).scalars().all()
        found: dict[str, Role] = {}
        for row in sorted(rows, key=lambda r: r.tenant_id is None):
            found.setdefault(row.name, row)
        return [found.get(n) for n in names]

    return DataLoader(load_fn=load)

"""Every row, called by another tenant's admin, answers the dialect's 404, and by a role too weak
for it, the dialect's 403; and neither refusal writes anything to the database or the cluster."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.db.models import Base
from app.db.session import Database
from tests.rest.contract import Served, check_shape, send, served
from tests.rest.world import World

# Rows with something to refuse: a path every signed-in caller may call about themselves (their
# own profile, sign-out) has neither another tenant's object nor a role too weak for it.
PRIVATE = [one for one in served() if not one.row.public and (one.sample.foreign or one.sample.weak is not None)]
UNTOUCHED = {"auth_sessions", "api_tokens"}  # a caller's last-seen times, not what was asked for


async def fingerprint(db: Database, world: World) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            if table.name not in UNTOUCHED:
                counts[table.name] = int((await session.execute(select(func.count()).select_from(table))).scalar_one())
    controls = world.fleet.cluster("cluster-0").control.counters
    counts["kube writes"] = sum(
        v for k, v in controls.items() if k.split(" ")[0] in {"create", "update", "patch", "delete"}
    )
    return counts


@pytest.mark.parametrize("one", PRIVATE, ids=[one.id for one in PRIVATE])
async def test_refused_and_nothing_written(world: World, db: Database, one: Served) -> None:
    sample = one.sample
    request = await sample.build(world)
    before = await fingerprint(db, world)
    error = one.table.dialect.error_schema()
    if sample.foreign:
        response = await send(world, one, request, token=world.other.tokens["tenant_admin"])
        assert response.status_code == 404, response.text[:1000]
        assert not check_shape(error, response.json()), response.text[:1000]
    if sample.weak is not None:
        response = await send(world, one, request, token=world.token(sample.weak))
        assert response.status_code == 403, response.text[:1000]
        assert not check_shape(error, response.json()), response.text[:1000]
    if sample.writes:
        assert await fingerprint(db, world) == before

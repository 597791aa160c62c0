"""An upgrade keeps every stored row: a database at an older revision, with a row in every table,
migrated to the head, still has them all (SQLite rebuilds tables to change them, and with
foreign keys enforced a rebuild would delete every row that refers to the table)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.migrate import upgrade
from app.db.session import make_engine
from tests.conftest import require_postgres
from tests.support.databases import scratch_postgres

OLDEST = "0003"  # every later revision changes tables others refer to


@pytest.fixture(params=["sqlite", "postgres"])
async def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        await upgrade(engine, OLDEST)
        yield engine
        await engine.dispose()
        return
    async with scratch_postgres(require_postgres()) as url:
        engine = make_engine(url)
        await upgrade(engine, OLDEST)
        yield engine
        await engine.dispose()


def _value(column: Any, number: int) -> Any:
    python = column.type.python_type if hasattr(column.type, "python_type") else str
    if column.foreign_keys:
        return f"row_{next(iter(column.foreign_keys)).column.table.name}"
    if python is bool:
        return False
    if python is int:
        return number
    if python is datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)
    if python in (dict, list):
        return {} if python is dict else []
    return f"row_{column.table.name}" if column.primary_key else f"v{number}"


def _populate(connection: Connection) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(connection)
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        row = {c.name: _value(c, i) for i, c in enumerate(table.columns) if not c.nullable or c.primary_key}
        connection.execute(insert(table).values(**row))
    return _counts(connection)


def _counts(connection: Connection) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(connection)
    count = select(func.count())
    return {t.name: int(connection.execute(count.select_from(t)).scalar_one()) for t in metadata.sorted_tables}


async def test_upgrading_keeps_every_row(old_engine: AsyncEngine) -> None:
    async with old_engine.begin() as connection:
        before = await connection.run_sync(_populate)
    assert all(count == 1 for name, count in before.items() if name != "alembic_version"), before
    await upgrade(old_engine)
    async with old_engine.connect() as connection:
        after = await connection.run_sync(_counts)
    assert {name: after.get(name) for name in before} == before

"""The migrations build, on SQLite and PostgreSQL, exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db.models import Base
from app.db.session import make_engine


def _diff(connection: Connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            diff = await connection.run_sync(_diff)
    finally:
        await engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    assert diff == []

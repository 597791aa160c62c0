"""Run the Alembic migrations programmatically (used by `fleetgraph migrate` and the demo)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class BrokenReferences(RuntimeError):
    """A migration left rows that refer to rows that are gone; nothing of it was kept."""


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """On SQLite, foreign keys are off while the migrations run (outside their transaction, the
    only place SQLite lets them change): a migration that rebuilds a table drops the old one,
    which with foreign keys on would delete every row that refers to it. The references are
    checked before the transaction commits instead."""

    def run(connection: Connection) -> None:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise BrokenReferences(f"rows of {sorted({row[0] for row in broken})} refer to rows that are gone")

    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                await connection.run_sync(run)
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()

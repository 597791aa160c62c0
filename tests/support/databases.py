from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.db.migrate import upgrade
from app.db.session import make_engine


async def fresh_database(url: str) -> None:
    """Empty the database (a file for SQLite, the public schema for PostgreSQL) and migrate it."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    engine = make_engine(url)
    try:
        if not url.startswith("sqlite"):
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
    finally:
        await engine.dispose()

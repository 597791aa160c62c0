"""Engines and sessions; a per-request counter of SQL statements for tests and benchmarks."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.db import tenancy  # noqa: F401  (registers the tenant scope listener)
from app.db.conflicts import conflict_from
from app.db.tenancy import SCOPE_KEY

query_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("query_counter", default=None)


def _count_statement(*_: Any) -> None:
    counter = query_counter.get()
    if counter is not None:
        counter[0] += 1


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    sync_engine: Engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", _count_statement)
    return engine


class Database:
    """Opens sessions; `scope` limits every statement to one tenant (None: unscoped)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._factory = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self, scope: str | None = None) -> AsyncIterator[AsyncSession]:
        """A session; a write its constraints refuse (a name or email taken meanwhile) ends it as
        a CONFLICT, whether at a flush, at `commit()` or at the end of `transaction()`."""
        async with self._factory() as session:
            session.info[SCOPE_KEY] = scope
            try:
                yield session
            except IntegrityError as exc:
                conflict = conflict_from(exc)
                if conflict is None:
                    raise
                raise conflict from exc

    @asynccontextmanager
    async def transaction(self, scope: str | None = None) -> AsyncIterator[AsyncSession]:
        """A session whose work commits together at the end, or not at all."""
        async with self.session(scope) as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()

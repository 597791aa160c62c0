"""The replicas' watch locks as PostgreSQL sees them (``app.realtime.ownership``): which lock
connection holds a cluster's lock, and which ones asked for a lock since a given moment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from app.realtime.ownership import OWNERSHIP_APPLICATION

HOLDERS = """SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
  WHERE a.datname = current_database() AND a.application_name = $1 AND l.locktype = 'advisory' AND l.granted"""
ASKED = """SELECT pid FROM pg_stat_activity
  WHERE datname = current_database() AND application_name = $1 AND state = 'idle' AND state_change > $2
    AND query LIKE '%pg_try_advisory_lock%'"""


class WatchLocks:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def now(self) -> datetime:
        """The database server's clock, which stamps the lock connections' statements too."""
        stamp: datetime = await self.conn.fetchval("SELECT clock_timestamp()")
        return stamp

    async def holders(self) -> set[int]:
        """The backends of the lock connections holding a watch lock."""
        return {row["pid"] for row in await self.conn.fetch(HOLDERS, OWNERSHIP_APPLICATION)}

    async def asked_since(self, since: datetime) -> set[int]:
        """The backends of the lock connections whose last statement, done after ``since``, asked for a lock."""
        return {row["pid"] for row in await self.conn.fetch(ASKED, OWNERSHIP_APPLICATION, since)}


@asynccontextmanager
async def watch_locks(database_url: str) -> AsyncIterator[WatchLocks]:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        yield WatchLocks(conn)
    finally:
        await conn.close()

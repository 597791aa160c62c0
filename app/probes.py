"""Probes of what the service depends on: the database answers a statement, the bus carries a
message from a publisher to a subscriber, the schema is at the migrations' head. Each answers a
`Probe` (never raises), so readiness and the system health report share one way of looking."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.db.migrate import alembic_config
from app.db.session import Database
from app.realtime.bus import RealtimeBus

OK, DEGRADED, DOWN = "ok", "degraded", "down"
SEVERITY = {OK: 0, DEGRADED: 1, DOWN: 2}
BUS_TIMEOUT = 2.0  # seconds a published message may take to come back before the bus counts as down
DATABASE_TIMEOUT = 5.0  # seconds a statement may take before the database counts as down


@dataclass
class Probe:
    status: str
    latency_ms: float | None = None
    error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def answer(self) -> dict[str, Any]:
        """The JSON the readiness endpoint gives for this probe."""
        body: dict[str, Any] = {"status": self.status, **self.facts}
        if self.latency_ms is not None:
            body["latencyMs"] = self.latency_ms
        if self.error is not None:
            body["error"] = self.error
        return body


def worst(statuses: list[str]) -> str:
    """The most severe of ok < degraded < down (ok when there is nothing to judge)."""
    judged = [s for s in statuses if s in SEVERITY]
    return max(judged, key=SEVERITY.__getitem__, default=OK)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__


async def database(db: Database) -> Probe:
    """`SELECT 1` answered, and how long the round trip (with a pooled connection) took."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), db.engine.connect() as connection:
            answer = (await connection.execute(text("SELECT 1"))).scalar()
    except Exception as exc:
        return Probe(DOWN, _elapsed_ms(started), _reason(exc))
    if answer != 1:
        return Probe(DOWN, _elapsed_ms(started), f"SELECT 1 answered {answer!r}")
    return Probe(OK, _elapsed_ms(started))


async def bus(realtime: RealtimeBus) -> Probe:
    """A message published on a channel of its own, received back by a subscriber of that channel."""
    channel = f"health.{uuid.uuid4().hex}"
    token = uuid.uuid4().hex
    backend = realtime.url.split("://", 1)[0]
    started = time.perf_counter()
    try:
        async with asyncio.timeout(BUS_TIMEOUT), realtime.subscribe(channel) as messages:
            await realtime.publish(channel, {"probe": token})
            async for message in messages:
                if message.get("probe") == token:
                    break
            else:
                raise ConnectionError("the subscription ended before the message came back")
    except TimeoutError:
        return Probe(DOWN, _elapsed_ms(started), f"no message came back within {BUS_TIMEOUT:g}s", {"backend": backend})
    except Exception as exc:
        return Probe(DOWN, _elapsed_ms(started), _reason(exc), {"backend": backend})
    return Probe(OK, _elapsed_ms(started), facts={"backend": backend})


@lru_cache(maxsize=1)
def script_heads() -> tuple[str, ...]:
    """The head revisions of the migration scripts this build carries."""
    return tuple(ScriptDirectory.from_config(alembic_config("")).get_heads())


def _current_heads(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


async def migrations(db: Database) -> Probe:
    """The database's alembic revision equals the scripts' head (down when behind, ahead or unknown)."""
    heads = script_heads()
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), db.engine.connect() as connection:
            current = await connection.run_sync(_current_heads)
    except Exception as exc:
        return Probe(DOWN, error=_reason(exc), facts={"head": ",".join(heads)})
    facts = {"current": ",".join(current) or None, "head": ",".join(heads)}
    if set(current) != set(heads):
        return Probe(DOWN, error="the database is not at the migrations' head: run `fleetgraph migrate`", facts=facts)
    return Probe(OK, facts=facts)

"""Operations in the database: enqueue, claim under a row lock, heartbeat, phase transitions, logs.

Every write that a runner makes is conditional on still holding the claim (`claimed_by` is this
runner and the lease is its own), so a runner that lost its lease can never overwrite the work of
the runner that took over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import Actor
from app.db.models import Operation, OperationLog
from app.db.session import Database
from app.db.types import utcnow
from app.ids import new_id

FINISHED = ("success", "failed", "cancelled")


def system_actor(tenant_id: str | None, operation_id: str) -> Actor:
    return Actor(None, "system", tenant_id, None, "", "fleetgraph-operations", operation_id)


def new_phases(names: list[str]) -> list[dict[str, Any]]:
    return [{"name": n, "status": "pending", "startedAt": None, "finishedAt": None, "message": None} for n in names]


def progress_of(phases: list[dict[str, Any]]) -> int:
    if not phases:
        return 100
    return round(100 * sum(1 for p in phases if p["status"] == "success") / len(phases))


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def enqueue(
    session: AsyncSession,
    actor: Actor,
    *,
    tenant_id: str,
    cluster_id: str | None,
    type: str,
    provider: str,
    phases: list[str],
    params: dict[str, Any],
) -> Operation:
    """Adds a queued operation (and its audit row) to the caller's transaction."""
    operation = Operation(
        id=new_id("operation"),
        tenant_id=tenant_id,
        cluster_id=cluster_id,
        type=type,
        status="queued",
        provider=provider,
        params=params,
        state={},
        phases=new_phases(phases),
        progress=0,
        attempts=0,
        cancel_requested=False,
        requested_by=actor.user_id,
    )
    session.add(operation)
    audit.record(
        session,
        actor,
        "operation.queued",
        tenant_id=tenant_id,
        target_type="operation",
        target_id=operation.id,
        changes={"type": type, "clusterId": cluster_id, "provider": provider},
    )
    return operation


@dataclass
class Claim:
    """What a runner holds while it works on one operation."""

    operation_id: str
    tenant_id: str | None
    runner: str
    lease_expires_at: datetime
    interrupted: bool
    lease: float
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


async def claim_next(db: Database, runner: str, lease: float) -> Claim | None:
    """Claims the oldest queued operation, or a running one whose runner stopped renewing its lease."""
    now = utcnow()
    claimable = or_(
        Operation.status == "queued",
        and_(Operation.status == "running", Operation.lease_expires_at < now),
    )
    async with db.transaction() as session:
        query = (
            select(Operation)
            .where(claimable)
            .order_by(Operation.created_at, Operation.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        operation = (await session.execute(query)).scalar_one_or_none()
        if operation is None:
            return None
        interrupted = operation.status == "running"
        expires = now + timedelta(seconds=lease)
        # Compare-and-set on what was read: on SQLite (no row locks) two runners may read the
        # same row, and only the first UPDATE still matches.
        changed = await session.execute(
            update(Operation)
            .where(
                Operation.id == operation.id,
                Operation.status == operation.status,
                Operation.attempts == operation.attempts,
            )
            .values(
                status="running",
                claimed_by=runner,
                lease_expires_at=expires,
                heartbeat_at=now,
                attempts=Operation.attempts + 1,
                started_at=func.coalesce(Operation.started_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        seq = (
            await session.execute(
                select(func.coalesce(func.max(OperationLog.seq), 0)).where(OperationLog.operation_id == operation.id)
            )
        ).scalar_one()
        if not interrupted:
            audit.record(
                session,
                system_actor(operation.tenant_id, operation.id),
                "operation.started",
                tenant_id=operation.tenant_id,
                target_type="operation",
                target_id=operation.id,
                changes={"runner": runner, "attempt": operation.attempts + 1},
            )
    return Claim(operation.id, operation.tenant_id, runner, expires, interrupted, lease, seq)


def _held(claim: Claim) -> Any:
    return and_(Operation.id == claim.operation_id, Operation.claimed_by == claim.runner, Operation.status == "running")


async def renew(db: Database, claim: Claim, lease: float) -> tuple[bool, bool]:
    """(still held, cancel requested). Extends the lease only while the claim is ours."""
    now = utcnow()
    expires = now + timedelta(seconds=lease)
    async with db.transaction() as session:
        changed = await session.execute(
            update(Operation)
            .where(_held(claim))
            .values(lease_expires_at=expires, heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            return False, False
        cancel = (
            await session.execute(select(Operation.cancel_requested).where(Operation.id == claim.operation_id))
        ).scalar_one()
    claim.lease_expires_at = expires
    return True, bool(cancel)


async def load(db: Database, operation_id: str) -> Operation | None:
    async with db.session() as session:
        return await session.get(Operation, operation_id)


async def save(db: Database, claim: Claim, **values: Any) -> bool:
    """Writes `values` if the claim is still held (and renews it); False when another runner has taken over."""
    if "lease_expires_at" not in values:
        now = utcnow()
        values.update(lease_expires_at=now + timedelta(seconds=claim.lease), heartbeat_at=now)
    async with db.transaction() as session:
        changed = await session.execute(
            update(Operation).where(_held(claim)).values(**values).execution_options(synchronize_session=False)
        )
        return changed.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def append_log(db: Database, claim: Claim, phase: str | None, lines: list[str]) -> list[dict[str, Any]]:
    rows = []
    async with db.transaction() as session:
        for line in lines:
            claim.seq += 1
            row = OperationLog(
                tenant_id=claim.tenant_id, operation_id=claim.operation_id, seq=claim.seq, phase=phase, line=line
            )
            session.add(row)
            rows.append({"seq": claim.seq, "phase": phase, "line": line, "at": stamp(utcnow())})
    return rows


async def finish(db: Database, claim: Claim, status: str, error: str | None, phases: list[dict[str, Any]]) -> bool:
    now = utcnow()
    async with db.transaction() as session:
        changed = await session.execute(
            update(Operation)
            .where(_held(claim))
            .values(
                status=status,
                error=error,
                phases=phases,
                progress=progress_of(phases),
                finished_at=now,
                claimed_by=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        audit.record(
            session,
            system_actor(claim.tenant_id, claim.operation_id),
            f"operation.{status}",
            tenant_id=claim.tenant_id,
            target_type="operation",
            target_id=claim.operation_id,
            changes={"error": error} if error else {},
        )
    return True

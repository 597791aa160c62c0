"""Operations: list, read, retry a failed one from its failed phase, cancel a queued or running one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.context import RequestContext
from app.db.models import Cluster, Operation, OperationLog, Tenant
from app.db.types import utcnow
from app.errors import BadUserInput, Conflict, NotFound
from app.operations.runner import operation_channel
from app.operations.store import FINISHED
from app.paging import Page
from app.realtime.mailbox import Mailbox
from resolvers.common import get_or_404, paged
from resolvers.realtime import until_signed_out

TYPES = ("provision", "scale", "upgrade", "deprovision", "drain", "remove-node")
STATUSES = ("queued", "running", "success", "failed", "cancelled")


async def list_operations(
    ctx: RequestContext,
    tenant_id: str,
    page: Page,
    type: str | None,
    status: str | None,
    cluster_id: str | None,
) -> tuple[list[Operation], int]:
    if type is not None and type not in TYPES:
        raise BadUserInput.field("type", f"must be one of {', '.join(TYPES)}")
    if status is not None and status not in STATUSES:
        raise BadUserInput.field("status", f"must be one of {', '.join(STATUSES)}")
    query: Select[Any] = (
        select(Operation).where(Operation.tenant_id == tenant_id).order_by(Operation.created_at.desc(), Operation.id)
    )
    if type:
        query = query.where(Operation.type == type)
    if status:
        query = query.where(Operation.status == status)
    if cluster_id:
        query = query.where(Operation.cluster_id == cluster_id)
    async with ctx.db.session(ctx.scope) as session:
        await get_or_404(session, Tenant, tenant_id, "tenant")
        return await paged(session, query, page)


async def get_operation(ctx: RequestContext, operation_id: str) -> Operation:
    async with ctx.db.session(ctx.scope) as session:
        return await get_or_404(session, Operation, operation_id, "operation")


async def find_operation(ctx: RequestContext, operation_id: str) -> Operation:
    """The operation as this request first read it (its loader), for checks and reads; NOT_FOUND if missing."""
    operation = await ctx.loaders.operation.load(operation_id)
    if operation is None:
        raise NotFound.of("operation", operation_id)
    return operation


async def logs(ctx: RequestContext, operation_id: str, after: int, limit: int) -> list[OperationLog]:
    query = (
        select(OperationLog)
        .where(OperationLog.operation_id == operation_id, OperationLog.seq > after)
        .order_by(OperationLog.seq)
        .limit(limit)
    )
    async with ctx.db.session(ctx.scope) as session:
        return list((await session.execute(query)).scalars())


async def retry_operation(ctx: RequestContext, operation_id: str) -> Operation:
    """A failed operation goes back in the queue; its finished phases stay done."""
    async with ctx.db.transaction(ctx.scope) as session:
        operation = await get_or_404(session, Operation, operation_id, "operation")
        if operation.status != "failed":
            raise Conflict(f"only a failed operation can be retried; this one is {operation.status}")
        phases = [dict(p) for p in operation.phases]
        for phase in phases:
            if phase["status"] in ("failed", "cancelled", "running"):
                phase.update(status="pending", message=None, startedAt=None, finishedAt=None)
        operation.phases = phases
        operation.status = "queued"
        operation.error = None
        operation.finished_at = None
        operation.cancel_requested = False
        operation.state = {k: v for k, v in operation.state.items() if k != "interruptions"}
        await _reopen_cluster(session, operation)
        audit.record(
            session,
            ctx.actor(),
            "operation.retried",
            tenant_id=operation.tenant_id,
            target_type="operation",
            target_id=operation.id,
        )
    await _announce(ctx, operation, "queued")
    return operation


async def cancel_operation(ctx: RequestContext, operation_id: str) -> Operation:
    """A queued operation is cancelled at once; a running one stops its current phase."""
    async with ctx.db.transaction(ctx.scope) as session:
        operation = await get_or_404(session, Operation, operation_id, "operation")
        if operation.status not in ("queued", "running"):
            raise Conflict(f"only a queued or running operation can be cancelled; this one is {operation.status}")
        if operation.status == "queued":
            operation.status = "cancelled"
            operation.finished_at = utcnow()
            operation.phases = [
                {**p, "status": "cancelled"} if p["status"] == "pending" else p for p in operation.phases
            ]
        else:
            operation.cancel_requested = True
        audit.record(
            session,
            ctx.actor(),
            "operation.cancel_requested" if operation.status == "running" else "operation.cancelled",
            tenant_id=operation.tenant_id,
            target_type="operation",
            target_id=operation.id,
        )
    await _announce(ctx, operation, operation.status)
    return operation


async def _announce(ctx: RequestContext, operation: Operation, status: str) -> None:
    await ctx.services.bus.publish(
        operation_channel(operation.id), {"id": operation.id, "kind": "status", "status": status}
    )
    if status == "queued":
        ctx.services.operations.wake()


async def operation_updates(
    ctx: RequestContext, operation_id: str
) -> AsyncIterator[tuple[str, Operation, list[OperationLog]]]:
    """The operation as it is, then after each change, with the log lines added since; ends with it.

    Bus events only say that something changed (several may coalesce in the mailbox); the state
    and the new log lines are read from the database, so nothing is missed or repeated.
    """
    mailbox = Mailbox(ctx.settings.subscription_queue_size)
    last_seq = 0
    async with ctx.services.bus.listen(operation_channel(operation_id), mailbox.put):
        stream = until_signed_out(ctx, mailbox)
        kind = "snapshot"
        try:
            while True:
                operation = await get_operation(ctx, operation_id)
                lines = await logs(ctx, operation_id, last_seq, 5000)
                last_seq = lines[-1].seq if lines else last_seq
                yield kind, operation, lines
                if operation.status in FINISHED:
                    return
                event = await anext(stream)
                kind = str(event.get("kind") or "status")
        finally:
            await stream.aclose()


async def _reopen_cluster(session: AsyncSession, operation: Operation) -> None:
    """A retried provision or deprovision puts its failed cluster back in progress."""
    resumed = {"provision": "provisioning", "deprovision": "deleting"}.get(operation.type)
    if resumed is None or operation.cluster_id is None:
        return
    cluster = await session.get(Cluster, operation.cluster_id)
    if cluster is not None and cluster.status == "failed":
        cluster.status = resumed

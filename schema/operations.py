"""Operations: durable lifecycle work with phases, progress and logs; retry, cancel, live updates."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import models
from resolvers import operations as resolve
from schema.base import Connection, Node, connection, page_from
from schema.permissions import READS, operation_cluster, requires, requires_on_cluster
from schema.scalars import parse_datetime


@strawberry.type
class OperationPhase:
    name: str
    status: str = strawberry.field(description="pending, running, success, failed or cancelled")
    started_at: datetime | None
    finished_at: datetime | None
    message: str | None

    @classmethod
    def of(cls, phase: dict[str, Any]) -> OperationPhase:
        return cls(
            name=phase["name"],
            status=phase["status"],
            started_at=parse_datetime(phase.get("startedAt")),
            finished_at=parse_datetime(phase.get("finishedAt")),
            message=phase.get("message"),
        )


@strawberry.type
class OperationLogLine:
    seq: int
    phase: str | None
    line: str
    at: datetime

    @classmethod
    def of(cls, row: models.OperationLog) -> OperationLogLine:
        return cls(seq=row.seq, phase=row.phase, line=row.line, at=row.created_at)


@strawberry.type
class Operation(Node):
    id: strawberry.ID
    tenant_id: strawberry.ID
    cluster_id: strawberry.ID | None
    type: str = strawberry.field(description="provision, scale, upgrade, deprovision, drain or remove-node")
    status: str = strawberry.field(description="queued, running, success, failed or cancelled")
    provider: str
    params: JSON
    phases: list[OperationPhase]
    progress: int = strawberry.field(description="0 to 100: the share of phases done")
    error: str | None
    attempts: int
    cancel_requested: bool
    requested_by: strawberry.ID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @strawberry.field(description="The log, append-only, from the line after `after`.")
    async def logs(self, info: Info, after: int = 0, limit: int = 500) -> list[OperationLogLine]:
        rows = await resolve.logs(info.context, str(self.id), after, max(1, min(limit, 5000)))
        return [OperationLogLine.of(r) for r in rows]

    @classmethod
    def from_model(cls, m: models.Operation) -> Operation:
        return cls(
            id=strawberry.ID(m.id),
            tenant_id=strawberry.ID(m.tenant_id or ""),
            cluster_id=strawberry.ID(m.cluster_id) if m.cluster_id else None,
            type=m.type,
            status=m.status,
            provider=m.provider,
            params=cast(JSON, m.params),
            phases=[OperationPhase.of(p) for p in m.phases],
            progress=m.progress,
            error=m.error,
            attempts=m.attempts,
            cancel_requested=m.cancel_requested,
            requested_by=strawberry.ID(m.requested_by) if m.requested_by else None,
            created_at=m.created_at,
            started_at=m.started_at,
            finished_at=m.finished_at,
        )


@strawberry.type(description="A change of an operation: its state now, and the log lines added since the last one.")
class OperationUpdate:
    kind: str = strawberry.field(description="snapshot (the first), status, phase or log")
    operation: Operation
    log_lines: list[OperationLogLine]


WRITES = [requires("clusters:write"), requires_on_cluster("clusters:write", "id", via=operation_cluster)]


@strawberry.type
class OperationQuery:
    @strawberry.field(permission_classes=[requires("clusters:read"), requires_on_cluster("clusters:read")])
    async def operations(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        type: str | None = None,
        status: str | None = None,
        cluster_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> Connection[Operation] | None:
        paging = page_from(first, after, page, page_size)
        rows, total = await resolve.list_operations(
            info.context, str(tenant_id), paging, type, status, str(cluster_id) if cluster_id else None
        )
        return connection([Operation.from_model(r) for r in rows], total, paging)

    @strawberry.field(permission_classes=READS["operation"])
    async def operation(self, info: Info, id: strawberry.ID) -> Operation | None:
        return Operation.from_model(await resolve.find_operation(info.context, str(id)))


@strawberry.type
class OperationMutation:
    @strawberry.mutation(
        permission_classes=WRITES,
        description="Queues a failed operation again; it resumes from the phase that failed.",
    )
    async def retry_operation(self, info: Info, id: strawberry.ID) -> Operation:
        return Operation.from_model(await resolve.retry_operation(info.context, str(id)))

    @strawberry.mutation(
        permission_classes=WRITES,
        description="Cancels a queued operation at once, or stops a running one in its current phase.",
    )
    async def cancel_operation(self, info: Info, id: strawberry.ID) -> Operation:
        return Operation.from_model(await resolve.cancel_operation(info.context, str(id)))


@strawberry.type
class OperationSubscription:
    @strawberry.subscription(
        permission_classes=READS["operation"],
        description="The operation now, then each change of status, phase, progress or log until it ends.",
    )
    async def operation_updates(self, info: Info, id: strawberry.ID) -> AsyncGenerator[OperationUpdate, None]:
        async for kind, operation, lines in resolve.operation_updates(info.context, str(id)):
            yield OperationUpdate(
                kind=kind,
                operation=Operation.from_model(operation),
                log_lines=[OperationLogLine.of(r) for r in lines],
            )

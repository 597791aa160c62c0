from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import models
from resolvers import audit as resolve
from schema.base import Connection, Node, connection, page_from
from schema.permissions import READS
from schema.sorting import SortInput, ordering, sort_keys

ORDERING = ordering(resolve.SORTABLE, "newest first")


@strawberry.type
class AuditEntry(Node):
    id: strawberry.ID
    tenant_id: strawberry.ID | None
    actor_id: strawberry.ID | None
    actor_email: str | None
    impersonator_id: strawberry.ID | None
    action: str
    target_type: str | None
    target_id: str | None
    success: bool
    ip: str
    user_agent: str
    request_id: str
    changes: JSON
    http_method: str | None = strawberry.field(description="The REST call's method (null: not made through REST)")
    http_path: str | None = strawberry.field(description="The REST call's documented path")
    http_status: int | None = strawberry.field(description="The status the REST call answered")
    created_at: datetime

    @classmethod
    def from_model(cls, m: models.AuditLog) -> AuditEntry:
        return cls(
            id=strawberry.ID(m.id),
            tenant_id=_id(m.tenant_id),
            actor_id=_id(m.actor_id),
            actor_email=m.actor_email,
            impersonator_id=_id(m.impersonator_id),
            action=m.action,
            target_type=m.target_type,
            target_id=m.target_id,
            success=m.success,
            ip=m.ip,
            user_agent=m.user_agent,
            request_id=m.request_id,
            changes=cast(JSON, m.changes or {}),
            http_method=m.http_method,
            http_path=m.http_path,
            http_status=m.http_status,
            created_at=m.created_at,
        )


def _id(value: str | None) -> strawberry.ID | None:
    return strawberry.ID(value) if value else None


@strawberry.input
class AuditFilterInput:
    user_id: strawberry.ID | None = None
    action: str | None = strawberry.field(default=None, description="Exact, or with * as a wildcard")
    since: datetime | None = None
    until: datetime | None = None
    tenant_id: strawberry.ID | None = strawberry.field(default=None, description="Provider staff only")
    http_method: str | None = strawberry.field(default=None, description="Actions made through REST with this method")


def _filter(f: AuditFilterInput | None) -> resolve.AuditFilter:
    if f is None:
        return resolve.AuditFilter()
    return resolve.AuditFilter(
        user_id=str(f.user_id) if f.user_id else None,
        action=f.action,
        since=f.since,
        until=f.until,
        tenant_id=str(f.tenant_id) if f.tenant_id else None,
        http_method=f.http_method,
    )


@strawberry.type
class AuditQuery:
    @strawberry.field(permission_classes=READS["audit"])
    async def audit_logs(
        self,
        info: Info,
        filter: AuditFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        order_by: Annotated[list[SortInput] | None, ORDERING] = None,
    ) -> Connection[AuditEntry] | None:
        paging = page_from(first, after, page, page_size)
        rows, total = await resolve.list_audit(info.context, _filter(filter), paging, sort_keys(order_by))
        return connection([AuditEntry.from_model(r) for r in rows], total, paging)

    @strawberry.field(permission_classes=READS["audit"], description="CSV, newest first")
    async def export_audit_logs(self, info: Info, filter: AuditFilterInput | None = None) -> str | None:
        return await resolve.export_csv(info.context, _filter(filter))

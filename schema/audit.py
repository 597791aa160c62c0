from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import models
from resolvers import audit as resolve
from schema.base import Connection, Node, connection, page_from
from schema.permissions import READS
from schema.sorting import SortInput, ordering, sort_keys

ORDERING = ordering(resolve.SORTABLE, "newest first")

if TYPE_CHECKING:
    from schema.tenants import Tenant


@strawberry.type(
    description="Who made an entry: the ID and email it records, and the user's names. Whoever reads the "
    "trail reads these; the rest of a user takes users:read"
)
class AuditActor:
    id: strawberry.ID
    email: str | None
    name: str | None = strawberry.field(description="Null when the user is gone, or is not of the caller's tenant")
    first_name: str | None
    last_name: str | None


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

    @strawberry.field(description="Who acted (null: no user, as for a sign-in with an unknown email)")
    async def actor(self, info: Info) -> AuditActor | None:
        if self.actor_id is None:
            return None
        user = await info.context.loaders.user.load(str(self.actor_id))
        if user is None:
            return AuditActor(id=self.actor_id, email=self.actor_email, name=None, first_name=None, last_name=None)
        return AuditActor(
            id=self.actor_id,
            email=self.actor_email or user.email,
            name=user.name,
            first_name=user.first_name,
            last_name=user.last_name,
        )

    @strawberry.field(description="The tenant the entry is about (null: the provider's own)")
    async def tenant(self, info: Info) -> Annotated[Tenant, strawberry.lazy("schema.tenants")] | None:
        from schema.tenants import Tenant

        if self.tenant_id is None:
            return None
        tenant = await info.context.loaders.tenant.load(str(self.tenant_id))
        return Tenant.from_model(tenant) if tenant else None

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

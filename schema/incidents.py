"""Incidents: firing alerts of one cluster and namespace grouped, with a timeline (resolvers/incidents.py)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.db import alerts as rows
from resolvers import incidents as resolve
from schema.alerts import Alert
from schema.base import Connection, connection, page_from
from schema.permissions import SignedIn, requires, requires_on_cluster

READ = "clusters:read"
ON_INCIDENT_CLUSTER = requires_on_cluster(READ, "id", via=resolve.incident_cluster)


@strawberry.type(description="One line of an incident's timeline")
class IncidentEvent:
    at: datetime
    kind: str = strawberry.field(
        description="alert_pending, alert_firing, alert_resolved, alert_acknowledged, acknowledged or resolved"
    )
    alert_id: strawberry.ID | None
    actor_id: strawberry.ID | None
    note: str

    @classmethod
    def from_model(cls, m: rows.IncidentEvent) -> IncidentEvent:
        return cls(
            at=m.at, kind=m.kind, alert_id=strawberry.ID(m.alert_id) if m.alert_id else None,
            actor_id=strawberry.ID(m.actor_id) if m.actor_id else None, note=m.note,
        )  # fmt: skip


@strawberry.type
class Incident:
    id: strawberry.ID
    tenant_id: strawberry.ID
    cluster_id: strawberry.ID
    namespace: str | None
    title: str
    severity: str
    status: str = strawberry.field(description="open, acknowledged or resolved")
    opened_at: datetime
    last_activity_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: strawberry.ID | None
    resolved_at: datetime | None

    @strawberry.field(description="Its alerts, oldest first")
    async def alerts(self, info: Info) -> list[Alert]:
        return [Alert.from_model(a) for a in await resolve.incident_alerts(info.context, str(self.id))]

    @strawberry.field(description="What happened, in order")
    async def timeline(self, info: Info) -> list[IncidentEvent]:
        return [IncidentEvent.from_model(e) for e in await resolve.timeline(info.context, str(self.id))]

    @classmethod
    def from_model(cls, m: rows.Incident) -> Incident:
        return cls(
            id=strawberry.ID(m.id), tenant_id=strawberry.ID(m.tenant_id or ""), cluster_id=strawberry.ID(m.cluster_id),
            namespace=m.namespace, title=m.title, severity=m.severity, status=m.status, opened_at=m.opened_at,
            last_activity_at=m.last_activity_at, acknowledged_at=m.acknowledged_at,
            acknowledged_by=strawberry.ID(m.acknowledged_by) if m.acknowledged_by else None,
            resolved_at=m.resolved_at,
        )  # fmt: skip


@strawberry.type
class IncidentQuery:
    @strawberry.field(
        permission_classes=[requires(READ), requires_on_cluster(READ)],
        description="The tenant's incidents, the most recently active first.",
    )
    async def incidents(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        status: str | None = None,
        cluster_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> Connection[Incident] | None:
        paging = page_from(first, after, page, page_size)
        cid = str(cluster_id) if cluster_id else None
        found, total = await resolve.list_incidents(info.context, str(tenant_id), status, cid, paging)
        return connection([Incident.from_model(i) for i in found], total, paging)

    @strawberry.field(permission_classes=[requires(READ), ON_INCIDENT_CLUSTER])
    async def incident(self, info: Info, id: strawberry.ID) -> Incident | None:
        return Incident.from_model(await resolve.find_incident(info.context, str(id)))


@strawberry.type
class IncidentMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn, requires_on_cluster("alerts:write", "id", via=resolve.incident_cluster)],
        description="Someone is on it: kept on the incident's timeline and in the audit log.",
    )
    async def acknowledge_incident(self, info: Info, id: strawberry.ID, note: str | None = None) -> Incident:
        return Incident.from_model(await resolve.acknowledge_incident(info.context, str(id), note))

"""Alerts: what fires and resolves on the tenant's clusters, acknowledgements, and the live stream.

Reading needs `clusters:read` (on each alert's cluster); acknowledging needs `alerts:write`,
which operators have. resolvers/alerts.py says where alerts come from.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import alerts as rows
from resolvers import alerts as resolve
from schema.base import Connection, connection, page_from
from schema.permissions import SignedIn, requires, requires_on_cluster

READ = requires(resolve.READ)
ON_ALERT_CLUSTER = requires_on_cluster(resolve.READ, "id", via=resolve.alert_cluster)


@strawberry.type(description="The Kubernetes object an alert is about.")
class AlertObject:
    kind: str
    namespace: str | None
    name: str


@strawberry.type(description="One episode of a rule holding for one object: pending, then firing, then resolved.")
class Alert:
    id: strawberry.ID
    tenant_id: strawberry.ID
    cluster_id: strawberry.ID
    rule: str = strawberry.field(description="A built-in rule's code (PodCrashLooping, ...) or a tenant rule's ID")
    name: str
    fingerprint: str = strawberry.field(description="The same rule and labels always give the same fingerprint")
    severity: str = strawberry.field(description="critical, warning or info")
    state: str = strawberry.field(description="pending, firing or resolved (dropped, in a DROPPED event only)")
    summary: str
    runbook: str = strawberry.field(description="What it means, how to check, how to fix")
    object: AlertObject
    topology_node_id: str = strawberry.field(description="Its object's node in the cluster's topology graph")
    labels: JSON
    value: float | None
    inhibited: bool = strawberry.field(description="Held back while its cluster is disconnected")
    active_since: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: strawberry.ID | None
    acknowledgement_note: str
    incident_id: strawberry.ID | None
    updated_at: datetime

    @classmethod
    def from_model(cls, m: rows.Alert) -> Alert:
        return cls(
            id=strawberry.ID(m.id), tenant_id=strawberry.ID(m.tenant_id or ""), cluster_id=strawberry.ID(m.cluster_id),
            rule=m.rule, name=m.name, fingerprint=m.fingerprint, severity=m.severity, state=m.state,
            summary=m.summary, runbook=m.runbook,
            object=AlertObject(kind=m.object_kind, namespace=m.object_namespace, name=m.object_name),
            topology_node_id=m.topology_node_id, labels=cast(JSON, m.labels or {}), value=m.value,
            inhibited=m.inhibited, active_since=m.active_since, fired_at=m.fired_at, resolved_at=m.resolved_at,
            acknowledged_at=m.acknowledged_at,
            acknowledged_by=strawberry.ID(m.acknowledged_by) if m.acknowledged_by else None,
            acknowledgement_note=m.acknowledgement_note,
            incident_id=strawberry.ID(m.incident_id) if m.incident_id else None, updated_at=m.updated_at,
        )  # fmt: skip


@strawberry.type(description="A change of one alert, as it happens.")
class AlertEvent:
    type: str = strawberry.field(
        description="PENDING, FIRING, RESOLVED, ACKNOWLEDGED, UPDATED (held back or let through, a new value) or "
        "DROPPED (a pending alert whose rule stopped holding before its `for`: it is gone)"
    )
    alert: Alert


@strawberry.type
class AlertQuery:
    @strawberry.field(
        permission_classes=[READ, requires_on_cluster(resolve.READ)],
        description="The tenant's alerts (of the clusters the caller may read), the most recently changed first: "
        "in any of `states` (pending, firing, resolved), acknowledged or not.",
    )
    async def alerts(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        states: list[str] | None = None,
        severity: str | None = None,
        cluster_id: strawberry.ID | None = None,
        namespace: str | None = None,
        acknowledged: bool | None = None,
        include_inhibited: bool = True,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> Connection[Alert] | None:
        paging = page_from(first, after, page, page_size)
        wanted = resolve.AlertFilter(tuple(states or ()), severity, str(cluster_id) if cluster_id else None,
                                     namespace, acknowledged, include_inhibited)  # fmt: skip
        found, total = await resolve.list_alerts(info.context, str(tenant_id), wanted, paging)
        return connection([Alert.from_model(a) for a in found], total, paging)

    @strawberry.field(permission_classes=[READ, ON_ALERT_CLUSTER])
    async def alert(self, info: Info, id: strawberry.ID) -> Alert | None:
        return Alert.from_model(await resolve.find_alert(info.context, str(id)))


@strawberry.type
class AlertMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn, requires_on_cluster(resolve.WRITE, "id", via=resolve.alert_cluster)],
        description="Says someone is on it: who, when and the note are kept on the alert and in the audit log.",
    )
    async def acknowledge_alert(self, info: Info, id: strawberry.ID, note: str | None = None) -> Alert:
        return Alert.from_model(await resolve.acknowledge(info.context, str(id), note))


@strawberry.type
class AlertSubscription:
    @strawberry.subscription(
        permission_classes=[SignedIn, READ, requires_on_cluster(resolve.READ)],
        description="Each change of the tenant's alerts (of one cluster, or of every cluster the caller may read).",
    )
    async def alerts(
        self, info: Info, tenant_id: strawberry.ID, cluster_id: strawberry.ID | None = None
    ) -> AsyncGenerator[AlertEvent, None]:
        stream = resolve.alert_stream(info.context, str(tenant_id), str(cluster_id) if cluster_id else None)
        async for kind, alert in stream:
            yield AlertEvent(type=kind, alert=Alert.from_model(alert))


"""A tenant's own alert rules (metric thresholds) and webhook receivers: tenant-admin work (`alerts:admin`)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.db import alerts as rows
from resolvers import alert_receivers as receivers
from resolvers import alert_rules as resolve
from schema.common import Done
from schema.permissions import requires, requires_on_cluster

ADMIN = requires(resolve.ADMIN)


@strawberry.type(description="Fires for each series of `query` whose value compares with `threshold` for `forSeconds`.")
class AlertRule:
    id: strawberry.ID
    tenant_id: strawberry.ID
    cluster_id: strawberry.ID | None = strawberry.field(description="One cluster, or every cluster when null")
    name: str
    query: str
    comparison: str
    threshold: float
    for_seconds: int
    severity: str
    summary: str
    runbook: str
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, m: rows.AlertRule) -> AlertRule:
        return cls(
            id=strawberry.ID(m.id), tenant_id=strawberry.ID(m.tenant_id or ""),
            cluster_id=strawberry.ID(m.cluster_id) if m.cluster_id else None, name=m.name, query=m.query,
            comparison=m.comparison, threshold=m.threshold, for_seconds=m.for_seconds, severity=m.severity,
            summary=m.summary, runbook=m.runbook, enabled=m.enabled, created_at=m.created_at, updated_at=m.updated_at,
        )  # fmt: skip


@strawberry.input
class AlertRuleInput:
    name: str
    query: str
    comparison: str = strawberry.field(description="> >= < or <=")
    threshold: float
    for_seconds: int = 0
    severity: str = "warning"
    summary: str = ""
    runbook: str = ""
    cluster_id: strawberry.ID | None = None
    enabled: bool = True


@strawberry.input
class UpdateAlertRuleInput:
    name: str | None = None
    query: str | None = None
    comparison: str | None = None
    threshold: float | None = None
    for_seconds: int | None = None
    severity: str | None = None
    summary: str | None = None
    runbook: str | None = None
    cluster_id: strawberry.ID | None = None
    enabled: bool | None = None


@strawberry.type(description="One alert change sent to a receiver")
class AlertDelivery:
    id: strawberry.ID
    alert_id: strawberry.ID
    alert_status: str
    status: str = strawberry.field(description="pending, delivered or failed")
    attempts: int
    response_status: int | None
    error: str
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_model(cls, m: rows.AlertDelivery) -> AlertDelivery:
        return cls(
            id=strawberry.ID(m.id), alert_id=strawberry.ID(m.alert_id), alert_status=m.alert_status, status=m.status,
            attempts=m.attempts, response_status=m.response_status, error=m.error, created_at=m.created_at,
            delivered_at=m.delivered_at,
        )  # fmt: skip


@strawberry.type(description="A webhook alerts are posted to in Alertmanager's format, signed (X-Fleetgraph-Signature)")
class AlertReceiver:
    id: strawberry.ID
    tenant_id: strawberry.ID
    name: str
    url: str
    min_severity: str
    enabled: bool
    created_at: datetime

    @strawberry.field(permission_classes=[ADMIN], description="The latest deliveries, newest first")
    async def deliveries(self, info: Info) -> list[AlertDelivery]:
        return [AlertDelivery.from_model(d) for d in await receivers.recent_deliveries(info.context, str(self.id))]

    @classmethod
    def from_model(cls, m: rows.AlertReceiver) -> AlertReceiver:
        return cls(
            id=strawberry.ID(m.id), tenant_id=strawberry.ID(m.tenant_id or ""), name=m.name, url=m.url,
            min_severity=m.min_severity, enabled=m.enabled, created_at=m.created_at,
        )  # fmt: skip


@strawberry.input
class AlertReceiverInput:
    name: str
    url: str
    min_severity: str = "info"
    enabled: bool = True


@strawberry.type(description="A receiver, and its signing secret: shown this once")
class CreatedAlertReceiver:
    receiver: AlertReceiver
    signing_secret: str


@strawberry.type
class AlertRuleQuery:
    @strawberry.field(permission_classes=[requires("clusters:read")])
    async def alert_rules(self, info: Info, tenant_id: strawberry.ID) -> list[AlertRule] | None:
        return [AlertRule.from_model(r) for r in await resolve.list_rules(info.context, str(tenant_id))]

    @strawberry.field(permission_classes=[ADMIN])
    async def alert_receivers(self, info: Info, tenant_id: strawberry.ID) -> list[AlertReceiver] | None:
        return [AlertReceiver.from_model(r) for r in await receivers.list_receivers(info.context, str(tenant_id))]


@strawberry.type
class AlertRuleMutation:
    @strawberry.mutation(permission_classes=[ADMIN, requires_on_cluster("clusters:read", "input.cluster_id")])
    async def create_alert_rule(self, info: Info, tenant_id: strawberry.ID, input: AlertRuleInput) -> AlertRule:
        return AlertRule.from_model(await resolve.create_rule(info.context, str(tenant_id), vars(input)))

    @strawberry.mutation(permission_classes=[ADMIN, requires_on_cluster("clusters:read", "input.cluster_id")])
    async def update_alert_rule(self, info: Info, id: strawberry.ID, input: UpdateAlertRuleInput) -> AlertRule:
        return AlertRule.from_model(await resolve.update_rule(info.context, str(id), vars(input)))

    @strawberry.mutation(permission_classes=[ADMIN])
    async def delete_alert_rule(self, info: Info, id: strawberry.ID) -> Done:
        await resolve.delete_rule(info.context, str(id))
        return Done(ok=True)

    @strawberry.mutation(permission_classes=[ADMIN])
    async def create_alert_receiver(
        self, info: Info, tenant_id: strawberry.ID, input: AlertReceiverInput
    ) -> CreatedAlertReceiver:
        made = await receivers.create_receiver(info.context, str(tenant_id), vars(input))
        return CreatedAlertReceiver(receiver=AlertReceiver.from_model(made.receiver), signing_secret=made.secret)

    @strawberry.mutation(permission_classes=[ADMIN])
    async def delete_alert_receiver(self, info: Info, id: strawberry.ID) -> Done:
        await receivers.delete_receiver(info.context, str(id))
        return Done(ok=True)

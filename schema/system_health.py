"""`systemHealth(tenantId)`: what a tenant's members (and the provider's staff) see of the system's
health, every check made at the time of asking. resolvers/system_health.py says what each measures."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app import probes
from resolvers import system_health as resolve
from schema.permissions import requires

STATUSES = "ok, degraded or down"


@strawberry.type(description="The database: a statement answered, and how long it took")
class DatabaseHealth:
    status: str = strawberry.field(description=f"{STATUSES}: down when `SELECT 1` is not answered")
    latency_ms: float | None = strawberry.field(description="The statement's round trip, in milliseconds")
    error: str | None

    @classmethod
    def of(cls, probe: probes.Probe) -> DatabaseHealth:
        return cls(status=probe.status, latency_ms=probe.latency_ms, error=probe.error)


@strawberry.type(description="The realtime bus: a message published and received back by a subscriber")
class BusHealth:
    status: str = strawberry.field(
        description=f"{STATUSES}: down when the message does not come back within {probes.BUS_TIMEOUT:g}s"
    )
    backend: str = strawberry.field(description="memory, redis or postgres")
    latency_ms: float | None = strawberry.field(description="From publishing to receiving, in milliseconds")
    error: str | None

    @classmethod
    def of(cls, probe: probes.Probe) -> BusHealth:
        backend = str(probe.facts.get("backend", ""))
        return cls(status=probe.status, backend=backend, latency_ms=probe.latency_ms, error=probe.error)


@strawberry.type(description="The operation runners and the tenant's operations waiting for them")
class OperationRunnerHealth:
    status: str = strawberry.field(
        description=f"{STATUSES}: down when operations are queued and no runner is alive; degraded when one "
        f"has waited over {resolve.STALE_QUEUE_SECONDS:g}s"
    )
    workers: int = strawberry.field(description="Runner workers alive in the process that answered")
    active_runners: int = strawberry.field(description="Runners holding a live claim anywhere in the deployment")
    queued: int = strawberry.field(description="The tenant's operations waiting for a runner")
    running: int = strawberry.field(description="The tenant's operations being run")
    oldest_queued_seconds: float | None = strawberry.field(description="How long the oldest queued one has waited")
    error: str | None

    @classmethod
    def of(cls, r: resolve.RunnerHealth) -> OperationRunnerHealth:
        return cls(
            status=r.status, workers=r.workers, active_runners=r.runners, queued=r.queued, running=r.running,
            oldest_queued_seconds=r.oldest_queued_seconds, error=r.error,
        )  # fmt: skip


@strawberry.type(description="One cluster's connection and circuit breaker")
class ClusterHealthCheck:
    cluster_id: strawberry.ID
    name: str
    status: str = strawberry.field(
        description=f"{STATUSES}: the worse of the connection (connected ok; degraded or being provisioned "
        "degraded; disconnected or failed down) and the circuit (closed ok, half-open degraded, open down)"
    )
    connection: str = strawberry.field(description="The cluster's status as its health checks last recorded it")
    circuit: str | None = strawberry.field(
        description="closed, open or half-open in the process that answered; null when it has no client for the "
        "cluster yet"
    )
    last_checked_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, c: resolve.ClusterCheck) -> ClusterHealthCheck:
        return cls(
            cluster_id=strawberry.ID(c.cluster_id), name=c.name, status=c.status, connection=c.connection,
            circuit=c.circuit, last_checked_at=c.last_checked_at, last_error=c.last_error,
        )  # fmt: skip


@strawberry.type(description="How far alert-rule evaluation lags behind the clusters' state")
class RuleEvaluationHealth:
    status: str = strawberry.field(
        description="ok, degraded (a change waited 30 s or more), down (120 s or more, or the evaluator stopped), "
        "or not_configured: this replica evaluates no rules, and the check weighs nothing"
    )
    lag_seconds: float | None = strawberry.field(
        description="How long the oldest change not yet evaluated has waited; null when not evaluated here"
    )
    message: str


@strawberry.type(description="Each check of the system's health")
class SystemHealthDetails:
    database: DatabaseHealth
    bus: BusHealth
    operations: OperationRunnerHealth
    clusters: list[ClusterHealthCheck] = strawberry.field(description="The tenant's clusters the caller may read")
    rule_evaluation: RuleEvaluationHealth


@strawberry.type(description="The system's health as a tenant sees it, checked at the time of asking")
class SystemHealth:
    status: str = strawberry.field(description=f"{STATUSES}: the worst of the checks")
    checked_at: datetime
    details: SystemHealthDetails

    @classmethod
    def of(cls, h: resolve.SystemHealth) -> SystemHealth:
        rules = h.rule_evaluation
        details = SystemHealthDetails(
            database=DatabaseHealth.of(h.database),
            bus=BusHealth.of(h.bus),
            operations=OperationRunnerHealth.of(h.operations),
            clusters=[ClusterHealthCheck.of(c) for c in h.clusters],
            rule_evaluation=RuleEvaluationHealth(
                status=rules.status, lag_seconds=rules.lag_seconds, message=rules.message
            ),
        )
        return cls(status=h.status, checked_at=h.checked_at, details=details)


@strawberry.type
class SystemHealthQuery:
    @strawberry.field(
        permission_classes=[requires("clusters:read")],
        description="The system's health for a tenant: database, bus, operation runners, each of its clusters' "
        "connection and circuit, and rule evaluation, each checked now",
    )
    async def system_health(self, info: Info, tenant_id: strawberry.ID) -> SystemHealth | None:
        return SystemHealth.of(await resolve.system_health(info.context, str(tenant_id)))

"""A tenant's view of the system's health: the database, the bus, the operation runners, each of
its clusters and rule evaluation, each checked now. Statuses are ok < degraded < down; the
report's status is the worst of them. A check of something this deployment does not do is
`not_configured` and weighs nothing.

- database: `SELECT 1` answered (down otherwise), with the round trip's latency.
- bus: a message published on a channel of its own comes back to a subscriber within
  `probes.BUS_TIMEOUT` seconds (down otherwise).
- operations: the tenant's queued and running operations, the oldest queued one's age, the
  worker tasks alive in this process and the runners holding a live claim anywhere in the
  deployment. Down when operations are queued and no runner is alive to take them; degraded when
  one has waited longer than `STALE_QUEUE_SECONDS`.
- clusters: each readable cluster's connection status as the cluster health loop last recorded
  it and its circuit breaker in this process: connected and closed is ok; degraded, still being
  provisioned or half-open is degraded; disconnected, failed or open is down.
- rule evaluation: how long the oldest change (a watch event, a sample, a connection status) has
  waited for this replica's evaluator: ok under `LAG_DEGRADED` seconds, degraded under `LAG_DOWN`,
  down beyond or when the evaluator has stopped; `not_configured` where this replica evaluates
  no rules (`FLEETGRAPH_ALERT_EVALUATION=false`). Each cluster is evaluated by the replica that
  owns its watches, so the lag is that of the clusters evaluated here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app import probes
from app.context import RequestContext
from app.db.models import Cluster, Operation, Tenant
from app.db.types import utcnow
from resolvers.cluster_access import may_on_cluster
from resolvers.common import get_or_404
from resolvers.fleet import tenant_clusters

NOT_CONFIGURED = "not_configured"
STALE_QUEUE_SECONDS = 60.0
CIRCUITS = {"closed": "closed", "opened": "open", "half-opened": "half-open"}
CLUSTER_STATUS = {
    "connected": probes.OK,
    "degraded": probes.DEGRADED,
    "pending": probes.DEGRADED,
    "provisioning": probes.DEGRADED,
    "deleting": probes.DEGRADED,
    "disconnected": probes.DOWN,
    "failed": probes.DOWN,
}
CIRCUIT_STATUS = {"closed": probes.OK, "half-open": probes.DEGRADED, "open": probes.DOWN}


@dataclass(frozen=True)
class RunnerHealth:
    status: str
    workers: int
    runners: int
    queued: int
    running: int
    oldest_queued_seconds: float | None
    error: str | None = None


@dataclass(frozen=True)
class ClusterCheck:
    cluster_id: str
    name: str
    status: str
    connection: str
    circuit: str | None
    last_checked_at: datetime | None
    last_error: str | None


LAG_DEGRADED = 30.0
LAG_DOWN = 120.0


@dataclass(frozen=True)
class RuleEvaluation:
    status: str = NOT_CONFIGURED
    lag_seconds: float | None = None
    message: str = "this replica evaluates no alert rules (FLEETGRAPH_ALERT_EVALUATION is false)"


@dataclass(frozen=True)
class SystemHealth:
    status: str
    checked_at: datetime
    database: probes.Probe
    bus: probes.Probe
    operations: RunnerHealth
    clusters: list[ClusterCheck]
    rule_evaluation: RuleEvaluation = field(default_factory=RuleEvaluation)


async def system_health(ctx: RequestContext, tenant_id: str) -> SystemHealth:
    async with ctx.db.session(ctx.scope) as session:
        await get_or_404(session, Tenant, tenant_id, "tenant")
    database, bus, operations, clusters = await asyncio.gather(
        probes.database(ctx.db),
        probes.bus(ctx.services.bus),
        runner_health(ctx, tenant_id),
        cluster_checks(ctx, tenant_id),
    )
    rules = rule_evaluation(ctx, {c.cluster_id for c in clusters})
    statuses = [database.status, bus.status, operations.status, *(c.status for c in clusters), rules.status]
    return SystemHealth(probes.worst(statuses), utcnow(), database, bus, operations, clusters, rules)


def rule_evaluation(ctx: RequestContext, tenant_clusters: set[str]) -> RuleEvaluation:
    """The evaluator's lag; the count of clusters it evaluates is of the tenant's (readable) ones."""
    evaluator = ctx.services.alerts
    if not ctx.settings.alert_evaluation:
        return RuleEvaluation()
    if not evaluator.running:
        return RuleEvaluation(probes.DOWN, None, "the rule evaluator of this replica has stopped")
    lag = round(evaluator.lag_seconds(), 3)
    status = probes.OK if lag < LAG_DEGRADED else probes.DEGRADED if lag < LAG_DOWN else probes.DOWN
    here = len(tenant_clusters.intersection(evaluator.evaluating()))
    message = f"{here} of your cluster(s) evaluated by this replica; the oldest change waiting for evaluation"
    return RuleEvaluation(status, lag, f"{message} is {lag:.1f}s old")


async def runner_health(ctx: RequestContext, tenant_id: str) -> RunnerHealth:
    workers = ctx.services.operations.live_workers()
    now = utcnow()
    try:
        async with ctx.db.session(ctx.scope) as session:
            own = select(Operation.status, func.count(), func.min(Operation.created_at)).where(
                Operation.tenant_id == tenant_id, Operation.status.in_(("queued", "running"))
            )
            counts = {row[0]: (int(row[1]), row[2]) for row in await session.execute(own.group_by(Operation.status))}
        async with ctx.db.session() as session:  # which runners are alive is the deployment's, not a tenant's
            claimed = select(func.count(func.distinct(Operation.claimed_by))).where(
                Operation.status == "running", Operation.lease_expires_at > now
            )
            runners = int((await session.execute(claimed)).scalar() or 0)
    except Exception as exc:
        return RunnerHealth(probes.DOWN, workers, 0, 0, 0, None, f"{type(exc).__name__}: {exc}"[:300])
    queued, oldest = counts.get("queued", (0, None))
    running = counts.get("running", (0, None))[0]
    waited = (now - oldest.replace(tzinfo=now.tzinfo)).total_seconds() if oldest is not None else None
    status, error = probes.OK, None
    if queued and not workers and not runners:
        status, error = probes.DOWN, f"{queued} operation(s) queued and no runner is alive to take them"
    elif waited is not None and waited > STALE_QUEUE_SECONDS:
        status, error = probes.DEGRADED, f"the oldest queued operation has waited {waited:.0f}s"
    return RunnerHealth(status, workers, runners, queued, running, waited, error)


async def cluster_checks(ctx: RequestContext, tenant_id: str) -> list[ClusterCheck]:
    clusters = [c for c in await tenant_clusters(ctx, tenant_id) if await may_on_cluster(ctx, c.id, "clusters:read")]
    return list(await asyncio.gather(*(cluster_check(ctx, c) for c in clusters)))


async def cluster_check(ctx: RequestContext, cluster: Cluster) -> ClusterCheck:
    client = ctx.services.gateway.clients().get(cluster.id)
    circuit = CIRCUITS.get(await client.circuit_state(), "open") if client is not None else None
    statuses = [CLUSTER_STATUS.get(cluster.status, probes.DEGRADED)]
    if circuit is not None:
        statuses.append(CIRCUIT_STATUS[circuit])
    return ClusterCheck(
        cluster.id, cluster.name, probes.worst(statuses), cluster.status, circuit, cluster.last_checked_at,
        cluster.last_error,
    )  # fmt: skip

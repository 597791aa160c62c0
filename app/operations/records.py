"""What operations change in the cluster's own records: status, connection, version, node pools."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import audit
from app.db.models import Cluster, NodePool
from app.db.types import utcnow
from app.k8s.kubeconfig import parse_kubeconfig
from app.operations.provider import PhaseContext, PhaseFailed
from app.operations.store import system_actor


async def set_status(ctx: PhaseContext, status: str, **values: Any) -> Cluster:
    async with ctx.db.transaction() as session:
        cluster = await session.get(Cluster, ctx.cluster_id)
        if cluster is None:
            raise PhaseFailed("the cluster record no longer exists")
        old = cluster.status
        cluster.status = status
        for key, value in values.items():
            setattr(cluster, key, value)
        if old != status:
            audit.record(
                session,
                system_actor(ctx.tenant_id, ctx.operation_id),
                "cluster.status_changed",
                tenant_id=ctx.tenant_id,
                target_type="cluster",
                target_id=cluster.id,
                changes={"status": [old, status], "operation": ctx.operation_id},
            )
    return cluster


async def connect(ctx: PhaseContext, kubeconfig: str, version: str) -> Cluster:
    """Stores the new cluster's kubeconfig (encrypted) and marks it connected."""
    config = parse_kubeconfig(kubeconfig)
    connection = config.connection(None)
    now = utcnow()
    cluster = await set_status(
        ctx,
        "connected",
        server_url=connection.server,
        context=config.current_context,
        connection_sealed=ctx.sealer.seal(connection.to_json()),
        kubeconfig_sealed=ctx.sealer.seal(kubeconfig),
        version=version,
        last_connected_at=now,
        last_checked_at=now,
        last_error=None,
    )
    await ctx.gateway.unregister(cluster.id)  # a reprovisioned cluster gets a fresh client
    return cluster


async def pools(ctx: PhaseContext) -> list[NodePool]:
    async with ctx.db.session() as session:
        query = select(NodePool).where(NodePool.cluster_id == ctx.cluster_id).order_by(NodePool.name)
        return list((await session.execute(query)).scalars())


async def set_pool_counts(ctx: PhaseContext, counts: dict[str, int]) -> None:
    async with ctx.db.transaction() as session:
        query = select(NodePool).where(NodePool.cluster_id == ctx.cluster_id)
        for pool in (await session.execute(query)).scalars():
            if pool.name in counts:
                pool.node_count = counts[pool.name]

"""Fleet-wide reads: one answer across every cluster of a tenant, partial when some fail."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.context import RequestContext
from app.db.models import Cluster
from app.errors import AppError
from resolvers import kube
from resolvers.cluster_access import may_on_cluster

Obj = dict[str, Any]


@dataclass
class ClusterFailure:
    cluster_id: str
    cluster_name: str
    code: str
    message: str


@dataclass
class FleetRead:
    """Objects per cluster (cluster ID → objects) and one failure entry per cluster that failed."""

    objects: dict[str, list[Obj]] = field(default_factory=dict)
    failures: list[ClusterFailure] = field(default_factory=list)


async def tenant_clusters(ctx: RequestContext, tenant_id: str) -> list[Cluster]:
    async with ctx.db.session(ctx.scope) as session:
        live = (Cluster.tenant_id == tenant_id, Cluster.deleted_at.is_(None), Cluster.connection_sealed != "")
        query = select(Cluster).where(*live).order_by(Cluster.name)
        return list((await session.execute(query)).scalars())


async def read_fleet(
    ctx: RequestContext, tenant_id: str, kinds: tuple[str, ...], pick: Callable[[list[Obj]], list[Obj]]
) -> FleetRead:
    """Every readable cluster's objects of `kinds`, each cluster read concurrently."""
    clusters = await tenant_clusters(ctx, tenant_id)
    result = FleetRead()

    async def one(cluster: Cluster) -> None:
        if not await may_on_cluster(ctx, cluster.id, "clusters:read"):
            return  # a per-cluster role without read access hides the cluster
        try:
            found: list[Obj] = []
            for kind in kinds:
                found += pick(await kube.items(ctx, cluster.id, kind))
            result.objects[cluster.id] = found
        except AppError as exc:
            result.failures.append(ClusterFailure(cluster.id, cluster.name, exc.code, exc.message))

    await asyncio.gather(*(one(c) for c in clusters))
    result.failures.sort(key=lambda f: f.cluster_name)
    return result

"""Fleet-wide reads: one answer across every cluster of a tenant, partial when some fail.

A cluster that cannot answer is one failure entry; an object field that cannot be read is noted
in its cluster's `Notes` (app/k8s/reading.py), and the rest of that cluster's objects are served.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.context import RequestContext
from app.db.models import Cluster
from app.errors import AppError
from app.k8s.reading import Notes
from resolvers import kube
from resolvers.cluster_access import may_on_cluster

Obj = dict[str, Any]
Pick = Callable[[str, list[Obj], Notes], list[Obj]]
"""(kind, the cluster's objects of that kind, the cluster's notes) → the objects kept."""


@dataclass
class ClusterFailure:
    cluster_id: str
    cluster_name: str
    code: str
    message: str


@dataclass
class FleetRead:
    """Objects per cluster (cluster ID → (kind, object)), ordered by cluster name; the notes and name
    of each cluster that answered, and one failure entry per cluster that failed."""

    objects: dict[str, list[tuple[str, Obj]]] = field(default_factory=dict)
    notes: dict[str, Notes] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    failures: list[ClusterFailure] = field(default_factory=list)


async def tenant_clusters(ctx: RequestContext, tenant_id: str) -> list[Cluster]:
    async with ctx.db.session(ctx.scope) as session:
        live = (Cluster.tenant_id == tenant_id, Cluster.deleted_at.is_(None), Cluster.connection_sealed != "")
        query = select(Cluster).where(*live).order_by(Cluster.name)
        return list((await session.execute(query)).scalars())


async def read_fleet(ctx: RequestContext, tenant_id: str, kinds: tuple[str, ...], pick: Pick) -> FleetRead:
    """Every readable cluster's objects of `kinds`, each cluster read concurrently."""
    clusters = await tenant_clusters(ctx, tenant_id)
    answered: dict[str, list[tuple[str, Obj]]] = {}
    result = FleetRead()

    async def one(cluster: Cluster) -> None:
        if not await may_on_cluster(ctx, cluster.id, "clusters:read"):
            return  # a per-cluster role without read access hides the cluster
        notes = Notes()
        try:
            found: list[tuple[str, Obj]] = []
            for kind in kinds:
                found += [(kind, o) for o in pick(kind, await kube.items(ctx, cluster.id, kind), notes)]
        except AppError as exc:
            result.failures.append(ClusterFailure(cluster.id, cluster.name, exc.code, exc.message))
            return
        answered[cluster.id] = found
        result.notes[cluster.id], result.names[cluster.id] = notes, cluster.name

    await asyncio.gather(*(one(c) for c in clusters))
    result.objects = {c.id: answered[c.id] for c in clusters if c.id in answered}
    result.failures.sort(key=lambda f: f.cluster_name)
    return result

"""Node maintenance through the cluster's own API: cordon, evict (honouring disruption budgets), delete."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

from app.db.models import Cluster, NodePool
from app.errors import AppError, NotFound
from app.k8s import names
from app.k8s.client import ClusterClient
from app.operations.provider import PhaseContext, PhaseFailed
from loaders.clusters import ensure_registered

EVICTION_RETRY_SECONDS = 1.0
DAEMONSET_OWNER = "DaemonSet"


async def client_for(ctx: PhaseContext) -> ClusterClient:
    async with ctx.db.session() as session:
        cluster = await session.get(Cluster, ctx.cluster_id)
    if cluster is None or not cluster.connection_sealed:
        raise PhaseFailed("the cluster has no connection yet")
    ensure_registered(ctx.gateway, ctx.sealer, cluster)
    return ctx.gateway.client(cluster.id)


async def cordon(ctx: PhaseContext, node: str) -> None:
    client = await client_for(ctx)
    try:
        await client.patch("Node", None, node, {"spec": {"unschedulable": True}}, identity=None)
    except NotFound as exc:
        raise PhaseFailed(f"node {node} does not exist") from exc
    except AppError as exc:
        raise PhaseFailed(f"could not cordon {node}: {exc.message}") from exc
    await ctx.log(f"node {node} cordoned")


def _evictable(pod: dict[str, Any]) -> bool:
    owners = pod.get("metadata", {}).get("ownerReferences") or []
    if any(o.get("kind") == DAEMONSET_OWNER for o in owners):
        return False  # kubectl drain --ignore-daemonsets: the DaemonSet would recreate it at once
    annotations = pod.get("metadata", {}).get("annotations") or {}
    return "kubernetes.io/config.mirror" not in annotations


async def evict_pods(ctx: PhaseContext, node: str, within: float) -> int:
    """Evicts every evictable pod of `node`; retries those a disruption budget holds back."""
    client = await client_for(ctx)
    deadline = time.monotonic() + within
    evicted = 0
    while True:
        pods = (await client.list("Pod", None, field_selector=f"spec.nodeName={node}", identity=None)).items
        pending = [p for p in pods if _evictable(p) and not p["metadata"].get("deletionTimestamp")]
        if not pending:
            await ctx.log(f"node {node} drained: {evicted} pods evicted")
            return evicted
        blocked = []
        for pod in pending:
            meta = pod["metadata"]
            body = {
                "apiVersion": "policy/v1",
                "kind": "Eviction",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            }
            try:
                await client.create_subresource("Pod", meta["namespace"], meta["name"], "eviction", body, identity=None)
                evicted += 1
                await ctx.log(f"evicted pod {meta['namespace']}/{meta['name']}")
            except NotFound:
                continue
            except AppError as exc:
                blocked.append(f"{meta['namespace']}/{meta['name']} ({exc.message})")
        if blocked and time.monotonic() > deadline:
            raise PhaseFailed(f"could not evict {len(blocked)} pods before the timeout: {'; '.join(blocked[:5])}")
        if blocked:
            await ctx.log(f"waiting for disruption budgets: {len(blocked)} pods held back")
        await asyncio.sleep(EVICTION_RETRY_SECONDS if blocked else 0.2)


async def delete_node(ctx: PhaseContext, node: str) -> None:
    client = await client_for(ctx)
    try:
        await client.delete("Node", None, node, identity=None)
    except NotFound:
        pass
    except AppError as exc:
        raise PhaseFailed(f"could not delete node {node}: {exc.message}") from exc
    await ctx.log(f"node {node} deleted")


class NodeMaintenance:
    """The `kubernetes` provider: drain and remove nodes of any cluster through its own API."""

    name = "kubernetes"
    PHASES = {"drain": ["cordon", "evict-pods"], "remove-node": ["cordon", "evict-pods", "delete-node", "record"]}

    def phases(self, operation_type: str, params: dict[str, Any]) -> list[str]:
        return list(self.PHASES[operation_type])

    async def run_phase(self, phase: str, ctx: PhaseContext) -> None:
        node = str(ctx.params["node"])
        problem = names.problem(node, names.rule_for("Node"))
        if problem is not None:  # it also goes into a field selector: no ',' or '=' may slip in
            raise PhaseFailed(f"the node name {node!r} {problem}")
        if phase == "cordon":
            await cordon(ctx, node)
        elif phase == "evict-pods":
            await evict_pods(ctx, node, within=float(ctx.params.get("timeout", 120)))
        elif phase == "delete-node":
            await delete_node(ctx, node)
        elif phase == "record" and ctx.params.get("pool"):
            await _shrink_pool(ctx, str(ctx.params["pool"]))


async def _shrink_pool(ctx: PhaseContext, pool_name: str) -> None:
    async with ctx.db.transaction() as session:
        query = select(NodePool).where(NodePool.cluster_id == ctx.cluster_id, NodePool.name == pool_name)
        pool = (await session.execute(query)).scalar_one_or_none()
        if pool is not None and pool.node_count > 0:
            pool.node_count -= 1
            await ctx.log(f"node pool {pool_name} now has {pool.node_count} nodes")

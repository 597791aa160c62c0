"""Node pools as the nodes show them: grouped by the pool label their provider sets (pure functions).

A registered cluster's pools are known only from its nodes: GKE, EKS, AKS, Karpenter and the
simulator each label a node with its pool's name. A cluster created here has its pools stored;
the nodes then say how many of each are there and ready now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.context import RequestContext
from app.db.models import NodePool
from app.errors import AppError
from app.k8s.reading import Notes, Reader
from resolvers import kube, lifecycle
from resolvers.workloads import node_ready

POOL_LABELS = (
    "node.kubernetes.io/pool",
    "cloud.google.com/gke-nodepool",
    "eks.amazonaws.com/nodegroup",
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "karpenter.sh/nodepool",
    "kubesim.io/node-pool",
    "fleetgraph.io/node-pool",
)
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
DEFAULT_POOL = "default"
PER_NODE_LABELS = frozenset({"kubernetes.io/hostname"})


def pool_of(labels: Mapping[str, Any]) -> str | None:
    """The pool a node's labels name, by the first pool label it carries."""
    return next((str(labels[k]) for k in POOL_LABELS if labels.get(k)), None)


@dataclass
class LivePool:
    name: str
    node_count: int = 0
    ready_nodes: int = 0
    instance_type: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[str] = field(default_factory=list)


def taint_text(taint: Reader) -> str | None:
    """A taint as `kubectl taint` writes it: `key[=value]:Effect`."""
    key, value, effect = taint.text("key"), taint.text("value"), taint.text("effect")
    if not key:
        return None
    return f"{key}{'=' + value if value else ''}{':' + effect if effect else ''}"


def live_pools(nodes: list[dict[str, Any]], notes: Notes | None = None) -> list[LivePool]:
    """The nodes grouped by pool (nodes without a pool label in `default`), by name; labels and
    taints are those every node of the pool carries, the instance type that of its first node."""
    pools: dict[str, LivePool] = {}
    for node in nodes:
        r = Reader(node, "Node", notes)
        labels = r.strings("metadata.labels")
        taints = [t for t in map(taint_text, r.each("spec.taints")) if t]
        name = pool_of(labels) or DEFAULT_POOL
        pool = pools.get(name)
        if pool is None:
            own = {k: v for k, v in labels.items() if k not in PER_NODE_LABELS}
            pool = pools[name] = LivePool(name, instance_type=labels.get(INSTANCE_TYPE), labels=own, taints=taints)
        else:
            pool.labels = {k: v for k, v in pool.labels.items() if labels.get(k) == v}
            pool.taints = [t for t in pool.taints if t in taints]
        pool.node_count += 1
        pool.ready_nodes += node_ready(node, notes)
    return [pools[name] for name in sorted(pools)]


@dataclass
class PoolView:
    """A pool as `Cluster.nodePools` shows it: stored (a cluster created here) or discovered (from labels)."""

    id: str
    name: str
    origin: str
    node_count: int
    current_nodes: int | None
    ready_nodes: int | None
    instance_type: str | None
    labels: dict[str, Any]
    taints: list[str]
    min_count: int | None = None
    max_count: int | None = None


LIVE_STATUSES = ("connected", "degraded")


async def cluster_pools(ctx: RequestContext, cluster_id: str, origin: str, status: str) -> list[PoolView]:
    """A registered cluster's pools from its nodes (the cluster's error when it cannot answer); a
    provisioned one's stored pools, with the nodes it shows now when it is connected."""
    if origin != "provisioned":
        return [_discovered(cluster_id, p) for p in live_pools(await kube.items(ctx, cluster_id, "Node"))]
    live: dict[str, LivePool] | None = None
    if status in LIVE_STATUSES:
        try:
            live = {p.name: p for p in live_pools(await kube.items(ctx, cluster_id, "Node"))}
        except AppError:
            live = None  # the stored pools still show, without their nodes
    return [_stored(p, live) for p in await lifecycle.node_pools(ctx, cluster_id)]


def _discovered(cluster_id: str, pool: LivePool) -> PoolView:
    return PoolView(
        id=f"{cluster_id}/{pool.name}", name=pool.name, origin="discovered", node_count=pool.node_count,
        current_nodes=pool.node_count, ready_nodes=pool.ready_nodes, instance_type=pool.instance_type,
        labels=dict(pool.labels), taints=list(pool.taints),
    )  # fmt: skip


def _stored(pool: NodePool, live: dict[str, LivePool] | None) -> PoolView:
    seen = live.get(pool.name, LivePool(pool.name)) if live is not None else None
    return PoolView(
        id=pool.id, name=pool.name, origin="provisioned", node_count=pool.node_count,
        current_nodes=seen.node_count if seen else None, ready_nodes=seen.ready_nodes if seen else None,
        instance_type=pool.instance_type, labels=dict(pool.labels or {}), taints=list(pool.taints or []),
        min_count=pool.min_count, max_count=pool.max_count,
    )  # fmt: skip

"""Logs and usage metrics (metrics.k8s.io) of a cluster, read live: they change by the second."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from app.context import RequestContext
from app.errors import BadUserInput
from app.k8s.client import ClusterClient
from app.k8s.reading import Reader, name_of, namespace_of
from app.k8s.resources import ResourceKind
from loaders.clusters import ensure_registered
from resolvers.clusters import get_cluster
from resolvers.kube import items

NODE_METRICS = ResourceKind("NodeMetrics", "metrics.k8s.io", "v1beta1", "nodes", False, "node", ())
POD_METRICS = ResourceKind("PodMetrics", "metrics.k8s.io", "v1beta1", "pods", True, "pod", ())
_UNITS = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
          "Ki": 1024.0, "Mi": 1024.0**2, "Gi": 1024.0**3, "Ti": 1024.0**4}
_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")


def quantity(value: str | None) -> float:
    """A Kubernetes quantity ('250m', '1.5', '512Mi') as a number (cores or bytes); 0 when unreadable."""
    match = _QUANTITY.match(str(value or "0").strip())
    if match is None or match.group(2) not in _UNITS:
        return 0.0
    try:
        return float(match.group(1)) * _UNITS[match.group(2)]
    except ValueError:  # '1.2.3'
        return 0.0


@dataclass
class Usage:
    name: str
    namespace: str | None
    cpu_cores: float
    memory_bytes: float


@dataclass
class ClusterUsage:
    cpu_cores: float = 0.0
    memory_bytes: float = 0.0
    cpu_capacity: float = 0.0
    memory_capacity: float = 0.0
    nodes: list[Usage] = field(default_factory=list)
    pods: list[Usage] = field(default_factory=list)
    workloads: list[Usage] = field(default_factory=list)


async def _client(ctx: RequestContext, cluster_id: str) -> ClusterClient:
    cluster = await get_cluster(ctx, cluster_id)
    ensure_registered(ctx.services.gateway, ctx.services.sealer, cluster)
    return ctx.services.gateway.client(cluster_id)


async def pod_logs(ctx: RequestContext, cluster_id: str, namespace: str, pod: str, container: str | None,
                   tail: int | None, since_seconds: int | None) -> str:
    if tail is not None and not 1 <= tail <= 10_000:
        raise BadUserInput.field("tail", "must be between 1 and 10000")
    if since_seconds is not None and since_seconds < 1:
        raise BadUserInput.field("sinceSeconds", "must be 1 or more")
    client = await _client(ctx, cluster_id)
    return await client.logs(namespace, pod, container, tail, since_seconds, identity=ctx.kube_identity())


async def usage(ctx: RequestContext, cluster_id: str, namespace: str | None) -> ClusterUsage:
    client = await _client(ctx, cluster_id)
    node_metrics = (await client.list(NODE_METRICS, identity=ctx.kube_identity())).items
    pod_metrics = (await client.list(POD_METRICS, namespace, identity=ctx.kube_identity())).items
    result = ClusterUsage()
    for node in await items(ctx, cluster_id, "Node"):
        r = Reader(node, "Node")
        result.cpu_capacity += quantity(r.text("status.allocatable.cpu"))
        result.memory_capacity += quantity(r.text("status.allocatable.memory"))
    for m in map(Reader, node_metrics):
        cpu, memory = quantity(m.text("usage.cpu")), quantity(m.text("usage.memory"))
        result.nodes.append(Usage(m.text("metadata.name") or "", None, cpu, memory))
    result.cpu_cores = sum(n.cpu_cores for n in result.nodes)
    result.memory_bytes = sum(n.memory_bytes for n in result.nodes)
    for m in map(Reader, pod_metrics):
        containers = list(m.each("containers"))
        cpu = sum(quantity(c.text("usage.cpu")) for c in containers)
        memory = sum(quantity(c.text("usage.memory")) for c in containers)
        result.pods.append(Usage(m.text("metadata.name") or "", m.text("metadata.namespace"), cpu, memory))
    result.workloads = await _by_workload(ctx, cluster_id, result.pods)
    return result


async def _by_workload(ctx: RequestContext, cluster_id: str, pods: list[Usage]) -> list[Usage]:
    """Pod usage summed per owning workload (a ReplicaSet's pods count for its Deployment)."""
    owners: dict[tuple[str, str], str] = {}
    for rs in await items(ctx, cluster_id, "ReplicaSet"):
        if owner := _owner(rs):
            owners[(namespace_of(rs), name_of(rs))] = f"{owner[0]}/{owner[1]}"
    pod_owner: dict[tuple[str, str], str] = {}
    for pod in await items(ctx, cluster_id, "Pod"):
        if owner := _owner(pod):
            key = (namespace_of(pod), owner[1])
            pod_owner[(key[0], name_of(pod))] = owners.get(key, f"{owner[0]}/{owner[1]}")
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for p in pods:
        workload = pod_owner.get((p.namespace or "", p.name))
        if workload:
            totals[(p.namespace or "", workload)][0] += p.cpu_cores
            totals[(p.namespace or "", workload)][1] += p.memory_bytes
    return [Usage(workload, ns, cpu, mem) for (ns, workload), (cpu, mem) in sorted(totals.items())]


def _owner(obj: dict) -> tuple[str, str] | None:
    """(kind, name) of an object's first owner reference, when it can be read."""
    first = next(Reader(obj).each("metadata.ownerReferences"), None)
    kind, name = (first.text("kind"), first.text("name")) if first is not None else (None, None)
    return (kind, name) if kind and name else None

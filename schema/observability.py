from __future__ import annotations

import strawberry

from app.k8s.reading import Notes
from resolvers import observability as resolve
from resolvers.overview import Overview
from schema.kube import ClusterFailure, KubeObject, failures_of


@strawberry.type(description="CPU in cores, memory in bytes")
class ResourceUsage:
    name: str
    namespace: str | None
    cpu_cores: float
    memory_bytes: float

    @classmethod
    def of(cls, u: resolve.Usage) -> ResourceUsage:
        return cls(name=u.name, namespace=u.namespace, cpu_cores=round(u.cpu_cores, 4), memory_bytes=u.memory_bytes)


@strawberry.type(description="Usage from metrics.k8s.io; capacity is the nodes' allocatable")
class ClusterMetrics:
    cpu_cores: float
    memory_bytes: float
    cpu_capacity: float
    memory_capacity: float
    nodes: list[ResourceUsage]
    pods: list[ResourceUsage]
    workloads: list[ResourceUsage] = strawberry.field(description="Pods summed per owning workload, as Kind/name")

    @classmethod
    def of(cls, u: resolve.ClusterUsage) -> ClusterMetrics:
        return cls(
            cpu_cores=round(u.cpu_cores, 4),
            memory_bytes=u.memory_bytes,
            cpu_capacity=u.cpu_capacity,
            memory_capacity=u.memory_capacity,
            nodes=[ResourceUsage.of(n) for n in u.nodes],
            pods=[ResourceUsage.of(p) for p in u.pods],
            workloads=[ResourceUsage.of(w) for w in u.workloads],
        )


@strawberry.type
class Count:
    name: str
    count: int


@strawberry.type(description="The cluster at a glance; CPU in cores, memory in bytes")
class ClusterOverview:
    health: str = strawberry.field(description="healthy, degraded or critical")
    nodes: int
    ready_nodes: int
    namespaces: int
    pods_by_phase: list[Count]
    workloads_by_status: list[Count]
    cpu_capacity: float
    memory_capacity: float
    cpu_requested: float
    memory_requested: float
    warnings: list[KubeObject] = strawberry.field(description="The latest Warning events")
    errors: list[ClusterFailure] = strawberry.field(
        default_factory=list, description="Fields of the cluster's objects that could not be read (counted as unknown)"
    )

    @classmethod
    def of(cls, o: Overview, cluster_id: str, notes: Notes | None = None, cluster_name: str = "") -> ClusterOverview:
        return cls(
            health=o.health,
            nodes=o.nodes,
            ready_nodes=o.ready_nodes,
            namespaces=o.namespaces,
            pods_by_phase=[Count(name=k, count=v) for k, v in o.pods_by_phase.items()],
            workloads_by_status=[Count(name=k, count=v) for k, v in o.workloads_by_status.items()],
            cpu_capacity=round(o.cpu_capacity, 3),
            memory_capacity=o.memory_capacity,
            cpu_requested=round(o.cpu_requested, 3),
            memory_requested=o.memory_requested,
            warnings=[KubeObject.of(e, cluster_id, notes, "Event") for e in o.warnings],
            errors=failures_of(notes, cluster_id, cluster_name) if notes is not None else [],
        )

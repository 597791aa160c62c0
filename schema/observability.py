from __future__ import annotations

import strawberry

from resolvers import observability as resolve


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
            cpu_cores=round(u.cpu_cores, 4), memory_bytes=u.memory_bytes, cpu_capacity=u.cpu_capacity,
            memory_capacity=u.memory_capacity, nodes=[ResourceUsage.of(n) for n in u.nodes],
            pods=[ResourceUsage.of(p) for p in u.pods], workloads=[ResourceUsage.of(w) for w in u.workloads],
        )

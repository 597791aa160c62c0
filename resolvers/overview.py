"""A cluster at a glance: capacity against requests, pod phases, workload health, warnings.

Pure computations over the cached objects; the schema feeds them from the request's loaders.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from resolvers.observability import quantity
from resolvers.workloads import node_ready, workload_status

Obj = dict[str, Any]


@dataclass
class Overview:
    health: str
    nodes: int
    ready_nodes: int
    namespaces: int
    pods_by_phase: dict[str, int]
    workloads_by_status: dict[str, int]
    cpu_capacity: float
    memory_capacity: float
    cpu_requested: float
    memory_requested: float
    warnings: list[Obj] = field(default_factory=list)


def _requests(pod: Obj) -> tuple[float, float]:
    cpu = memory = 0.0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += quantity(requests.get("cpu"))
        memory += quantity(requests.get("memory"))
    return cpu, memory


def _health(ready_nodes: int, nodes: int, workloads: Counter[str], phases: Counter[str]) -> str:
    if nodes == 0 or ready_nodes == 0:
        return "critical"
    if ready_nodes < nodes or workloads.get("degraded") or workloads.get("failed") or phases.get("Failed"):
        return "degraded"
    return "healthy"


def overview(
    nodes: list[Obj],
    namespaces: list[Obj],
    pods: list[Obj],
    workloads: list[Obj],
    events: list[Obj],
    max_warnings: int = 10,
) -> Overview:
    ready = sum(1 for n in nodes if node_ready(n))
    phases = Counter(str((p.get("status") or {}).get("phase", "Unknown")) for p in pods)
    statuses = Counter(workload_status(w) for w in workloads)
    active = [p for p in pods if (p.get("status") or {}).get("phase") in ("Pending", "Running")]
    requested = [_requests(p) for p in active]
    allocatable = [(n.get("status") or {}).get("allocatable") or {} for n in nodes]
    warnings = [e for e in events if e.get("type") == "Warning"]
    warnings.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""), reverse=True)
    return Overview(
        health=_health(ready, len(nodes), statuses, phases),
        nodes=len(nodes),
        ready_nodes=ready,
        namespaces=len(namespaces),
        pods_by_phase=dict(sorted(phases.items())),
        workloads_by_status=dict(sorted(statuses.items())),
        cpu_capacity=sum(quantity(a.get("cpu")) for a in allocatable),
        memory_capacity=sum(quantity(a.get("memory")) for a in allocatable),
        cpu_requested=sum(c for c, _ in requested),
        memory_requested=sum(m for _, m in requested),
        warnings=warnings[:max_warnings],
    )

"""A cluster at a glance: capacity against requests, pod phases, workload health, warnings.

Pure computations over the cached objects; the schema feeds them from the request's loaders.
Objects are read defensively: an unreadable field counts as its default, noted in `notes`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.k8s.reading import Notes, Reader
from resolvers.observability import quantity
from resolvers.workloads import node_ready, pod_phase, workload_status

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


def _requests(pod: Obj, notes: Notes | None) -> tuple[float, float]:
    cpu = memory = 0.0
    for container in Reader(pod, "Pod", notes).each("spec.containers"):
        cpu += quantity(container.text("resources.requests.cpu"))
        memory += quantity(container.text("resources.requests.memory"))
    return cpu, memory


def _allocatable(node: Obj, notes: Notes | None) -> tuple[float, float]:
    r = Reader(node, "Node", notes)
    return quantity(r.text("status.allocatable.cpu")), quantity(r.text("status.allocatable.memory"))


def _warnings(events: list[Obj], notes: Notes | None, limit: int) -> list[Obj]:
    readers = [Reader(e, "Event", notes) for e in events]
    found = [r for r in readers if r.text("type") == "Warning"]
    found.sort(key=lambda r: r.text("lastTimestamp") or r.text("eventTime") or "", reverse=True)
    return [r.obj for r in found[:limit]]


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
    notes: Notes | None = None,
) -> Overview:
    ready = sum(1 for n in nodes if node_ready(n, notes))
    phases = Counter(pod_phase(p, notes) for p in pods)
    statuses = Counter(workload_status(w, notes) for w in workloads)
    active = [p for p in pods if pod_phase(p) in ("Pending", "Running")]
    requested = [_requests(p, notes) for p in active]
    allocatable = [_allocatable(n, notes) for n in nodes]
    return Overview(
        health=_health(ready, len(nodes), statuses, phases),
        nodes=len(nodes),
        ready_nodes=ready,
        namespaces=len(namespaces),
        pods_by_phase=dict(sorted(phases.items())),
        workloads_by_status=dict(sorted(statuses.items())),
        cpu_capacity=sum(c for c, _ in allocatable),
        memory_capacity=sum(m for _, m in allocatable),
        cpu_requested=sum(c for c, _ in requested),
        memory_requested=sum(m for _, m in requested),
        warnings=_warnings(events, notes, max_warnings),
    )

"""Workload status as people read it, computed from the objects (pure functions, no I/O)."""

from __future__ import annotations

from typing import Any

from app.errors import BadUserInput

Obj = dict[str, Any]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
WORKLOAD_STATUSES = ("running", "progressing", "degraded", "failed", "completed", "suspended", "scaled-down")


def workload_kind(name: str) -> str:
    """A workload kind from its name or plural, any case; BAD_USER_INPUT for anything else."""
    for known in WORKLOAD_KINDS:
        if name.lower() in (known.lower(), known.lower() + "s"):
            return known
    raise BadUserInput.field("kind", f"must be one of {', '.join(WORKLOAD_KINDS)}")


def replicas(obj: Obj) -> tuple[int, int]:
    """(desired, ready) for the kinds that have replicas."""
    kind, spec, status = obj.get("kind"), obj.get("spec") or {}, obj.get("status") or {}
    if kind == "DaemonSet":
        return int(status.get("desiredNumberScheduled", 0)), int(status.get("numberReady", 0))
    if kind == "Job":
        return int(spec.get("completions") or 1), int(status.get("succeeded", 0))
    if kind == "CronJob":
        return 0, len(status.get("active") or [])
    return int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1), int(status.get("readyReplicas", 0))


def workload_status(obj: Obj) -> str:
    kind, spec, status = obj.get("kind"), obj.get("spec") or {}, obj.get("status") or {}
    if kind == "CronJob":
        return "suspended" if spec.get("suspend") else "running"
    if kind == "Job":
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        if conditions.get("Failed") == "True":
            return "failed"
        return "completed" if conditions.get("Complete") == "True" else "running"
    desired, ready = replicas(obj)
    if desired == 0:
        return "scaled-down"
    if ready >= desired:
        generation = (obj.get("metadata") or {}).get("generation")
        observed = status.get("observedGeneration")
        updated = status.get("updatedReplicas", desired)
        if generation is not None and observed is not None and observed < generation or updated < desired:
            return "progressing"
        return "running"
    return "degraded" if ready < desired and _stalled(status) else "progressing"


def _stalled(status: Obj) -> bool:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("status") == "False":
            return True
        if condition.get("type") == "Available" and condition.get("status") == "False":
            return True
    return status.get("readyReplicas", 0) == 0 and status.get("replicas", 0) > 0


def images(obj: Obj) -> list[str]:
    spec = obj.get("spec") or {}
    template = spec.get("template") or (spec.get("jobTemplate") or {}).get("spec", {}).get("template") or {}
    pod = template.get("spec") or {}
    return [c.get("image", "") for c in pod.get("containers") or []]


def pod_ready(pod: Obj) -> tuple[int, int, int]:
    """(ready containers, containers, restarts)."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or []) or len(statuses)
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in statuses)
    return ready, total, restarts


def node_ready(node: Obj) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False

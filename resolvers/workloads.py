"""Workload status as people read it, computed from the objects (pure functions, no I/O).

Every function reads its object defensively (app/k8s/reading.py): a field of an unexpected type
reads as its default, and is noted in `notes` when given.
"""

from __future__ import annotations

from typing import Any

from app.errors import BadUserInput
from app.k8s.reading import Notes, Reader

Obj = dict[str, Any]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
WORKLOAD_STATUSES = ("running", "progressing", "degraded", "failed", "completed", "suspended", "scaled-down")


def workload_kind(name: str) -> str:
    """A workload kind from its name or plural, any case; BAD_USER_INPUT for anything else."""
    for known in WORKLOAD_KINDS:
        if name.lower() in (known.lower(), known.lower() + "s"):
            return known
    raise BadUserInput.field("kind", f"must be one of {', '.join(WORKLOAD_KINDS)}")


def replicas(obj: Obj, notes: Notes | None = None, kind: str | None = None) -> tuple[int, int]:
    """(desired, ready) for the kinds that have replicas (`kind` when the object does not say it)."""
    return replicas_of(Reader(obj, kind, notes))


def replicas_of(r: Reader) -> tuple[int, int]:
    kind = r.kind
    if kind == "DaemonSet":
        return r.integer("status.desiredNumberScheduled"), r.integer("status.numberReady")
    if kind == "Job":
        return r.integer("spec.completions", 1) or 1, r.integer("status.succeeded")
    if kind == "CronJob":
        return 0, len(r.sequence("status.active"))
    return r.integer("spec.replicas", 1), r.integer("status.readyReplicas")


def workload_status(obj: Obj, notes: Notes | None = None, kind: str | None = None) -> str:
    return status_of(Reader(obj, kind, notes))


def status_of(r: Reader) -> str:
    kind = r.kind
    if kind == "CronJob":
        return "suspended" if r.flag("spec.suspend") else "running"
    if kind == "Job":
        conditions = _conditions(r)
        if conditions.get("Failed") == "True":
            return "failed"
        return "completed" if conditions.get("Complete") == "True" else "running"
    desired, ready = replicas_of(r)
    if desired == 0:
        return "scaled-down"
    if ready >= desired:
        generation = r.integer("metadata.generation", -1)
        observed = r.integer("status.observedGeneration", -1)
        updated = r.integer("status.updatedReplicas", desired)
        if -1 < observed < generation or updated < desired:
            return "progressing"
        return "running"
    return "degraded" if _stalled(r) else "progressing"


def _conditions(r: Reader) -> dict[str | None, str | None]:
    return {c.text("type"): c.text("status") for c in r.each("status.conditions")}


def _stalled(r: Reader) -> bool:
    conditions = _conditions(r)
    if conditions.get("Progressing") == "False" or conditions.get("Available") == "False":
        return True
    return r.integer("status.readyReplicas") == 0 and r.integer("status.replicas") > 0


def images(obj: Obj, notes: Notes | None = None, kind: str | None = None) -> list[str]:
    return images_of(Reader(obj, kind, notes))


def images_of(r: Reader) -> list[str]:
    template = "spec.jobTemplate.spec.template" if r.kind == "CronJob" else "spec.template"
    return [c.text("image") or "" for c in r.each(f"{template}.spec.containers")]


def pod_ready(pod: Obj, notes: Notes | None = None) -> tuple[int, int, int]:
    """(ready containers, containers, restarts)."""
    return pod_ready_of(Reader(pod, "Pod", notes))


def pod_ready_of(r: Reader) -> tuple[int, int, int]:
    statuses = list(r.each("status.containerStatuses"))
    total = len(r.sequence("spec.containers")) or len(statuses)
    ready = sum(1 for s in statuses if s.flag("ready"))
    restarts = sum(s.integer("restartCount") for s in statuses)
    return ready, total, restarts


def pod_phase(pod: Obj, notes: Notes | None = None) -> str:
    return Reader(pod, "Pod", notes).text("status.phase") or "Unknown"


def node_ready(node: Obj, notes: Notes | None = None) -> bool:
    for condition in Reader(node, "Node", notes).each("status.conditions"):
        if condition.text("type") == "Ready":
            return condition.text("status") == "True"
    return False

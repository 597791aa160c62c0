"""Health of one object (healthy, degraded, failed, unknown) and the roll-up over what it owns.

An object's own status comes from its status fields only. Its shown status is the worse of that
and what its owned objects say: when every counted child has failed the owner has failed, when
some child failed or is degraded the owner is degraded. Children whose status is unknown (and
placeholders) are not counted. Applied along ``owner`` edges, so a Deployment sees the pods of
its ReplicaSets, and a CronJob those of its Jobs.

A count that is not a number (``spec.replicas: "many"``), or conditions or container statuses that
are not a list, raise ``UnreadableField``: the builder then shows the object's status as unknown
and reports the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from app.k8s.reading import UnreadableField, integer, not_a
from app.topology.model import Obj

HEALTHY, DEGRADED, FAILED, UNKNOWN = "healthy", "degraded", "failed", "unknown"
SEVERITY = {HEALTHY: 0, UNKNOWN: 1, DEGRADED: 2, FAILED: 3}
_BROKEN_WAITING = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError",
    "CreateContainerError", "RunContainerError",
})
_NODE_PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


def own_status(kind: str, obj: Obj) -> str:
    judge = _JUDGES.get(kind)
    return judge(obj) if judge is not None else HEALTHY


def rolled_up(own: str, children: Iterable[str]) -> str:
    counted = [s for s in children if s != UNKNOWN]
    if not counted:
        return own
    if all(s == FAILED for s in counted):
        derived = FAILED
    elif any(s in (FAILED, DEGRADED) for s in counted):
        derived = DEGRADED
    else:
        derived = HEALTHY
    return derived if SEVERITY[derived] > SEVERITY[own] else own


def _status(obj: Obj) -> Mapping[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def _spec(obj: Obj) -> Mapping[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any, field: str) -> list[Any] | tuple[()]:
    if isinstance(value, list) or value is None:
        return value or ()
    raise UnreadableField(field, not_a(value, "an array"))


def _conditions(obj: Obj) -> dict[str, str]:
    return {
        str(c.get("type")): str(c.get("status"))
        for c in _list(_status(obj).get("conditions"), "status.conditions") if isinstance(c, dict)
    }


def _pod(obj: Obj) -> str:
    status = _status(obj)
    phase = status.get("phase")
    for group in ("initContainerStatuses", "containerStatuses"):
        for container in _list(status.get(group), f"status.{group}"):
            reason = _mapping(_mapping(_mapping(container).get("state")).get("waiting")).get("reason")
            if isinstance(reason, str) and reason in _BROKEN_WAITING:
                return FAILED
    if phase == "Failed":
        return FAILED
    if phase == "Succeeded":
        return HEALTHY
    if phase == "Running":
        return HEALTHY if _conditions(obj).get("Ready") == "True" else DEGRADED
    if phase == "Pending":
        return DEGRADED
    return UNKNOWN


def _replicas(desired: int, ready: int) -> str:
    if desired == 0 or ready >= desired:
        return HEALTHY
    return FAILED if ready == 0 else DEGRADED


def _deployment(obj: Obj) -> str:
    status = _status(obj)
    if not status:
        return UNKNOWN
    desired = integer(_spec(obj).get("replicas"), "spec.replicas", 1)
    result = _replicas(desired, integer(status.get("availableReplicas"), "status.availableReplicas"))
    conditions = _conditions(obj)
    if result == HEALTHY and (conditions.get("Available") == "False" or conditions.get("Progressing") == "False"):
        return DEGRADED
    return result


def _replica_set(obj: Obj) -> str:
    status = _status(obj)
    if not status:
        return UNKNOWN
    desired = integer(_spec(obj).get("replicas"), "spec.replicas", 1)
    return _replicas(desired, integer(status.get("readyReplicas"), "status.readyReplicas"))


def _daemon_set(obj: Obj) -> str:
    status = _status(obj)
    if not status:
        return UNKNOWN
    desired = integer(status.get("desiredNumberScheduled"), "status.desiredNumberScheduled")
    return _replicas(desired, integer(status.get("numberReady"), "status.numberReady"))


def _job(obj: Obj) -> str:
    conditions = _conditions(obj)
    if conditions.get("Failed") == "True":
        return FAILED
    if conditions.get("Complete") == "True":
        return HEALTHY
    status = _status(obj)
    if not status:
        return UNKNOWN
    return DEGRADED if integer(status.get("failed"), "status.failed") > 0 else HEALTHY


def _node(obj: Obj) -> str:
    conditions = _conditions(obj)
    ready = conditions.get("Ready")
    if ready == "False":
        return FAILED
    if ready != "True":
        return UNKNOWN
    if _spec(obj).get("unschedulable") or any(conditions.get(c) == "True" for c in _NODE_PRESSURE):
        return DEGRADED
    return HEALTHY


def _phase(healthy: tuple[str, ...], degraded: tuple[str, ...], failed: tuple[str, ...]) -> Callable[[Obj], str]:
    def judge(obj: Obj) -> str:
        phase = _status(obj).get("phase")
        if phase in healthy:
            return HEALTHY
        if phase in degraded:
            return DEGRADED
        return FAILED if phase in failed else UNKNOWN
    return judge


def _autoscaler(obj: Obj) -> str:
    if not _status(obj):
        return UNKNOWN
    conditions = _conditions(obj)
    if conditions.get("AbleToScale") == "False" or conditions.get("ScalingActive") == "False":
        return DEGRADED
    return HEALTHY


_JUDGES: dict[str, Callable[[Obj], str]] = {
    "Pod": _pod,
    "Deployment": _deployment,
    "ReplicaSet": _replica_set,
    "StatefulSet": _replica_set,
    "DaemonSet": _daemon_set,
    "Job": _job,
    "Node": _node,
    "PersistentVolumeClaim": _phase(("Bound",), ("Pending",), ("Lost",)),
    "PersistentVolume": _phase(("Bound", "Available"), ("Pending", "Released"), ("Failed",)),
    "Namespace": _phase(("Active",), ("Terminating",), ()),
    "HorizontalPodAutoscaler": _autoscaler,
}

"""Fleetgraph's values in the Provisioner's words: cluster statuses, job types, and a cluster's
topology and components read from the spec it was created with.

Fleetgraph knows more states than the Provisioner names. A cluster that is reachable (connected
or degraded) is `running`; one that cannot be reached is `failed`; one being torn down is already
`deleted` to the Provisioner. Node work (`drain`, `remove-node`) changes which nodes the cluster
can use, which the Provisioner calls `scale`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from app.operations.spec_provisioner import CONTROL_PLANE_POOL

ClusterStatus = Literal["pending", "provisioning", "running", "failed", "deleted"]
StatusFilter = Literal["pending", "provisioning", "running", "failed", "deleted", "all"]

CLUSTER_STATUSES: dict[str, ClusterStatus] = {
    "pending": "pending",
    "provisioning": "provisioning",
    "connected": "running",
    "degraded": "running",
    "disconnected": "failed",
    "failed": "failed",
    "deleting": "deleted",
    "deleted": "deleted",
}
# The one Fleetgraph status each filter asks for (`clusters(status:)` takes one); `all`: none.
STATUS_FILTERS: dict[str, str | None] = {
    "pending": "pending",
    "provisioning": "provisioning",
    "running": "connected",
    "failed": "failed",
    "deleted": "deleted",
    "all": None,
}
JOB_TYPES: dict[str, str] = {
    "provision": "provision",
    "scale": "scale",
    "upgrade": "upgrade",
    "deprovision": "deprovision",
    "drain": "scale",
    "remove-node": "scale",
}
NO_INGRESS = "none"  # a cluster created without an ingress controller


def cluster_status(status: str) -> str:
    return CLUSTER_STATUSES.get(status, status)


def job_type(kind: str) -> str:
    return JOB_TYPES.get(kind, kind)


def _count(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def topology(spec: Mapping[str, Any]) -> dict[str, Any]:
    """From the Provisioner's own `topology` (a template), or from a cluster spec's node pools:
    every pool but the control plane's holds workers."""
    given = spec.get("topology")
    if isinstance(given, Mapping):
        return {
            "ha": bool(given.get("ha", False)),
            "control_plane_count": _count(given.get("controlPlaneCount")),
            "worker_count": _count(given.get("workerCount")),
        }
    pools = [pool for pool in spec.get("nodePools") or [] if isinstance(pool, Mapping)]
    workers = sum(_count(pool.get("nodeCount")) for pool in pools if pool.get("name") != CONTROL_PLANE_POOL)
    planes = _count(spec.get("controlPlaneCount"), 1) if spec else 0  # no spec: registered, not known
    return {"ha": bool(spec.get("ha", False)), "control_plane_count": planes, "worker_count": workers}


def components(spec: Mapping[str, Any], version: str | None = None) -> dict[str, str]:
    """From the Provisioner's own `components` (a template), or from a cluster spec; `version` is
    the version the cluster reports, for a cluster registered here with no spec."""
    given = spec.get("components")
    if isinstance(given, Mapping):
        return {
            "kubernetes_version": str(given.get("kubernetesVersion") or ""),
            "cni": str(given.get("cni") or ""),
            "ingress": str(given.get("ingress") or NO_INGRESS),
            "runtime": str(given.get("runtime") or "containerd"),
        }
    if not spec:  # registered here, not created: only its version is known
        return {"kubernetes_version": str(version or ""), "cni": "", "ingress": "", "runtime": ""}
    networking = spec.get("networking")
    cni = networking.get("cni") if isinstance(networking, Mapping) else None
    return {
        "kubernetes_version": str(spec.get("version") or version or ""),
        "cni": str(cni or ""),
        "ingress": str(spec.get("ingress") or NO_INGRESS),
        "runtime": str(spec.get("runtime") or "containerd"),
    }

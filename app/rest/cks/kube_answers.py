"""CKS's Namespace, ResourceQuota and Workload, made from the Kubernetes objects GraphQL answers.

CKS gives each an ID (app/rest/values.py builds them from the cluster and the object's names),
writes a namespace's phase in lower case, and reads its quotas as the limits of the namespace's
`default-quota`, the ResourceQuota Fleetgraph's namespace mutations manage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.rest.rows import Call
from app.rest.values import namespace_id, workload_id

QUOTA = "default-quota"
# CKS quota field → the ResourceQuota `spec.hard` keys that hold it, preferred first.
HARD_KEYS = {
    "cpu": ("requests.cpu", "cpu"),
    "memory": ("requests.memory", "memory"),
    "storage": ("requests.storage",),
    "pods": ("pods",),
}


class CksResourceQuota(BaseModel):
    """CKS's ResourceQuota: quantities as Kubernetes writes them, pods as a number."""

    model_config = ConfigDict(extra="forbid")
    cpu: str | None = Field(None, max_length=40)
    memory: str | None = Field(None, max_length=40)
    pods: int | None = None
    storage: str | None = Field(None, max_length=40)


class CksNamespace(BaseModel):
    id: str
    name: str
    clusterId: str
    status: Literal["active", "terminating"]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    quotas: CksResourceQuota | None = None
    createdAt: str | None = None


class CksNamespaces(RootModel[list[CksNamespace]]):
    pass


class CksWorkload(BaseModel):
    id: str
    name: str
    type: str
    status: str
    namespace: str
    namespaceId: str
    clusterId: str
    replicas: int
    readyReplicas: int
    images: list[str] = []
    labels: dict[str, str] = {}
    createdAt: str | None = None


class CksWorkloads(RootModel[list[CksWorkload]]):
    pass


class Deleted(BaseModel):
    """CKS answers a deletion with an empty object."""


def quota_of(raw: Any) -> dict[str, Any]:
    """The CKS quota a ResourceQuota object sets (its `spec.hard`)."""
    hard = ((raw or {}).get("spec") or {}).get("hard") or {}
    quota: dict[str, Any] = {}
    for name, keys in HARD_KEYS.items():
        value = next((hard[k] for k in keys if k in hard), None)
        if value is None:
            continue
        quota[name] = _count(value) if name == "pods" else str(value)
    return {k: v for k, v in quota.items() if v is not None}


def _count(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def default_quota(data: Any) -> Any:
    """The `default-quota` object among a namespace's ResourceQuotas (`cluster.resourceQuotas`)."""
    nodes = ((data.get("cluster") or {}).get("resourceQuotas") or {}).get("nodes") or []
    return next((q.get("raw") for q in nodes if q.get("name") == QUOTA), None)


def namespace_answer(found: dict[str, Any], quota: Any = None) -> dict[str, Any]:
    """A namespace (a KubeNamespace, or a KubeObject with its `raw`), with the quota object if any."""
    phase = found.get("phase") or ((found.get("raw") or {}).get("status") or {}).get("phase") or "Active"
    answer: dict[str, Any] = {
        "id": namespace_id(found["clusterId"], found["name"]),
        "name": found["name"],
        "clusterId": found["clusterId"],
        "status": str(phase).lower(),
        "labels": found.get("labels") or {},
        "annotations": found.get("annotations") or {},
    }
    if quota is not None:
        answer["quotas"] = quota_of(quota)
    if found.get("createdAt"):
        answer["createdAt"] = found["createdAt"]
    return answer


def namespace_item(value: Any, _: Call) -> Any:
    return namespace_answer(value)


def workload_answer(value: Any, _: Call) -> Any:
    """A GraphQL Workload as CKS's: its kind is its `type`."""
    if not isinstance(value, dict):
        return value
    cluster, kind, namespace, name = value["clusterId"], value["kind"], value["namespace"] or "", value["name"]
    answer = {
        "id": workload_id(cluster, kind, namespace, name),
        "name": name,
        "type": kind,
        "status": value["status"],
        "namespace": namespace,
        "namespaceId": namespace_id(cluster, namespace),
        "clusterId": cluster,
        "replicas": value["replicas"],
        "readyReplicas": value["readyReplicas"],
        "images": value.get("images") or [],
        "labels": value.get("labels") or {},
    }
    if value.get("createdAt"):
        answer["createdAt"] = value["createdAt"]
    return answer


def deleted(value: Any, _: Call) -> Any:
    return {}

"""Kubernetes objects in the schema: common typed fields plus the raw object."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from resolvers import workloads as shape
from schema.scalars import parse_datetime

Obj = dict[str, Any]


def _common(obj: Obj, cluster_id: str) -> dict[str, Any]:
    m = obj.get("metadata") or {}
    return {
        "cluster_id": strawberry.ID(cluster_id),
        "uid": m.get("uid", ""),
        "kind": obj.get("kind", ""),
        "api_version": obj.get("apiVersion", ""),
        "name": m.get("name", ""),
        "namespace": m.get("namespace"),
        "labels": cast(JSON, m.get("labels") or {}),
        "annotations": cast(JSON, m.get("annotations") or {}),
        "created_at": parse_datetime(m.get("creationTimestamp")),
        "resource_version": m.get("resourceVersion", ""),
    }


@strawberry.interface(description="Fields every Kubernetes object has.")
class KubeResource:
    cluster_id: strawberry.ID
    uid: str
    kind: str
    api_version: str
    name: str
    namespace: str | None
    labels: JSON
    annotations: JSON
    created_at: datetime | None
    resource_version: str


@strawberry.type
class KubeObject(KubeResource):
    raw: JSON = strawberry.field(description="The whole object as the cluster returned it")

    @classmethod
    def of(cls, obj: Obj, cluster_id: str) -> KubeObject:
        return cls(raw=cast(JSON, obj), **_common(obj, cluster_id))


POOL_LABELS = (
    "fleetgraph.io/node-pool",
    "kubesim.io/node-pool",
    "eks.amazonaws.com/nodegroup",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
    "node.kubernetes.io/instance-type",
)


@strawberry.type
class KubeNode(KubeResource):
    ready: bool
    roles: list[str]
    kubelet_version: str | None
    internal_ip: str | None
    cpu_capacity: str | None
    memory_capacity: str | None
    pool: str | None
    unschedulable: bool

    @classmethod
    def of(cls, obj: Obj, cluster_id: str) -> KubeNode:
        status = obj.get("status") or {}
        labels = (obj.get("metadata") or {}).get("labels") or {}
        roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
        addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
        capacity = status.get("capacity") or {}
        pool = next((labels[k] for k in POOL_LABELS if labels.get(k)), None)
        return cls(
            ready=shape.node_ready(obj),
            roles=roles or ["worker"],
            kubelet_version=(status.get("nodeInfo") or {}).get("kubeletVersion"),
            internal_ip=addresses.get("InternalIP"),
            cpu_capacity=capacity.get("cpu"),
            memory_capacity=capacity.get("memory"),
            pool=pool,
            unschedulable=bool((obj.get("spec") or {}).get("unschedulable")),
            **_common(obj, cluster_id),
        )


@strawberry.type
class KubeNamespace(KubeResource):
    phase: str

    @classmethod
    def of(cls, obj: Obj, cluster_id: str) -> KubeNamespace:
        return cls(phase=(obj.get("status") or {}).get("phase", "Active"), **_common(obj, cluster_id))


@strawberry.type
class Workload(KubeResource):
    replicas: int
    ready_replicas: int
    status: str = strawberry.field(description="running, progressing, degraded, failed, completed, ...")
    images: list[str]

    @classmethod
    def of(cls, obj: Obj, cluster_id: str) -> Workload:
        desired, ready = shape.replicas(obj)
        return cls(
            replicas=desired,
            ready_replicas=ready,
            status=shape.workload_status(obj),
            images=shape.images(obj),
            **_common(obj, cluster_id),
        )


@strawberry.type
class Pod(KubeResource):
    phase: str
    ready: str = strawberry.field(description="ready/total containers, as kubectl shows it")
    restarts: int
    node_name: str | None
    pod_ip: str | None
    containers: list[str]

    @classmethod
    def of(cls, obj: Obj, cluster_id: str) -> Pod:
        ready, total, restarts = shape.pod_ready(obj)
        status, spec = obj.get("status") or {}, obj.get("spec") or {}
        return cls(
            phase=status.get("phase", "Unknown"),
            ready=f"{ready}/{total}",
            restarts=restarts,
            node_name=spec.get("nodeName"),
            pod_ip=status.get("podIP"),
            containers=[c.get("name", "") for c in spec.get("containers") or []],
            **_common(obj, cluster_id),
        )


@strawberry.type
class ClusterSummary:
    nodes: int
    ready_nodes: int
    namespaces: int
    pods: int
    running_pods: int
    deployments: int
    services: int


@strawberry.type
class NodePool:
    name: str
    node_count: int
    ready_nodes: int
    instance_type: str | None

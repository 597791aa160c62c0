"""Kubernetes objects in the schema: common typed fields plus the raw object.

Objects are read defensively (app/k8s/reading.py): a field of an unexpected type reads as its
default, and is noted in the `notes` given, for the list that shows the object to report it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.k8s.reading import Notes, Reader, Unreadable
from resolvers import metrics
from resolvers import workloads as shape
from resolvers.logs import workload_entries
from resolvers.node_pools import pool_of
from schema.logs import LogLines
from schema.metrics import HISTORY_DOC, MetricsHistory, backend_name
from schema.permissions import requires_on_source_cluster
from schema.scalars import parse_datetime

Obj = dict[str, Any]
UNREADABLE = "UNREADABLE_FIELD"
HISTORY_READ = requires_on_source_cluster(metrics.READ, "cluster_id")


def _common(r: Reader, cluster_id: str) -> dict[str, Any]:
    m = r.section("metadata")
    return {
        "cluster_id": strawberry.ID(cluster_id),
        "uid": m.text("uid") or "",
        "kind": r.kind,
        "api_version": r.text("apiVersion") or "",
        "name": m.text("name") or "",
        "namespace": m.text("namespace") or None,
        "labels": cast(JSON, m.strings("labels")),
        "annotations": cast(JSON, m.strings("annotations")),
        "created_at": parse_datetime(m.text("creationTimestamp")),
        "resource_version": m.text("resourceVersion") or "",
    }


@strawberry.type(
    description="What a cluster could not answer: the whole cluster (code and message), or one field of one of "
    f"its objects ({UNREADABLE}, with kind, namespace, name and field), which was read as its default while the "
    "rest was served."
)
class ClusterFailure:
    cluster_id: strawberry.ID
    cluster_name: str
    code: str
    message: str
    kind: str | None = strawberry.field(default=None, description="The object's kind, for an unreadable field")
    namespace: str | None = None
    name: str | None = strawberry.field(default=None, description="The object's name, for an unreadable field")
    field: str | None = strawberry.field(default=None, description="The path of the unreadable field in the object")

    @classmethod
    def unreadable(cls, entry: Unreadable, cluster_id: str, cluster_name: str) -> ClusterFailure:
        return cls(
            cluster_id=strawberry.ID(cluster_id), cluster_name=cluster_name, code=UNREADABLE,
            message=f"{entry.field or 'the object'} {entry.message}", kind=entry.kind, namespace=entry.namespace,
            name=entry.name, field=entry.field,
        )  # fmt: skip


def failures_of(notes: Notes, cluster_id: str, cluster_name: str) -> list[ClusterFailure]:
    return [ClusterFailure.unreadable(e, cluster_id, cluster_name) for e in notes.entries()]


def unreadable_failure(entry: dict[str, Any]) -> ClusterFailure:
    """An entry as a rendered topology keeps it: the `Unreadable` fields, and clusterId and clusterName."""
    fields = Unreadable(entry["kind"], entry["namespace"], entry["name"], entry["field"], entry["message"])
    return ClusterFailure.unreadable(fields, entry["clusterId"], entry["clusterName"])


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
    def of(cls, obj: Obj, cluster_id: str, notes: Notes | None = None, kind: str | None = None) -> KubeObject:
        return cls(raw=cast(JSON, obj), **_common(Reader(obj, kind, notes), cluster_id))


@strawberry.type
class KubeNode(KubeResource):
    ready: bool
    roles: list[str]
    kubelet_version: str | None
    internal_ip: str | None
    cpu_capacity: str | None
    memory_capacity: str | None
    pool: str | None = strawberry.field(description="Its node pool, from the pool label its provider sets")
    unschedulable: bool

    @strawberry.field(permission_classes=[HISTORY_READ], description=HISTORY_DOC)
    async def metrics_history(self, info: Info, range: str = "1h", step: str | None = None) -> MetricsHistory:
        found = await metrics.node_history(info.context, str(self.cluster_id), self.name, range, step)
        return MetricsHistory.of(found, backend_name(info))

    @classmethod
    def of(cls, obj: Obj, cluster_id: str, notes: Notes | None = None) -> KubeNode:
        r = Reader(obj, "Node", notes)
        labels = r.strings("metadata.labels")
        roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
        addresses = {a.text("type"): a.text("address") for a in r.each("status.addresses")}
        return cls(
            ready=shape.node_ready(obj, notes),
            roles=roles or ["worker"],
            kubelet_version=r.text("status.nodeInfo.kubeletVersion"),
            internal_ip=addresses.get("InternalIP"),
            cpu_capacity=r.text("status.capacity.cpu"),
            memory_capacity=r.text("status.capacity.memory"),
            pool=pool_of(labels),
            unschedulable=r.flag("spec.unschedulable"),
            **_common(r, cluster_id),
        )


@strawberry.type
class KubeNamespace(KubeResource):
    phase: str

    @strawberry.field(permission_classes=[HISTORY_READ], description=HISTORY_DOC)
    async def metrics_history(self, info: Info, range: str = "1h", step: str | None = None) -> MetricsHistory:
        found = await metrics.namespace_history(info.context, str(self.cluster_id), self.name, range, step)
        return MetricsHistory.of(found, backend_name(info))

    @classmethod
    def of(cls, obj: Obj, cluster_id: str, notes: Notes | None = None) -> KubeNamespace:
        r = Reader(obj, "Namespace", notes)
        return cls(phase=r.text("status.phase") or "Active", **_common(r, cluster_id))


@strawberry.type
class Workload(KubeResource):
    replicas: int
    ready_replicas: int
    status: str = strawberry.field(description="running, progressing, degraded, failed, completed, ...")
    images: list[str]

    @strawberry.field(
        permission_classes=[requires_on_source_cluster("workloads:read", "cluster_id")],
        description="Its pods' log entries merged by time: the newest `tail` of those of the last `sinceSeconds`.",
    )
    async def logs(self, info: Info, since_seconds: int | None = None, tail: int | None = 100) -> LogLines:
        lines = await workload_entries(
            info.context, str(self.cluster_id), self.kind, self.namespace or "", self.name, since_seconds, tail
        )
        return LogLines.of(lines)

    @strawberry.field(permission_classes=[HISTORY_READ], description=HISTORY_DOC)
    async def metrics_history(self, info: Info, range: str = "1h", step: str | None = None) -> MetricsHistory:
        cluster_id, namespace = str(self.cluster_id), self.namespace or ""
        found = await metrics.workload_history(info.context, cluster_id, self.kind, namespace, self.name, range, step)
        return MetricsHistory.of(found, backend_name(info))

    @classmethod
    def of(cls, obj: Obj, cluster_id: str, notes: Notes | None = None, kind: str | None = None) -> Workload:
        r = Reader(obj, kind, notes)
        desired, ready = shape.replicas_of(r)
        return cls(
            replicas=desired,
            ready_replicas=ready,
            status=shape.status_of(r),
            images=shape.images_of(r),
            **_common(r, cluster_id),
        )


@strawberry.type
class Pod(KubeResource):
    phase: str
    ready: str = strawberry.field(description="ready/total containers, as kubectl shows it")
    restarts: int
    node_name: str | None
    pod_ip: str | None
    containers: list[str]

    @strawberry.field(permission_classes=[HISTORY_READ], description=HISTORY_DOC)
    async def metrics_history(self, info: Info, range: str = "1h", step: str | None = None) -> MetricsHistory:
        cluster_id, namespace = str(self.cluster_id), self.namespace or ""
        found = await metrics.pod_history(info.context, cluster_id, namespace, self.name, range, step)
        return MetricsHistory.of(found, backend_name(info))

    @classmethod
    def of(cls, obj: Obj, cluster_id: str, notes: Notes | None = None) -> Pod:
        r = Reader(obj, "Pod", notes)
        ready, total, restarts = shape.pod_ready_of(r)
        return cls(
            phase=r.text("status.phase") or "Unknown",
            ready=f"{ready}/{total}",
            restarts=restarts,
            node_name=r.text("spec.nodeName"),
            pod_ip=r.text("status.podIP"),
            containers=[c.text("name") or "" for c in r.each("spec.containers")],
            **_common(r, cluster_id),
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
    errors: list[ClusterFailure] = strawberry.field(
        default_factory=list, description="Fields of the cluster's objects that could not be read (counted as unknown)"
    )

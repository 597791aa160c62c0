"""The live fields of a cluster, read from the watch-fed caches through the request's loaders.

Each list is a connection ordered by namespace and name (app/paging.py pages it), whose `errors`
name the fields of its objects that could not be read: one odd object never fails the list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

from app.errors import BadUserInput
from app.k8s.reading import Notes
from resolvers import kube, metrics, observability
from resolvers.overview import overview
from resolvers.workloads import (
    WORKLOAD_KINDS,
    WORKLOAD_STATUSES,
    node_ready,
    pod_phase,
    workload_kind,
    workload_status,
)
from schema.base import page_from
from schema.insights import ClusterInsights
from schema.kube import ClusterSummary, KubeNamespace, KubeNode, KubeObject, Pod, Workload, failures_of
from schema.kube_pages import (
    KubeNamespaceConnection,
    KubeNodeConnection,
    KubeObjectConnection,
    PodConnection,
    WorkloadConnection,
    page_of,
)
from schema.logs import LogLines, cluster_log_entries
from schema.metrics import HISTORY_DOC, MetricsHistory, backend_name
from schema.observability import ClusterMetrics, ClusterOverview
from schema.permissions import requires_on_source_cluster

if TYPE_CHECKING:
    from app.context import RequestContext


READ_CLUSTER = requires_on_source_cluster("clusters:read")
READ_WORKLOADS = requires_on_source_cluster("workloads:read")


async def _read(info: Info, cluster_id: str, kind: str) -> list[dict]:
    ctx: RequestContext = info.context
    return await kube.items(ctx, cluster_id, kind)


def _name(cluster: Any) -> str:
    return str(getattr(cluster, "name", "") or "")


def _generic(kind: str, description: str) -> Any:
    """A list field of one kind, as KubeObjects, filtered and paged like every list of the cluster."""

    async def resolve(
        self: Any,
        info: Info,
        namespace: str | None = None,
        label_selector: str | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> KubeObjectConnection | None:
        paging = page_from(first, after, page, page_size)
        cid = str(self.id)
        objects = kube.select(await _read(info, cid, kind), namespace, label_selector)
        return page_of(KubeObjectConnection, self, objects, paging, lambda o, n: KubeObject.of(o, cid, n, kind))

    return strawberry.field(resolver=resolve, description=description, permission_classes=[READ_CLUSTER])


def _owned_replica_set(kind: str, obj: dict) -> bool:
    """A Deployment's ReplicaSets show under it, unless asked for by kind."""
    return kind == "ReplicaSet" and bool(kube.meta(obj).get("ownerReferences"))


@strawberry.type(
    description="A cluster's live state. Each field is null, with an error of its own, when the "
    "cluster cannot answer, so one slow or unreachable cluster never fails a whole query."
)
class ClusterState:
    id: strawberry.ID

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def summary(self, info: Info) -> ClusterSummary | None:
        cid, notes = str(self.id), Notes()
        nodes = await _read(info, cid, "Node")
        pods = await _read(info, cid, "Pod")
        return ClusterSummary(
            nodes=len(nodes),
            ready_nodes=sum(node_ready(n, notes) for n in nodes),
            namespaces=len(await _read(info, cid, "Namespace")),
            pods=len(pods),
            running_pods=sum(1 for p in pods if pod_phase(p, notes) == "Running"),
            deployments=len(await _read(info, cid, "Deployment")),
            services=len(await _read(info, cid, "Service")),
            errors=failures_of(notes, cid, _name(self)),
        )

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Capacity against requests, pod phases, workload health, latest warnings.",
    )
    async def overview(self, info: Info) -> ClusterOverview | None:
        cid, notes = str(self.id), Notes()
        workloads = []
        for kind in WORKLOAD_KINDS:
            workloads += [o for o in await _read(info, cid, kind) if not _owned_replica_set(kind, o)]
        result = overview(
            await _read(info, cid, "Node"),
            await _read(info, cid, "Namespace"),
            await _read(info, cid, "Pod"),
            workloads,
            await _read(info, cid, "Event"),
            notes=notes,
        )
        return ClusterOverview.of(result, cid, notes, _name(self))

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def nodes(
        self,
        info: Info,
        label_selector: str | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> KubeNodeConnection | None:
        paging = page_from(first, after, page, page_size)
        cid = str(self.id)
        objects = kube.select(await _read(info, cid, "Node"), label_selector=label_selector)
        return page_of(KubeNodeConnection, self, objects, paging, lambda o, n: KubeNode.of(o, cid, n))

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def namespaces(
        self,
        info: Info,
        label_selector: str | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> KubeNamespaceConnection | None:
        paging = page_from(first, after, page, page_size)
        cid = str(self.id)
        objects = kube.select(await _read(info, cid, "Namespace"), label_selector=label_selector)
        return page_of(KubeNamespaceConnection, self, objects, paging, lambda o, n: KubeNamespace.of(o, cid, n))

    @strawberry.field(permission_classes=[READ_CLUSTER], description="Workloads of every kind, by namespace and name.")
    async def workloads(
        self,
        info: Info,
        kind: str | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        search: str | None = None,
        status: str | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> WorkloadConnection | None:
        kinds = _workload_kinds(kind)
        if status is not None and status not in WORKLOAD_STATUSES:
            raise BadUserInput.field("status", f"must be one of {', '.join(WORKLOAD_STATUSES)}")
        paging = page_from(first, after, page, page_size)
        cid, notes = str(self.id), Notes()
        found: list[tuple[str, dict]] = []
        for k in kinds:
            for obj in kube.select(await _read(info, cid, k), namespace, label_selector, search):
                if kind is None and _owned_replica_set(k, obj):
                    continue
                if status is None or workload_status(obj, notes, k) == status:
                    found.append((k, obj))
        found.sort(key=lambda pair: (*kube.order(pair[1]), pair[0]))
        return page_of(WorkloadConnection, self, found, paging, lambda p, n: Workload.of(p[1], cid, n, p[0]), notes)

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def pods(
        self,
        info: Info,
        namespace: str | None = None,
        label_selector: str | None = None,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> PodConnection | None:
        paging = page_from(first, after, page, page_size)
        cid = str(self.id)
        objects = kube.select(await _read(info, cid, "Pod"), namespace, label_selector, search)
        return page_of(PodConnection, self, objects, paging, lambda o, n: Pod.of(o, cid, n))

    services: KubeObjectConnection | None = _generic("Service", "Services")
    ingresses: KubeObjectConnection | None = _generic("Ingress", "Ingresses")
    config_maps: KubeObjectConnection | None = _generic("ConfigMap", "ConfigMaps")
    persistent_volume_claims: KubeObjectConnection | None = _generic(
        "PersistentVolumeClaim", "PersistentVolumeClaims"
    )
    persistent_volumes: KubeObjectConnection | None = _generic("PersistentVolume", "PersistentVolumes")
    storage_classes: KubeObjectConnection | None = _generic("StorageClass", "StorageClasses")
    events: KubeObjectConnection | None = _generic("Event", "Events, by namespace and name")
    resource_quotas: KubeObjectConnection | None = _generic("ResourceQuota", "ResourceQuotas with their usage")
    horizontal_pod_autoscalers: KubeObjectConnection | None = _generic(
        "HorizontalPodAutoscaler", "HorizontalPodAutoscalers"
    )
    custom_resource_definitions: KubeObjectConnection | None = _generic("CustomResourceDefinition", "CRDs")

    @strawberry.field(
        permission_classes=[READ_CLUSTER, requires_on_source_cluster("secrets:read", when="include_data")],
        description="Secrets: metadata and key names; values only with includeData and secrets:read.",
    )
    async def secrets(
        self,
        info: Info,
        namespace: str | None = None,
        label_selector: str | None = None,
        include_data: bool = False,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> KubeObjectConnection | None:
        paging = page_from(first, after, page, page_size)
        cid = str(self.id)
        found = await kube.items(info.context, cid, "Secret", secret_values=include_data)
        objects = kube.select(found, namespace, label_selector)
        return page_of(KubeObjectConnection, self, objects, paging, lambda o, n: KubeObject.of(o, cid, n, "Secret"))

    @strawberry.field(description="Read-only insights: endpoints, consumers, TLS, storage, counts, search.")
    def insights(self) -> ClusterInsights:
        return ClusterInsights(cluster_id=self.id)

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Usage now, from metrics.k8s.io (cluster, nodes, pods, workloads).",
    )
    async def metrics(self, info: Info, namespace: str | None = None) -> ClusterMetrics | None:
        return ClusterMetrics.of(await observability.usage(info.context, str(self.id), namespace))

    @strawberry.field(permission_classes=[READ_CLUSTER], description=HISTORY_DOC)
    async def metrics_history(self, info: Info, range: str = "1h", step: str | None = None) -> MetricsHistory | None:
        found = await metrics.cluster_history(info.context, str(self.id), range, step)
        return MetricsHistory.of(found, backend_name(info))

    @strawberry.field(
        permission_classes=[READ_WORKLOADS],
        description="A pod's log: the last `tail` lines, or those of the last `sinceSeconds`.",
    )
    async def logs(
        self,
        info: Info,
        namespace: str,
        pod: str,
        container: str | None = None,
        tail: int | None = 100,
        since_seconds: int | None = None,
    ) -> str | None:
        return await observability.pod_logs(info.context, str(self.id), namespace, pod, container, tail, since_seconds)

    @strawberry.field(
        permission_classes=[READ_WORKLOADS],
        description="Log entries merged by time, the newest `tail` of those of the last `sinceSeconds`: of one pod "
        "(every container, or the one named), of a workload (`deployment/web`) or of every pod of a namespace or "
        "of the cluster.",
    )
    async def log_entries(
        self,
        info: Info,
        namespace: str | None = None,
        pod: str | None = None,
        container: str | None = None,
        workload: str | None = None,
        since_seconds: int | None = None,
        tail: int | None = 100,
    ) -> LogLines | None:
        return await cluster_log_entries(str(self.id), info, namespace, pod, container, workload, since_seconds, tail)

    @strawberry.field(
        permission_classes=[READ_CLUSTER], description="Objects of a custom resource (its CRD's name, kind or plural)."
    )
    async def custom_resources(
        self,
        info: Info,
        crd: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> KubeObjectConnection | None:
        paging = page_from(first, after, page, page_size)
        cid = str(self.id)
        objects = kube.select(await kube.custom_items(info.context, cid, crd), namespace, label_selector)
        return page_of(KubeObjectConnection, self, objects, paging, lambda o, n: KubeObject.of(o, cid, n))

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Objects of any kind the cluster serves (kind, plural or short name).",
    )
    async def resources(
        self,
        info: Info,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> KubeObjectConnection | None:
        paging = page_from(first, after, page, page_size)
        cid, resolved = str(self.id), kube.resolve(kind)
        objects = kube.select(await _read(info, cid, resolved), namespace, label_selector)
        return page_of(KubeObjectConnection, self, objects, paging, lambda o, n: KubeObject.of(o, cid, n, resolved))


def _workload_kinds(kind: str | None) -> tuple[str, ...]:
    return WORKLOAD_KINDS if kind is None else (workload_kind(kind),)

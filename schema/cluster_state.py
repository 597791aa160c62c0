"""The live fields of a cluster, read from the watch-fed caches through the request's loaders."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

from app.errors import BadUserInput
from resolvers import kube, observability
from resolvers.overview import overview
from resolvers.workloads import WORKLOAD_KINDS, WORKLOAD_STATUSES, workload_kind, workload_status
from schema.insights import ClusterInsights
from schema.kube import ClusterSummary, KubeNamespace, KubeNode, KubeObject, NodePool, Pod, Workload
from schema.observability import ClusterMetrics, ClusterOverview
from schema.permissions import requires_on_source_cluster

if TYPE_CHECKING:
    from app.context import RequestContext


READ_CLUSTER = requires_on_source_cluster("clusters:read")
READ_WORKLOADS = requires_on_source_cluster("workloads:read")


async def _read(info: Info, cluster_id: str, kind: str) -> list[dict]:
    ctx: RequestContext = info.context
    return await kube.items(ctx, cluster_id, kind)


def _generic(kind: str, description: str) -> Any:
    """A list field of one kind, as KubeObjects, filtered like every list of the cluster."""

    async def resolve(
        self: Any, info: Info, namespace: str | None = None, label_selector: str | None = None
    ) -> list[KubeObject] | None:
        objects = kube.select(await _read(info, str(self.id), kind), namespace, label_selector)
        return [KubeObject.of(o, str(self.id)) for o in objects]

    return strawberry.field(resolver=resolve, description=description, permission_classes=[READ_CLUSTER])


@strawberry.type(
    description="A cluster's live state. Each field is null, with an error of its own, when the "
    "cluster cannot answer, so one slow or unreachable cluster never fails a whole query."
)
class ClusterState:
    id: strawberry.ID

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def summary(self, info: Info) -> ClusterSummary | None:
        cid = str(self.id)
        nodes = await _read(info, cid, "Node")
        pods = await _read(info, cid, "Pod")
        return ClusterSummary(
            nodes=len(nodes),
            ready_nodes=sum(KubeNode.of(n, cid).ready for n in nodes),
            namespaces=len(await _read(info, cid, "Namespace")),
            pods=len(pods),
            running_pods=sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running"),
            deployments=len(await _read(info, cid, "Deployment")),
            services=len(await _read(info, cid, "Service")),
        )

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Capacity against requests, pod phases, workload health, latest warnings.",
    )
    async def overview(self, info: Info) -> ClusterOverview | None:
        cid = str(self.id)
        workloads = []
        for kind in WORKLOAD_KINDS:
            objs = await _read(info, cid, kind)
            workloads += [o for o in objs if not (kind == "ReplicaSet" and kube.meta(o).get("ownerReferences"))]
        result = overview(
            await _read(info, cid, "Node"),
            await _read(info, cid, "Namespace"),
            await _read(info, cid, "Pod"),
            workloads,
            await _read(info, cid, "Event"),
        )
        return ClusterOverview.of(result, cid)

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def nodes(self, info: Info, label_selector: str | None = None) -> list[KubeNode] | None:
        objects = kube.select(await _read(info, str(self.id), "Node"), label_selector=label_selector)
        return [KubeNode.of(o, str(self.id)) for o in objects]

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def node_pools(self, info: Info) -> list[NodePool] | None:
        groups: dict[str, list[KubeNode]] = defaultdict(list)
        for obj in await _read(info, str(self.id), "Node"):
            node = KubeNode.of(obj, str(self.id))
            groups[node.pool or "default"].append(node)
        return [
            NodePool(
                name=name,
                node_count=len(nodes),
                ready_nodes=sum(n.ready for n in nodes),
                instance_type=_label(nodes[0], "node.kubernetes.io/instance-type"),
            )
            for name, nodes in sorted(groups.items())
        ]

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def namespaces(self, info: Info, label_selector: str | None = None) -> list[KubeNamespace] | None:
        objects = kube.select(await _read(info, str(self.id), "Namespace"), label_selector=label_selector)
        return [KubeNamespace.of(o, str(self.id)) for o in objects]

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def workloads(
        self,
        info: Info,
        kind: str | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        search: str | None = None,
        status: str | None = None,
    ) -> list[Workload] | None:
        kinds = _workload_kinds(kind)
        if status is not None and status not in WORKLOAD_STATUSES:
            raise BadUserInput.field("status", f"must be one of {', '.join(WORKLOAD_STATUSES)}")
        found = []
        for k in kinds:
            for obj in kube.select(await _read(info, str(self.id), k), namespace, label_selector, search):
                if kind is None and k == "ReplicaSet" and kube.meta(obj).get("ownerReferences"):
                    continue  # a Deployment's ReplicaSets show under it, unless asked for by kind
                if status is None or workload_status(obj) == status:
                    found.append(Workload.of(obj, str(self.id)))
        return found

    @strawberry.field(permission_classes=[READ_CLUSTER])
    async def pods(
        self, info: Info, namespace: str | None = None, label_selector: str | None = None, search: str | None = None
    ) -> list[Pod] | None:
        objects = kube.select(await _read(info, str(self.id), "Pod"), namespace, label_selector, search)
        return [Pod.of(o, str(self.id)) for o in objects]

    services: list[KubeObject] | None = _generic("Service", "Services")
    ingresses: list[KubeObject] | None = _generic("Ingress", "Ingresses")
    config_maps: list[KubeObject] | None = _generic("ConfigMap", "ConfigMaps")
    persistent_volume_claims: list[KubeObject] | None = _generic("PersistentVolumeClaim", "PersistentVolumeClaims")
    persistent_volumes: list[KubeObject] | None = _generic("PersistentVolume", "PersistentVolumes")
    storage_classes: list[KubeObject] | None = _generic("StorageClass", "StorageClasses")
    events: list[KubeObject] | None = _generic("Event", "Events, oldest first as the cluster keeps them")
    resource_quotas: list[KubeObject] | None = _generic("ResourceQuota", "ResourceQuotas with their usage")
    horizontal_pod_autoscalers: list[KubeObject] | None = _generic(
        "HorizontalPodAutoscaler", "HorizontalPodAutoscalers"
    )
    custom_resource_definitions: list[KubeObject] | None = _generic("CustomResourceDefinition", "CRDs")

    @strawberry.field(
        permission_classes=[READ_CLUSTER, requires_on_source_cluster("secrets:read", when="include_data")],
        description="Secrets: metadata and key names; values only with includeData and secrets:read.",
    )
    async def secrets(
        self, info: Info, namespace: str | None = None, label_selector: str | None = None, include_data: bool = False
    ) -> list[KubeObject] | None:
        cid = str(self.id)
        found = await kube.items(info.context, cid, "Secret", secret_values=include_data)
        return [KubeObject.of(o, cid) for o in kube.select(found, namespace, label_selector)]

    @strawberry.field(description="Read-only insights: endpoints, consumers, TLS, storage, counts, search.")
    def insights(self) -> ClusterInsights:
        return ClusterInsights(cluster_id=self.id)

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Usage now, from metrics.k8s.io (cluster, nodes, pods, workloads).",
    )
    async def metrics(self, info: Info, namespace: str | None = None) -> ClusterMetrics | None:
        return ClusterMetrics.of(await observability.usage(info.context, str(self.id), namespace))

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
        permission_classes=[READ_CLUSTER], description="Objects of a custom resource (its CRD's name, kind or plural)."
    )
    async def custom_resources(
        self, info: Info, crd: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[KubeObject] | None:
        found = await kube.custom_items(info.context, str(self.id), crd)
        return [KubeObject.of(o, str(self.id)) for o in kube.select(found, namespace, label_selector)]

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Objects of any kind the cluster serves (kind, plural or short name).",
    )
    async def resources(
        self, info: Info, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[KubeObject] | None:
        resolved = kube.resolve(kind)
        objects = kube.select(await _read(info, str(self.id), resolved), namespace, label_selector)
        return [KubeObject.of(o, str(self.id)) for o in objects]


def _workload_kinds(kind: str | None) -> tuple[str, ...]:
    return WORKLOAD_KINDS if kind is None else (workload_kind(kind),)


def _label(node: KubeNode, key: str) -> str | None:
    labels = node.labels if isinstance(node.labels, dict) else {}
    value = labels.get(key)
    return str(value) if value is not None else None

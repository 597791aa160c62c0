"""Namespace mutations: create (with a quota), relabel, delete, set the quota, scale everything in it."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import namespaces as resolve
from schema.kube import KubeNamespace, KubeObject
from schema.kube_results import KubeDeletion, ScaleChange, cluster_of
from schema.permissions import SignedIn, requires_on_cluster

WRITE = [SignedIn, requires_on_cluster("clusters:write")]


@strawberry.input(
    description="Limits of the namespace's ResourceQuota `default-quota`; quantities as Kubernetes writes them."
)
class NamespaceQuotaInput:
    cpu: str | None = strawberry.field(default=None, description="requests.cpu, e.g. 4 or 500m")
    memory: str | None = strawberry.field(default=None, description="requests.memory, e.g. 8Gi")
    limits_cpu: str | None = None
    limits_memory: str | None = None
    storage: str | None = strawberry.field(default=None, description="requests.storage")
    pods: int | None = None
    services: int | None = None
    persistent_volume_claims: int | None = None
    config_maps: int | None = None
    secrets: int | None = None


@strawberry.input
class CreateNamespaceInput:
    name: str
    labels: JSON | None = None
    annotations: JSON | None = None
    quota: NamespaceQuotaInput | None = None


@strawberry.input(description="Merged into the namespace's metadata; a null value removes a key.")
class UpdateNamespaceInput:
    labels: JSON | None = None
    annotations: JSON | None = None


def _quota(quota: NamespaceQuotaInput | None) -> dict[str, Any] | None:
    return dict(vars(quota)) if quota is not None else None


@strawberry.type
class NamespaceMutation:
    @strawberry.mutation(permission_classes=WRITE, description="A namespace, and a ResourceQuota when asked.")
    async def create_namespace(
        self, info: Info, cluster_id: strawberry.ID, input: CreateNamespaceInput
    ) -> KubeNamespace:
        cluster = await cluster_of(info, cluster_id)
        data = {
            "name": input.name,
            "labels": input.labels,
            "annotations": input.annotations,
            "quota": _quota(input.quota),
        }
        return KubeNamespace.of(await resolve.create_namespace(info.context, cluster, data), cluster.id)

    @strawberry.mutation(permission_classes=WRITE)
    async def update_namespace(
        self, info: Info, cluster_id: strawberry.ID, name: str, input: UpdateNamespaceInput
    ) -> KubeNamespace:
        cluster = await cluster_of(info, cluster_id)
        data = {"labels": input.labels, "annotations": input.annotations}
        return KubeNamespace.of(await resolve.update_namespace(info.context, cluster, name, data), cluster.id)

    @strawberry.mutation(permission_classes=WRITE, description="Deletes the namespace and all it holds.")
    async def delete_namespace(self, info: Info, cluster_id: strawberry.ID, name: str, confirm: bool) -> KubeDeletion:
        cluster = await cluster_of(info, cluster_id)
        obj, pending = await resolve.delete_namespace(info.context, cluster, name, confirm)
        return KubeDeletion.of(obj, cluster.id, pending, "Namespace")

    @strawberry.mutation(permission_classes=WRITE, description="Sets limits of `default-quota` (made if missing).")
    async def update_namespace_quota(
        self, info: Info, cluster_id: strawberry.ID, name: str, quota: NamespaceQuotaInput
    ) -> KubeObject:
        cluster = await cluster_of(info, cluster_id)
        result = await resolve.update_namespace_quota(info.context, cluster, name, _quota(quota) or {})
        return KubeObject.of(result, cluster.id)

    @strawberry.mutation(
        permission_classes=WRITE,
        description="Scales every Deployment and StatefulSet of the namespace (0 parks it); those that changed.",
    )
    async def scale_namespace(
        self, info: Info, cluster_id: strawberry.ID, name: str, replicas: int
    ) -> list[ScaleChange]:
        cluster = await cluster_of(info, cluster_id)
        changes = await resolve.scale_namespace(info.context, cluster, name, replicas)
        return [ScaleChange.of(c) for c in changes]

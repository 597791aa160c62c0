"""Tenant-wide views across all of a tenant's clusters (the CKS namespaces and workloads lists)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import BadUserInput
from resolvers import fleet as resolve
from resolvers import kube
from resolvers.workloads import WORKLOAD_KINDS, WORKLOAD_STATUSES, workload_kind, workload_status
from schema.kube import KubeNamespace, Workload
from schema.permissions import requires


@strawberry.type(description="A cluster that could not answer; the other clusters' data is still returned.")
class ClusterFailure:
    cluster_id: strawberry.ID
    cluster_name: str
    code: str
    message: str


@strawberry.type
class FleetNamespaces:
    items: list[KubeNamespace]
    errors: list[ClusterFailure]


@strawberry.type
class FleetWorkloads:
    items: list[Workload]
    errors: list[ClusterFailure]


def _failures(read: resolve.FleetRead) -> list[ClusterFailure]:
    return [
        ClusterFailure(
            cluster_id=strawberry.ID(f.cluster_id), cluster_name=f.cluster_name, code=f.code, message=f.message
        )
        for f in read.failures
    ]


@strawberry.type
class FleetQuery:
    @strawberry.field(permission_classes=[requires("clusters:read")])
    async def namespaces(
        self, info: Info, tenant_id: strawberry.ID, label_selector: str | None = None, search: str | None = None
    ) -> FleetNamespaces:
        read = await resolve.read_fleet(
            info.context, str(tenant_id), ("Namespace",), lambda objs: kube.select(objs, None, label_selector, search)
        )
        items = [KubeNamespace.of(o, cid) for cid, objs in read.objects.items() for o in objs]
        return FleetNamespaces(items=items, errors=_failures(read))

    @strawberry.field(permission_classes=[requires("clusters:read")])
    async def workloads(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        kind: str | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        search: str | None = None,
        status: str | None = None,
    ) -> FleetWorkloads:
        kinds = tuple(k for k in WORKLOAD_KINDS if k != "ReplicaSet") if kind is None else (workload_kind(kind),)
        if status is not None and status not in WORKLOAD_STATUSES:
            raise BadUserInput.field("status", f"must be one of {', '.join(WORKLOAD_STATUSES)}")

        def pick(objs: list[dict]) -> list[dict]:
            chosen = kube.select(objs, namespace, label_selector, search)
            return [o for o in chosen if status is None or workload_status(o) == status]

        read = await resolve.read_fleet(info.context, str(tenant_id), kinds, pick)
        items = [Workload.of(o, cid) for cid, objs in read.objects.items() for o in objs]
        return FleetWorkloads(items=items, errors=_failures(read))

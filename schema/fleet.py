"""Tenant-wide views across all of a tenant's clusters (the CKS namespaces and workloads lists).

`errors` names each cluster that could not answer, and each field of an object that could not
be read (that object is still in `items`, with the field read as its default).
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import BadUserInput
from app.k8s.reading import Notes
from resolvers import fleet as resolve
from resolvers import kube
from resolvers.workloads import WORKLOAD_KINDS, WORKLOAD_STATUSES, workload_kind, workload_status
from schema.kube import ClusterFailure, KubeNamespace, Workload, failures_of
from schema.permissions import requires

__all__ = ["ClusterFailure", "FleetNamespaces", "FleetQuery", "FleetWorkloads"]


@strawberry.type
class FleetNamespaces:
    items: list[KubeNamespace]
    errors: list[ClusterFailure]


@strawberry.type
class FleetWorkloads:
    items: list[Workload]
    errors: list[ClusterFailure]


def _failures(read: resolve.FleetRead) -> list[ClusterFailure]:
    """The clusters that failed, then the unreadable fields of those that answered, by cluster name."""
    down = [
        ClusterFailure(
            cluster_id=strawberry.ID(f.cluster_id), cluster_name=f.cluster_name, code=f.code, message=f.message
        )
        for f in read.failures
    ]
    return down + [e for cid in read.objects for e in failures_of(read.notes[cid], cid, read.names[cid])]


@strawberry.type
class FleetQuery:
    @strawberry.field(permission_classes=[requires("clusters:read")])
    async def namespaces(
        self, info: Info, tenant_id: strawberry.ID, label_selector: str | None = None, search: str | None = None
    ) -> FleetNamespaces | None:
        def pick(kind: str, objs: list[dict], notes: Notes) -> list[dict]:
            return kube.select(objs, None, label_selector, search)

        read = await resolve.read_fleet(info.context, str(tenant_id), ("Namespace",), pick)
        items = [KubeNamespace.of(o, cid, read.notes[cid]) for cid, objs in read.objects.items() for _, o in objs]
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
    ) -> FleetWorkloads | None:
        kinds = tuple(k for k in WORKLOAD_KINDS if k != "ReplicaSet") if kind is None else (workload_kind(kind),)
        if status is not None and status not in WORKLOAD_STATUSES:
            raise BadUserInput.field("status", f"must be one of {', '.join(WORKLOAD_STATUSES)}")

        def pick(kind: str, objs: list[dict], notes: Notes) -> list[dict]:
            chosen = kube.select(objs, namespace, label_selector, search)
            return [o for o in chosen if status is None or workload_status(o, notes, kind) == status]

        read = await resolve.read_fleet(info.context, str(tenant_id), kinds, pick)
        items = [Workload.of(o, cid, read.notes[cid], k) for cid, objs in read.objects.items() for k, o in objs]
        return FleetWorkloads(items=items, errors=_failures(read))

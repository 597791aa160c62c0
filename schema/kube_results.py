"""What writes to a cluster answer with, beside the objects of schema/kube.py."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.db import models
from resolvers import clusters as clusters_resolve
from resolvers.kube_writes import Obj, meta
from resolvers.manifests import Applied
from resolvers.namespaces import ScaleChange as ScaleChangeData
from resolvers.rollouts import Revision
from schema.scalars import parse_datetime


async def cluster_of(info: Info, cluster_id: strawberry.ID) -> models.Cluster:
    """The cluster a field acts on; its declaration (`requires_on_cluster`) has already checked the caller."""
    return await clusters_resolve.get_cluster(info.context, str(cluster_id))


@strawberry.type(description="An object a deletion was asked for; `pending` while finalizers hold it.")
class KubeDeletion:
    cluster_id: strawberry.ID
    kind: str
    namespace: str | None
    name: str
    uid: str
    pending: bool

    @classmethod
    def of(cls, obj: Obj, cluster_id: str, pending: bool, kind: str | None = None) -> KubeDeletion:
        m = meta(obj)
        return cls(
            cluster_id=strawberry.ID(cluster_id),
            kind=kind or str(obj.get("kind", "")),
            namespace=m.get("namespace"),
            name=str(m.get("name", "")),
            uid=str(m.get("uid", "")),
            pending=pending,
        )


@strawberry.type(description="A workload whose replicas a scale changed.")
class ScaleChange:
    kind: str
    namespace: str
    name: str
    previous_replicas: int
    replicas: int

    @classmethod
    def of(cls, change: ScaleChangeData) -> ScaleChange:
        return cls(
            kind=change.kind,
            namespace=change.namespace,
            name=change.name,
            previous_replicas=change.previous_replicas,
            replicas=change.replicas,
        )


@strawberry.type(description="One object of an applied manifest.")
class ApplyResult:
    kind: str
    api_version: str
    namespace: str | None
    name: str
    action: str = strawberry.field(description="created, configured or unchanged")

    @classmethod
    def of(cls, applied: Applied) -> ApplyResult:
        return cls(
            kind=applied.kind,
            api_version=applied.api_version,
            namespace=applied.namespace,
            name=applied.name,
            action=applied.action,
        )


@strawberry.type(description="One revision of a Deployment: one of its ReplicaSets.")
class RolloutRevision:
    revision: int
    replica_set: str
    images: list[str]
    created_at: datetime | None
    replicas: int
    change_cause: str | None
    current: bool

    @classmethod
    def of(cls, revision: Revision) -> RolloutRevision:
        return cls(
            revision=revision.revision,
            replica_set=revision.replica_set,
            images=revision.images,
            created_at=parse_datetime(revision.created_at),
            replicas=revision.replicas,
            change_cause=revision.change_cause,
            current=revision.current,
        )

"""Subscriptions: live Kubernetes changes and cluster status transitions.

Both pass their events through `deliver()`: under the websocket handlers, subscribers with the
same document, variables and visibility share each event's execution and encoding."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.realtime.shared import deliver
from resolvers import realtime as resolve
from schema.permissions import SignedIn, requires, requires_on_cluster
from schema.scalars import parse_datetime


@strawberry.type(description="A change of one object; RESYNC means events were lost: refetch, then go on.")
class ResourceEvent:
    type: str = strawberry.field(description="ADDED, MODIFIED, DELETED or RESYNC")
    cluster_id: strawberry.ID
    kind: str
    namespace: str | None
    name: str | None
    resource_version: str | None
    object: JSON | None
    timestamp: datetime | None

    @classmethod
    def of(cls, e: dict[str, Any]) -> ResourceEvent:
        return cls(
            type=e["type"],
            cluster_id=strawberry.ID(str(e.get("clusterId"))),
            kind=str(e.get("kind")),
            namespace=e.get("namespace"),
            name=e.get("name"),
            resource_version=e.get("resourceVersion"),
            object=cast(JSON, e.get("object")),
            timestamp=parse_datetime(e.get("timestamp")),
        )


@strawberry.type
class ClusterStatusEvent:
    cluster_id: strawberry.ID
    old_status: str
    status: str
    error: str | None
    timestamp: datetime | None

    @classmethod
    def of(cls, e: dict[str, Any]) -> ClusterStatusEvent:
        return cls(
            cluster_id=strawberry.ID(e["clusterId"]),
            old_status=e["old"],
            status=e["new"],
            error=e.get("error"),
            timestamp=parse_datetime(e.get("timestamp")),
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[SignedIn, requires_on_cluster("clusters:read")],
        description="Without clusterId: every cluster you may read.",
    )
    async def resource_events(
        self,
        info: Info,
        kind: str,
        cluster_id: strawberry.ID | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        include_initial: bool = False,
    ) -> AsyncGenerator[ResourceEvent, None]:
        stream = resolve.resource_events(
            info.context, str(cluster_id) if cluster_id else None, kind, namespace, label_selector, include_initial
        )
        async for event in deliver(info, stream, ResourceEvent.of):
            yield event

    @strawberry.subscription(permission_classes=[requires("clusters:read")])
    async def cluster_status(self, info: Info, tenant_id: strawberry.ID) -> AsyncGenerator[ClusterStatusEvent, None]:
        async for event in deliver(info, resolve.cluster_status(info.context, str(tenant_id)), ClusterStatusEvent.of):
            yield event

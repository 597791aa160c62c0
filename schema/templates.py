"""Cluster templates: reusable create-cluster inputs."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import models
from resolvers import templates as resolve
from schema.base import Node
from schema.common import Done
from schema.permissions import READS, requires


@strawberry.type
class ClusterTemplate(Node):
    id: strawberry.ID
    tenant_id: strawberry.ID
    name: str
    description: str
    shape: str = strawberry.field(description="cks or provisioner: the create-cluster input the spec follows")
    spec: JSON
    created_by: strawberry.ID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, m: models.ClusterTemplate) -> ClusterTemplate:
        spec = {k: v for k, v in (m.spec or {}).items() if k != "shape"}
        return cls(
            id=strawberry.ID(m.id),
            tenant_id=strawberry.ID(m.tenant_id or ""),
            name=m.name,
            description=m.description,
            shape=str((m.spec or {}).get("shape", "cks")),
            spec=cast(JSON, spec),
            created_by=strawberry.ID(m.created_by) if m.created_by else None,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


@strawberry.input
class ClusterTemplateInput:
    name: str
    spec: JSON
    shape: str = "cks"
    description: str | None = None


@strawberry.input
class UpdateClusterTemplateInput:
    name: str | None = None
    description: str | None = None
    spec: JSON | None = None


@strawberry.type
class TemplateQuery:
    @strawberry.field(permission_classes=[requires("clusters:read")])
    async def cluster_templates(self, info: Info, tenant_id: strawberry.ID) -> list[ClusterTemplate] | None:
        return [ClusterTemplate.from_model(t) for t in await resolve.list_templates(info.context, str(tenant_id))]

    @strawberry.field(permission_classes=READS["template"])
    async def cluster_template(self, info: Info, id: strawberry.ID) -> ClusterTemplate | None:
        return ClusterTemplate.from_model(await resolve.get_template(info.context, str(id)))


@strawberry.type
class TemplateMutation:
    @strawberry.mutation(permission_classes=[requires("clusters:write")])
    async def create_cluster_template(
        self, info: Info, tenant_id: strawberry.ID, input: ClusterTemplateInput
    ) -> ClusterTemplate:
        return ClusterTemplate.from_model(await resolve.create_template(info.context, str(tenant_id), vars(input)))

    @strawberry.mutation(permission_classes=[requires("clusters:write")])
    async def update_cluster_template(
        self, info: Info, id: strawberry.ID, input: UpdateClusterTemplateInput
    ) -> ClusterTemplate:
        return ClusterTemplate.from_model(await resolve.update_template(info.context, str(id), vars(input)))

    @strawberry.mutation(permission_classes=[requires("clusters:write")])
    async def delete_cluster_template(self, info: Info, id: strawberry.ID) -> Done:
        await resolve.delete_template(info.context, str(id))
        return Done(id=id)

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from app.db import models
from resolvers import roles as resolve
from schema.base import Node
from schema.common import Done
from schema.permissions import READS, requires
from schema.sorting import SortInput, ordering, sort_keys

ORDERING = ordering(resolve.SORTABLE, "the system roles, then the others by name")


@strawberry.type
class Role(Node):
    id: strawberry.ID
    tenant_id: strawberry.ID | None
    name: str = strawberry.field(description="What people call the role: any text, unique among the tenant's roles")
    code: str = strawberry.field(
        description="The machine name users hold the role by (a user's `role`, a per-cluster role): a system "
        "role's is its name"
    )
    based_on: str | None = strawberry.field(description="The system role it was made from (null: none)")
    description: str
    scope: str
    permissions: list[str]
    is_system: bool
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_model(cls, m: models.Role) -> Role:
        return cls(
            id=strawberry.ID(m.id),
            tenant_id=strawberry.ID(m.tenant_id) if m.tenant_id else None,
            name=m.display_name,
            code=m.code,
            based_on=m.based_on,
            description=m.description or "",
            scope=m.scope,
            permissions=list(m.permissions or []),
            is_system=bool(m.is_system),
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


@strawberry.input(description="A role; it never gains a permission its giver does not hold")
class CreateRoleInput:
    name: str
    code: str | None = strawberry.field(
        default=None, description="Unique among the roles the tenant sees; made from the name when not given"
    )
    based_on: str | None = strawberry.field(
        default=None, description="A system role to start from: the role gets its permissions unless given its own"
    )
    permissions: list[str] | None = strawberry.field(default=None, description="Omitted: the base's, or none")
    scope: str = "tenant"
    description: str | None = None


@strawberry.input
class UpdateRoleInput:
    name: str | None = None
    code: str | None = strawberry.field(default=None, description="Changes only while no one holds the role")
    based_on: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Omitted: unchanged; null: none (the permissions stay); a new base gives the role its "
        "permissions unless `permissions` is given",
    )
    description: str | None = None
    scope: str | None = None
    permissions: list[str] | None = None


def _given(input: UpdateRoleInput) -> dict[str, Any]:
    """The input's fields, without those omitted: a base given as null takes the base away."""
    return {k: v for k, v in vars(input).items() if v is not strawberry.UNSET}


@strawberry.type
class RoleQuery:
    @strawberry.field(permission_classes=READS["role"])
    async def roles(
        self,
        info: Info,
        scope: str | None = None,
        order_by: Annotated[list[SortInput] | None, ORDERING] = None,
    ) -> list[Role] | None:
        return [Role.from_model(r) for r in await resolve.list_roles(info.context, scope, sort_keys(order_by))]


@strawberry.type
class RoleMutation:
    @strawberry.mutation(permission_classes=[requires("roles:write")])
    async def create_role(self, info: Info, input: CreateRoleInput) -> Role:
        return Role.from_model(await resolve.create_role(info.context, vars(input)))

    @strawberry.mutation(permission_classes=[requires("roles:write")])
    async def update_role(self, info: Info, id: strawberry.ID, input: UpdateRoleInput) -> Role:
        return Role.from_model(await resolve.update_role(info.context, str(id), _given(input)))

    @strawberry.mutation(permission_classes=[requires("roles:write")])
    async def delete_role(self, info: Info, id: strawberry.ID) -> Done:
        await resolve.delete_role(info.context, str(id))
        return Done(id=id)

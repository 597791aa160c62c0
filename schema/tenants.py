from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import models
from resolvers import tenants as resolve
from schema.base import Connection, Node, connection, page_from
from schema.permissions import READS, requires
from schema.sorting import SortInput, ordering, sort_keys

ORDERING = ordering(resolve.SORTABLE, "oldest first")

if TYPE_CHECKING:
    from schema.users import User


@strawberry.type
class Tenant(Node):
    id: strawberry.ID
    name: str
    slug: str
    status: str
    admin_email: str
    settings: JSON
    subscription_tier: str | None
    max_users: int | None = strawberry.field(description="null: no limit")
    max_clusters: int
    max_modules: int | None = strawberry.field(description="null: no limit")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, m: models.Tenant) -> Tenant:
        return cls(
            id=strawberry.ID(m.id),
            name=m.name,
            slug=m.slug,
            status=m.status,
            admin_email=m.admin_email,
            settings=cast(JSON, m.settings or {}),
            subscription_tier=m.subscription_tier,
            max_users=m.max_users,
            max_clusters=m.max_clusters,
            max_modules=m.max_modules,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


def _clearable(description: str) -> Any:
    """A tier or limit: omitted, it is left as it is (on create: its default); null clears it."""
    return strawberry.field(default=strawberry.UNSET, description=description)


@strawberry.input
class CreateTenantInput:
    name: str
    admin_email: str
    slug: str | None = None
    admin_name: str | None = None
    subscription_tier: str | None = _clearable("Omitted: standard; null: no tier")
    max_users: int | None = _clearable("Omitted: 50; null: no limit")
    max_clusters: int | None = None
    max_modules: int | None = _clearable("Omitted or null: no limit")
    settings: JSON | None = None


@strawberry.input
class UpdateTenantInput:
    name: str | None = None
    slug: str | None = None
    admin_email: str | None = None
    subscription_tier: str | None = _clearable("Omitted: unchanged; null: no tier")
    max_users: int | None = _clearable("Omitted: unchanged; null: no limit")
    max_clusters: int | None = None
    max_modules: int | None = _clearable("Omitted: unchanged; null: no limit")
    settings: JSON | None = None


def _given(input: CreateTenantInput | UpdateTenantInput) -> dict[str, Any]:
    """The input's fields, without those omitted: a tier or limit given as null clears it."""
    return {k: v for k, v in vars(input).items() if v is not strawberry.UNSET}


@strawberry.type
class CreateTenantPayload:
    tenant: Tenant
    admin_user: Annotated[User, strawberry.lazy("schema.users")]
    initial_password: str = strawberry.field(description="Shown once; must be changed at first login.")


@strawberry.type
class ImpersonationPayload:
    token: str
    expires_at: datetime
    tenant: Tenant


@strawberry.type
class TenantQuery:
    @strawberry.field(permission_classes=[requires("tenants:read")])
    async def tenants(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        search: str | None = None,
        status: str | None = None,
        order_by: Annotated[list[SortInput] | None, ORDERING] = None,
    ) -> Connection[Tenant] | None:
        paging = page_from(first, after, page, page_size)
        rows, total = await resolve.list_tenants(info.context, paging, search, status, sort_keys(order_by))
        return connection([Tenant.from_model(r) for r in rows], total, paging)

    @strawberry.field(permission_classes=READS["tenant"])
    async def tenant(self, info: Info, id: strawberry.ID) -> Tenant | None:
        return Tenant.from_model(await resolve.get_tenant(info.context, str(id)))


@strawberry.type
class TenantMutation:
    @strawberry.mutation(permission_classes=[requires("tenants:write")])
    async def create_tenant(self, info: Info, input: CreateTenantInput) -> CreateTenantPayload:
        from schema.users import User

        created = await resolve.create_tenant(info.context, _given(input))
        return CreateTenantPayload(
            tenant=Tenant.from_model(created.tenant),
            admin_user=User.from_model(created.admin_user),
            initial_password=created.initial_password,
        )

    @strawberry.mutation(permission_classes=[requires("tenants:write")])
    async def update_tenant(self, info: Info, id: strawberry.ID, input: UpdateTenantInput) -> Tenant:
        return Tenant.from_model(await resolve.update_tenant(info.context, str(id), _given(input)))

    @strawberry.mutation(permission_classes=[requires("tenants:write")])
    async def suspend_tenant(self, info: Info, id: strawberry.ID) -> Tenant:
        return Tenant.from_model(await resolve.set_status(info.context, str(id), "suspended"))

    @strawberry.mutation(permission_classes=[requires("tenants:write")])
    async def activate_tenant(self, info: Info, id: strawberry.ID) -> Tenant:
        return Tenant.from_model(await resolve.set_status(info.context, str(id), "active"))

    @strawberry.mutation(permission_classes=[requires("tenants:write")])
    async def delete_tenant(self, info: Info, id: strawberry.ID) -> Tenant:
        return Tenant.from_model(await resolve.set_status(info.context, str(id), "deleted"))

    @strawberry.mutation(permission_classes=[requires("tenants:impersonate")])
    async def impersonate_tenant(self, info: Info, id: strawberry.ID) -> ImpersonationPayload:
        signed_in, tenant = await resolve.impersonate(info.context, str(id))
        return ImpersonationPayload(
            token=signed_in.access_token, expires_at=signed_in.expires_at, tenant=Tenant.from_model(tenant)
        )

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import models
from app.db.types import utcnow
from resolvers import profile as resolve_profile
from resolvers import roles as resolve_roles
from resolvers import users as resolve
from schema.base import Connection, Node, connection, page_from
from schema.common import Done
from schema.permissions import READS, SignedIn, SignedInDuringPasswordChange, requires
from schema.sorting import SortInput, ordering, sort_keys

ORDERING = ordering(resolve.SORTABLE, "oldest first")

if TYPE_CHECKING:
    from schema.tenants import Tenant


@strawberry.type
class ClusterRole:
    cluster_id: strawberry.ID
    role: str


@strawberry.type
class User(Node):
    id: strawberry.ID
    tenant_id: strawberry.ID | None
    email: str
    username: str | None
    name: str
    first_name: str | None
    last_name: str | None
    avatar: str | None
    role: str
    auth_provider: str = strawberry.field(description="How the user signs in: 'local' (a password kept here)")
    status: str
    must_change_password: bool
    locked: bool
    last_login_at: datetime | None
    preferences: JSON
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, m: models.User) -> User:
        return cls(
            id=strawberry.ID(m.id),
            tenant_id=strawberry.ID(m.tenant_id) if m.tenant_id else None,
            email=m.email,
            username=m.username,
            name=m.name,
            first_name=m.first_name,
            last_name=m.last_name,
            avatar=m.avatar,
            role=m.role,
            auth_provider=m.auth_provider or "local",
            status=m.status,
            must_change_password=m.must_change_password,
            locked=m.locked_until is not None and m.locked_until > utcnow(),
            last_login_at=m.last_login_at,
            preferences=cast(JSON, m.preferences or {}),
            created_at=m.created_at,
            updated_at=m.updated_at,
        )

    @strawberry.field
    async def tenant(self, info: Info) -> Annotated[Tenant, strawberry.lazy("schema.tenants")] | None:
        from schema.tenants import Tenant

        if self.tenant_id is None:
            return None
        tenant = await info.context.loaders.tenant.load(str(self.tenant_id))
        return Tenant.from_model(tenant) if tenant else None

    @strawberry.field(description="The ID of the role named by `role` (a system role's, or the tenant's own)")
    async def role_id(self, info: Info) -> strawberry.ID | None:
        tenant_id = str(self.tenant_id) if self.tenant_id else None
        found = await resolve_roles.role_id_of(info.context, tenant_id, self.role)
        return strawberry.ID(found) if found else None

    @strawberry.field
    async def cluster_roles(self, info: Info) -> list[ClusterRole]:
        rows = await resolve.cluster_roles(info.context, str(self.id))
        return [ClusterRole(cluster_id=strawberry.ID(r.cluster_id), role=r.role) for r in rows]


@strawberry.input(description="A name, or a first and last name (the other is made from it); a role by name or ID")
class CreateUserInput:
    email: str
    password: str
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    role: str | None = None
    role_id: strawberry.ID | None = None
    auth_provider: str | None = None
    username: str | None = None
    avatar: str | None = None
    must_change_password: bool = False


@strawberry.input
class UpdateUserInput:
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    username: str | None = None
    role: str | None = None
    role_id: strawberry.ID | None = None
    auth_provider: str | None = None
    avatar: str | None = None


@strawberry.input
class UpdateProfileInput:
    name: str | None = None
    email: str | None = None
    avatar: str | None = None


@strawberry.type
class PasswordResetPayload:
    reset_token: str = strawberry.field(description="Shown once; completes with completePasswordReset.")
    expires_at: datetime


@strawberry.type
class Activity:
    id: strawberry.ID
    action: str
    target_type: str | None
    target_id: str | None
    created_at: datetime


@strawberry.type
class UserQuery:
    @strawberry.field(permission_classes=[SignedInDuringPasswordChange])
    async def me(self, info: Info) -> User:
        return User.from_model(await resolve_profile.me(info.context))

    @strawberry.field(permission_classes=[requires("users:read")])
    async def users(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        search: str | None = None,
        role: str | None = None,
        status: str | None = None,
        order_by: Annotated[list[SortInput] | None, ORDERING] = None,
    ) -> Connection[User] | None:
        paging = page_from(first, after, page, page_size)
        order = sort_keys(order_by)
        rows, total = await resolve.list_users(info.context, str(tenant_id), paging, search, role, status, order)
        return connection([User.from_model(r) for r in rows], total, paging)

    @strawberry.field(permission_classes=READS["user"])
    async def user(self, info: Info, tenant_id: strawberry.ID, id: strawberry.ID) -> User | None:
        return User.from_model(await resolve.get_user(info.context, str(tenant_id), str(id)))

    @strawberry.field(permission_classes=[SignedIn])
    async def my_activity(self, info: Info, limit: int = 20) -> list[Activity] | None:
        rows = await resolve_profile.recent_activity(info.context, limit)
        return [
            Activity(
                id=strawberry.ID(r.id),
                action=r.action,
                target_type=r.target_type,
                target_id=r.target_id,
                created_at=r.created_at,
            )
            for r in rows
        ]


@strawberry.type
class UserMutation:
    @strawberry.mutation(permission_classes=[requires("users:write")])
    async def create_user(self, info: Info, tenant_id: strawberry.ID, input: CreateUserInput) -> User:
        return User.from_model(await resolve.create_user(info.context, str(tenant_id), vars(input)))

    @strawberry.mutation(permission_classes=[requires("users:write")])
    async def update_user(
        self, info: Info, tenant_id: strawberry.ID, id: strawberry.ID, input: UpdateUserInput
    ) -> User:
        return User.from_model(await resolve.update_user(info.context, str(tenant_id), str(id), vars(input)))

    @strawberry.mutation(permission_classes=[requires("users:write")])
    async def delete_user(self, info: Info, tenant_id: strawberry.ID, id: strawberry.ID) -> Done:
        await resolve.delete_user(info.context, str(tenant_id), str(id))
        return Done(id=id)

    @strawberry.mutation(permission_classes=[requires("users:write")])
    async def suspend_user(self, info: Info, tenant_id: strawberry.ID, id: strawberry.ID) -> User:
        return User.from_model(await resolve.set_user_status(info.context, str(tenant_id), str(id), "suspended"))

    @strawberry.mutation(permission_classes=[requires("users:write")])
    async def activate_user(self, info: Info, tenant_id: strawberry.ID, id: strawberry.ID) -> User:
        return User.from_model(await resolve.set_user_status(info.context, str(tenant_id), str(id), "active"))

    @strawberry.mutation(permission_classes=[requires("users:write")])
    async def reset_user_password(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        id: strawberry.ID,
        revoke_api_tokens: Annotated[
            bool, strawberry.argument(description="Also end the user's API tokens (now and when the reset completes)")
        ] = True,
    ) -> PasswordResetPayload:
        issued = await resolve.reset_password(info.context, str(tenant_id), str(id), revoke_api_tokens)
        return PasswordResetPayload(reset_token=issued.reset_token, expires_at=issued.expires_at)

    @strawberry.mutation(permission_classes=[requires("users:write")])
    async def unlock_user(self, info: Info, tenant_id: strawberry.ID, id: strawberry.ID) -> User:
        return User.from_model(await resolve.unlock_user(info.context, str(tenant_id), str(id)))

    @strawberry.mutation(permission_classes=[requires("users:write")])
    async def set_cluster_role(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        user_id: strawberry.ID,
        cluster_id: strawberry.ID,
        role: str | None = None,
    ) -> User:
        user = await resolve.set_cluster_role(info.context, str(tenant_id), str(user_id), str(cluster_id), role)
        return User.from_model(user)

    @strawberry.mutation(permission_classes=[SignedIn])
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> User:
        return User.from_model(await resolve_profile.update_profile(info.context, vars(input)))

    @strawberry.mutation(permission_classes=[SignedIn])
    async def update_preferences(self, info: Info, preferences: JSON) -> User:
        return User.from_model(await resolve_profile.update_preferences(info.context, preferences))

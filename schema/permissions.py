"""Authorisation in one place: every protected field names what it needs here.

`requires("users:read")` builds a permission class that checks, in order: a valid
principal; the must-change-password gate; the permission itself; and that a `tenant_id`
argument names the caller's own tenant (another tenant answers NOT_FOUND, as a missing
one would). Row-level tenancy is then enforced by the scoped database session.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from app.auth.rbac import SYSTEM_ROLES, has_permission
from app.context import RequestContext
from app.db.models import Cluster
from app.errors import Forbidden, NotFound
from resolvers.clusters import get_cluster


def check(ctx: RequestContext, permissions: tuple[str, ...], *, during_password_change: bool, tenant_id: Any) -> None:
    principal = ctx.require_principal()
    if principal.must_change_password and not during_password_change:
        raise Forbidden("password change required: call changePassword first")
    for permission in permissions:
        if not principal.can(permission):
            raise Forbidden(f"your role '{principal.role}' lacks the '{permission}' permission")
    if tenant_id is not None and principal.tenant_id is not None and str(tenant_id) != principal.tenant_id:
        raise NotFound.of("tenant", str(tenant_id))


def requires(*permissions: str, during_password_change: bool = False) -> type[BasePermission]:
    """A permission class for fields that need a signed-in caller with `permissions`."""

    class Requires(BasePermission):
        message = "not allowed"

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            check(
                info.context,
                permissions,
                during_password_change=during_password_change,
                tenant_id=kwargs.get("tenant_id"),
            )
            return True

    Requires.__name__ = "Requires_" + ("_".join(p.replace(":", "_") for p in permissions) or "signin")
    return Requires


SignedIn = requires()
SignedInDuringPasswordChange = requires(during_password_change=True)


async def cluster_permissions(ctx: RequestContext, cluster_id: str) -> frozenset[str]:
    """The caller's permissions on one cluster: a per-cluster role replaces the tenant role there."""
    principal = ctx.require_principal()
    role = principal.cluster_roles.get(cluster_id)
    if role is None:
        return principal.permissions
    system = SYSTEM_ROLES.get(role)
    if system is not None:
        return system.permissions
    custom = await ctx.loaders.role_by_name.load(role)
    return frozenset(custom.permissions) if custom else frozenset()


async def visible_cluster(ctx: RequestContext, cluster_id: str, permission: str) -> Cluster:
    """The cluster, if it exists for the caller (NOT_FOUND otherwise) and their role on it has `permission`."""
    cluster = await get_cluster(ctx, cluster_id)
    await check_cluster(ctx, cluster.id, permission)
    return cluster


async def check_cluster(ctx: RequestContext, cluster_id: str, permission: str) -> None:
    principal = ctx.require_principal()
    if principal.must_change_password:
        raise Forbidden("password change required: call changePassword first")
    if not has_permission(await cluster_permissions(ctx, cluster_id), permission):
        raise Forbidden(f"your role on cluster {cluster_id} lacks the '{permission}' permission")

"""What a caller may do on one cluster: a per-cluster role replaces the tenant role there.

Fields declare their per-cluster checks (schema/permissions.py builds them from these). Reads
that span clusters use `may_on_cluster` to leave out the clusters, or the kinds, a caller's
role there does not cover, rather than failing the whole read.
"""

from __future__ import annotations

from app.auth.rbac import SYSTEM_ROLES, has_permission
from app.context import RequestContext
from app.db.models import Cluster
from app.errors import Forbidden
from resolvers.clusters import get_cluster


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


async def may_on_cluster(ctx: RequestContext, cluster_id: str, permission: str) -> bool:
    """Whether the caller's role on the cluster holds `permission`."""
    return has_permission(await cluster_permissions(ctx, cluster_id), permission)


async def check_cluster(ctx: RequestContext, cluster_id: str, permission: str) -> None:
    """FORBIDDEN unless the caller's role on the cluster holds `permission`."""
    principal = ctx.require_principal()
    if principal.must_change_password:
        raise Forbidden("password change required: call changePassword first")
    if not await may_on_cluster(ctx, cluster_id, permission):
        raise Forbidden(f"your role on cluster {cluster_id} lacks the '{permission}' permission")


async def visible_cluster(ctx: RequestContext, cluster_id: str, permission: str) -> Cluster:
    """The cluster, if it exists for the caller (NOT_FOUND otherwise) and their role on it has `permission`."""
    cluster = await get_cluster(ctx, cluster_id)
    await check_cluster(ctx, cluster.id, permission)
    return cluster

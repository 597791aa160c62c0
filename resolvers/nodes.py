"""`node(id)`: refetch anything by its global ID, with the same checks as its own field."""

from __future__ import annotations

from typing import Any

from app.context import RequestContext
from app.db.models import AuditLog
from app.errors import NotFound
from app.ids import kind_of
from resolvers import clusters, operations, roles, templates, tenants, users
from resolvers.common import get_or_404
from schema.permissions import check, check_cluster

NEEDS: dict[str, tuple[str, ...]] = {
    "tenant": (),
    "user": ("users:read",),
    "role": ("roles:read",),
    "audit": ("audit:read",),
    "cluster": (),
    "operation": ("clusters:read",),
    "template": ("clusters:read",),
}


async def load_node(ctx: RequestContext, identifier: str) -> tuple[str, Any]:
    kind = kind_of(identifier)
    if kind not in NEEDS:
        raise NotFound.of("object", identifier)
    principal = ctx.require_principal()
    if not (kind == "user" and identifier == principal.user_id):
        check(ctx, NEEDS[kind], during_password_change=False, tenant_id=None)
    if kind == "tenant":
        return kind, await tenants.get_tenant(ctx, identifier)
    if kind == "user":
        user = await ctx.loaders.user.load(identifier)
        if user is None:
            raise NotFound.of("object", identifier)
        return kind, user
    if kind == "role":
        return kind, await roles.get_role(ctx, identifier)
    if kind == "cluster":
        cluster = await clusters.get_cluster(ctx, identifier)
        await check_cluster(ctx, cluster.id, "clusters:read")
        return kind, cluster
    if kind == "operation":
        operation = await operations.get_operation(ctx, identifier)
        if operation.cluster_id:
            await check_cluster(ctx, operation.cluster_id, "clusters:read")
        return kind, operation
    if kind == "template":
        return kind, await templates.get_template(ctx, identifier)
    async with ctx.db.session(ctx.scope) as session:
        return kind, await get_or_404(session, AuditLog, identifier, "object")


__all__ = ["load_node", "users"]

"""`node(id)`: refetch anything by its global ID. The field declares the same checks as each
kind's own field (schema/permissions.py READS); this only loads, as those fields do."""

from __future__ import annotations

from typing import Any

from app.context import RequestContext
from app.db.models import AuditLog
from app.errors import NotFound
from app.ids import kind_of
from resolvers import clusters, operations, roles, templates, tenants
from resolvers.common import get_or_404


async def load_node(ctx: RequestContext, identifier: str) -> tuple[str, Any]:
    kind = kind_of(identifier)
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
        return kind, await clusters.get_cluster(ctx, identifier)
    if kind == "operation":
        return kind, await operations.find_operation(ctx, identifier)
    if kind == "template":
        return kind, await templates.get_template(ctx, identifier)
    if kind == "audit":
        async with ctx.db.session(ctx.scope) as session:
            return kind, await get_or_404(session, AuditLog, identifier, "object")
    raise NotFound.of("object", identifier)

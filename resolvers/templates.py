"""Cluster templates: stored create-cluster inputs (no secrets) that new clusters start from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import audit
from app.context import RequestContext
from app.db.models import ClusterTemplate, Tenant
from app.errors import BadUserInput, Conflict, FieldErrors
from app.ids import new_id
from app.operations import specs
from app.validation import one_of, text
from resolvers.common import changed_fields, get_or_404

SHAPES = ("cks", "provisioner")
SECRET_KEYS = ("privateKey", "passphrase", "password")


def _validate(errors: FieldErrors, data: dict[str, Any]) -> None:
    text(errors, "name", data.get("name"), max_len=100)
    text(errors, "description", data.get("description"), min_len=0, max_len=1000)
    one_of(errors, "shape", data.get("shape"), SHAPES)
    spec = data.get("spec")
    if spec is not None:
        if not isinstance(spec, dict):
            errors.add("spec", "must be an object in the shape of a create-cluster input")
        elif any(key in (spec.get("sshConfig") or {}) for key in SECRET_KEYS):
            errors.add("spec.sshConfig", "templates must not hold SSH secrets; give them when creating the cluster")


async def list_templates(ctx: RequestContext, tenant_id: str) -> list[ClusterTemplate]:
    async with ctx.db.session(ctx.scope) as session:
        await get_or_404(session, Tenant, tenant_id, "tenant")
        query = select(ClusterTemplate).where(ClusterTemplate.tenant_id == tenant_id).order_by(ClusterTemplate.name)
        return list((await session.execute(query)).scalars())


async def get_template(ctx: RequestContext, template_id: str) -> ClusterTemplate:
    async with ctx.db.session(ctx.scope) as session:
        return await get_or_404(session, ClusterTemplate, template_id, "cluster template")


async def create_template(ctx: RequestContext, tenant_id: str, data: dict[str, Any]) -> ClusterTemplate:
    errors = FieldErrors()
    _validate(errors, data)
    errors.raise_if_any()
    async with ctx.db.transaction(ctx.scope) as session:
        await get_or_404(session, Tenant, tenant_id, "tenant")
        await _unique(session, tenant_id, data["name"])
        template = ClusterTemplate(
            id=new_id("template"),
            tenant_id=tenant_id,
            name=data["name"],
            description=data.get("description") or "",
            spec={"shape": data.get("shape") or "cks", **(data.get("spec") or {})},
            created_by=ctx.principal_id,
        )
        session.add(template)
        audit.record(session, ctx.actor(), "cluster_template.created", tenant_id=tenant_id,
                     target_type="cluster_template", target_id=template.id, changes={"name": template.name})
    return template


async def update_template(ctx: RequestContext, template_id: str, data: dict[str, Any]) -> ClusterTemplate:
    errors = FieldErrors()
    _validate(errors, data)
    errors.raise_if_any()
    async with ctx.db.transaction(ctx.scope) as session:
        template = await get_or_404(session, ClusterTemplate, template_id, "cluster template")
        if data.get("name") and data["name"] != template.name:
            await _unique(session, template.tenant_id or "", data["name"])
        updates = {k: v for k, v in data.items() if k in ("name", "description") and v is not None}
        if data.get("spec") is not None:
            updates["spec"] = {"shape": template.spec.get("shape", "cks"), **data["spec"]}
        changes = changed_fields(template, updates)
        audit.record(session, ctx.actor(), "cluster_template.updated", tenant_id=template.tenant_id,
                     target_type="cluster_template", target_id=template.id, changes=changes)
    return template


async def delete_template(ctx: RequestContext, template_id: str) -> None:
    async with ctx.db.transaction(ctx.scope) as session:
        template = await get_or_404(session, ClusterTemplate, template_id, "cluster template")
        audit.record(session, ctx.actor(), "cluster_template.deleted", tenant_id=template.tenant_id,
                     target_type="cluster_template", target_id=template.id, changes={"name": template.name})
        await session.delete(template)


async def spec_from_template(ctx: RequestContext, template_id: str, overrides: Any) -> specs.ClusterSpec:
    """The template's input with `overrides` merged on top, parsed and validated like a direct request."""
    if not isinstance(overrides, dict):
        raise BadUserInput.field("overrides", "must be an object in the template's input shape")
    template = await get_template(ctx, template_id)
    stored = {k: v for k, v in template.spec.items() if k != "shape"}
    merged = specs.merge_template(stored, overrides)
    if template.spec.get("shape") == "provisioner":
        return specs.parse_provisioner(merged)
    return specs.parse_cks(merged)


async def _unique(session: Any, tenant_id: str, name: str) -> None:
    clash = select(ClusterTemplate.id).where(ClusterTemplate.tenant_id == tenant_id, ClusterTemplate.name == name)
    if (await session.execute(clash)).first():
        raise Conflict(f"a cluster template named '{name}' already exists in this tenant")

"""Provider tenant management: create (with its admin), update, suspend, delete, impersonate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select

from app import audit
from app.auth.passwords import generate_password, hash_password
from app.context import RequestContext
from app.db.models import AuthSession, Tenant, User
from app.db.types import utcnow
from app.errors import Conflict, FieldErrors, NotFound
from app.ids import new_id
from app.paging import Page
from app.sorting import Sortable, SortKey
from app.validation import email, minimum, one_of, slug, slugify, text
from resolvers.auth import SignedIn, revoke_sessions_where, start_session
from resolvers.common import changed_fields, get_or_404, paged
from resolvers.sessions import announce_sign_out

STATUSES = ("active", "suspended", "deleted")
# A tier or limit given as None is cleared (no tier, no limit); one not given keeps its value
# (on create, the column's default). Any other field given as None is not given.
CLEARABLE = ("subscription_tier", "max_users", "max_modules")
SORTABLE = Sortable(
    {
        "id": Tenant.id,
        "name": Tenant.name,
        "slug": Tenant.slug,
        "status": Tenant.status,
        "subscriptionTier": Tenant.subscription_tier,
        "maxUsers": Tenant.max_users,
        "maxClusters": Tenant.max_clusters,
        "maxModules": Tenant.max_modules,
        "createdAt": Tenant.created_at,
        "updatedAt": Tenant.updated_at,
    },
    Tenant.id,
)


@dataclass
class TenantCreated:
    tenant: Tenant
    admin_user: User
    initial_password: str


def _tenant_fields(errors: FieldErrors, data: dict[str, Any]) -> None:
    text(errors, "name", data.get("name"))
    email(errors, "adminEmail", data.get("admin_email"))
    slug(errors, "slug", data.get("slug"))
    text(errors, "subscriptionTier", data.get("subscription_tier"), max_len=50)
    minimum(errors, "maxUsers", data.get("max_users"), 1)
    minimum(errors, "maxClusters", data.get("max_clusters"), 0)
    minimum(errors, "maxModules", data.get("max_modules"), 1)
    if data.get("settings") is not None and not isinstance(data["settings"], dict):
        errors.add("settings", "must be an object")


async def list_tenants(
    ctx: RequestContext,
    page: Page,
    search: str | None,
    status: str | None,
    order: Sequence[SortKey] | None = None,
) -> tuple[list, int]:
    errors = FieldErrors()
    one_of(errors, "status", status, STATUSES)
    errors.raise_if_any()
    query: Select[Any] = SORTABLE.order(select(Tenant).order_by(Tenant.created_at, Tenant.id), order)
    query = query.where(Tenant.status == status) if status else query.where(Tenant.deleted_at.is_(None))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Tenant.name).like(pattern), func.lower(Tenant.slug).like(pattern)))
    async with ctx.db.session(ctx.scope) as session:
        return await paged(session, query, page)


async def get_tenant(ctx: RequestContext, tenant_id: str) -> Tenant:
    tenant = await ctx.loaders.tenant.load(tenant_id)
    if tenant is None or tenant.deleted_at is not None:
        raise NotFound.of("tenant", tenant_id)
    return tenant


async def create_tenant(ctx: RequestContext, data: dict[str, Any]) -> TenantCreated:
    errors = FieldErrors()
    data = {**data, "slug": data.get("slug") or slugify(data.get("name") or "")}
    _tenant_fields(errors, data)
    errors.raise_if_any()
    async with ctx.db.transaction() as session:
        if (await session.execute(select(Tenant.id).where(Tenant.slug == data["slug"]))).first():
            raise Conflict(f"a tenant with slug '{data['slug']}' already exists")
        # emails are unique per tenant: a new tenant's admin may share an address used elsewhere
        given = {k: v for k, v in data.items() if (v is not None or k in CLEARABLE) and k != "admin_name"}
        tenant = Tenant(id=new_id("tenant"), **given)
        session.add(tenant)
        password = generate_password()
        admin = User(
            id=new_id("user"),
            tenant_id=tenant.id,
            email=data["admin_email"].lower(),
            name=data.get("admin_name") or "Tenant administrator",
            role="tenant_admin",
            password_hash=await hash_password(password),
            must_change_password=True,
        )
        session.add(admin)
        audit.record(
            session,
            ctx.actor(),
            "tenant.created",
            tenant_id=None,
            target_type="tenant",
            target_id=tenant.id,
            changes={"name": tenant.name, "slug": tenant.slug},
        )
        audit.record(
            session,
            ctx.actor(),
            "tenant.created",
            tenant_id=tenant.id,
            target_type="tenant",
            target_id=tenant.id,
            changes={"adminUser": admin.id},
        )
    return TenantCreated(tenant=tenant, admin_user=admin, initial_password=password)


async def update_tenant(ctx: RequestContext, tenant_id: str, data: dict[str, Any]) -> Tenant:
    errors = FieldErrors()
    _tenant_fields(errors, data)
    errors.raise_if_any()
    async with ctx.db.transaction(ctx.scope) as session:
        tenant = await _live_tenant(session, tenant_id)
        if data.get("slug") and data["slug"] != tenant.slug:
            taken = await session.execute(select(Tenant.id).where(Tenant.slug == data["slug"]))
            if taken.first():
                raise Conflict(f"a tenant with slug '{data['slug']}' already exists")
        changes = {**changed_fields(tenant, data), **_cleared(tenant, data)}
        _record_both(ctx, session, "tenant.updated", tenant.id, changes)
    return tenant


def _cleared(tenant: Tenant, data: dict[str, Any]) -> dict[str, Any]:
    """Clear the tiers and limits given as None; returns {field: [old, None]} for the audit."""
    changes: dict[str, Any] = {}
    for field in CLEARABLE:
        old = getattr(tenant, field)
        if field in data and data[field] is None and old is not None:
            changes[field] = [old, None]
            setattr(tenant, field, None)
    return changes


async def _live_tenant(session: Any, tenant_id: str) -> Tenant:
    tenant = await get_or_404(session, Tenant, tenant_id, "tenant")
    if tenant.deleted_at is not None:
        raise NotFound.of("tenant", tenant_id)
    return tenant


def _record_both(ctx: RequestContext, session: Any, action: str, tenant_id: str, changes: dict) -> None:
    """Provider actions on a tenant show in the provider's log and in the tenant's own."""
    for log_tenant in (None, tenant_id):
        audit.record(
            session,
            ctx.actor(),
            action,
            tenant_id=log_tenant,
            target_type="tenant",
            target_id=tenant_id,
            changes=changes,
        )


async def set_status(ctx: RequestContext, tenant_id: str, status: str) -> Tenant:
    async with ctx.db.transaction(ctx.scope) as session:
        tenant = await _live_tenant(session, tenant_id)
        if tenant.status == status:
            raise Conflict(f"tenant is already {status}")
        old, tenant.status = tenant.status, status
        if status != "active":
            await revoke_sessions_where(session, AuthSession.tenant_id == tenant.id, reason=f"tenant {status}")
        if status == "deleted":
            tenant.deleted_at = utcnow()
        action = {"active": "tenant.activated", "suspended": "tenant.suspended", "deleted": "tenant.deleted"}
        _record_both(ctx, session, action[status], tenant.id, {"status": [old, status]})
    if status != "active":
        await announce_sign_out(ctx, tenants=[tenant.id])
    return tenant


async def impersonate(ctx: RequestContext, tenant_id: str) -> tuple[SignedIn, Tenant]:
    """A short-lived session as the tenant's admin that still names the provider admin."""
    principal = ctx.require_principal()
    async with ctx.db.transaction(ctx.scope) as session:
        tenant = await _live_tenant(session, tenant_id)
        if tenant.status != "active":
            raise Conflict(f"tenant is {tenant.status}; activate it before impersonating")
        admin = (
            (
                await session.execute(
                    select(User)
                    .where(User.tenant_id == tenant.id, User.role == "tenant_admin", User.status == "active")
                    .order_by(User.created_at)
                )
            )
            .scalars()
            .first()
        )
        if admin is None:
            raise Conflict("tenant has no active tenant admin to impersonate")
        lifetime = timedelta(minutes=ctx.settings.impersonation_minutes)
        signed_in = await start_session(ctx, session, admin, impersonator_id=principal.user_id, lifetime=lifetime)
        changes = {"impersonatedUser": admin.id, "expiresAt": signed_in.expires_at.isoformat()}
        _record_both(ctx, session, "tenant.impersonated", tenant.id, changes)
    return signed_in, tenant

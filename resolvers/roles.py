"""Roles: the system roles, plus each tenant's custom roles with permission lists and a scope.

Every role has a code, a stable machine name: a system role's is its name, a custom role's is
given when it is made or taken from its name. A code names one role among those a tenant sees
(its own and the system roles), as a name does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.auth.rbac import PLATFORM_PERMISSIONS, SCOPES, SYSTEM_ROLES, TENANT_PERMISSIONS
from app.context import RequestContext
from app.db.models import Role, User
from app.errors import BadUserInput, Conflict, FieldErrors, NotFound
from app.ids import new_id
from app.sorting import Sortable, SortKey
from app.validation import one_of, text
from resolvers.common import changed_fields, get_or_404

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,62}$")
ROLE_CODE = ROLE_NAME
SYSTEM_ROLE_PREFIX = "rol_"
SORTABLE = Sortable(
    {
        "id": Role.id,
        "name": Role.name,
        "code": Role.code,
        "description": Role.description,
        "scope": Role.scope,
        "createdAt": Role.created_at,
        "updatedAt": Role.updated_at,
    },
    Role.id,
)


def system_role_id(name: str) -> str:
    return SYSTEM_ROLE_PREFIX + name


def system_role_named(role_id: str) -> str | None:
    """The system role an ID names (None: not a system role's ID)."""
    name = role_id.removeprefix(SYSTEM_ROLE_PREFIX)
    return name if role_id.startswith(SYSTEM_ROLE_PREFIX) and name in SYSTEM_ROLES else None


def system_roles(include_platform: bool) -> list[Role]:
    return [
        Role(
            id=system_role_id(r.name),
            tenant_id=None,
            name=r.name,
            code=r.name,
            description=r.description,
            scope=r.scope,
            permissions=sorted(r.permissions),
            is_system=True,
        )
        for r in SYSTEM_ROLES.values()
        if include_platform or r.scope != "platform"
    ]


async def list_roles(ctx: RequestContext, scope: str | None, order: Sequence[SortKey] | None = None) -> list[Role]:
    """The system roles, then the custom ones by name; or all of them in the order asked for
    (they are sorted together, in memory: the system roles are not rows)."""
    principal = ctx.require_principal()
    query = select(Role).order_by(Role.name)
    if principal.tenant_id is not None:
        query = query.where(Role.scope != "platform")
    async with ctx.db.session(ctx.scope) as session:
        custom = list((await session.execute(query)).scalars())
    roles = system_roles(principal.is_provider) + custom
    return SORTABLE.sort([r for r in roles if scope is None or r.scope == scope], order)


def _validate(errors: FieldErrors, data: dict[str, Any], provider: bool) -> None:
    name = data.get("name")
    if name is not None and not ROLE_NAME.match(name):
        errors.add("name", "must be 2-63 lowercase letters, digits, '_' or '-', starting with a letter")
    if name in SYSTEM_ROLES:
        errors.add("name", f"'{name}' is a system role")
    code = data.get("code")
    if code is not None and not ROLE_CODE.match(code):
        errors.add("code", "must be 2-63 lowercase letters, digits, '_' or '-', starting with a letter")
    elif code in SYSTEM_ROLES:
        errors.add("code", f"'{code}' is the code of a system role")
    text(errors, "description", data.get("description"), min_len=0, max_len=1000)
    one_of(errors, "scope", data.get("scope"), SCOPES if provider else ("tenant", "module"))
    allowed = PLATFORM_PERMISSIONS | TENANT_PERMISSIONS if provider else TENANT_PERMISSIONS
    unknown = sorted(set(data.get("permissions") or []) - allowed)
    if unknown:
        errors.add("permissions", f"unknown permissions: {', '.join(unknown)}")


async def create_role(ctx: RequestContext, data: dict[str, Any]) -> Role:
    principal = ctx.require_principal()
    errors = FieldErrors()
    _validate(errors, data, principal.is_provider)
    errors.raise_if_any()
    tenant_id = principal.tenant_id
    code = data.get("code") or data["name"]
    async with ctx.db.transaction(ctx.scope) as session:
        same_tenant = Role.tenant_id == tenant_id if tenant_id is not None else Role.tenant_id.is_(None)
        if (await session.execute(select(Role.id).where(same_tenant, Role.name == data["name"]))).first():
            raise Conflict(f"a role named '{data['name']}' already exists")
        if (await session.execute(select(Role.id).where(same_tenant, Role.code == code))).first():
            raise Conflict(f"a role with code '{code}' already exists")
        role = Role(
            id=new_id("role"),
            tenant_id=tenant_id,
            name=data["name"],
            code=code,
            description=data.get("description") or "",
            scope=data["scope"],
            permissions=sorted(set(data["permissions"])),
        )
        session.add(role)
        audit.record(
            session,
            ctx.actor(),
            "role.created",
            tenant_id=tenant_id,
            target_type="role",
            target_id=role.id,
            changes={"name": role.name, "code": role.code, "permissions": role.permissions},
        )
    return role


async def _own_role(ctx: RequestContext, session: Any, role_id: str) -> Role:
    if system_role_named(role_id) is not None:
        raise Conflict("system roles cannot be changed")
    role = await get_or_404(session, Role, role_id, "role")
    if role.tenant_id != ctx.require_principal().tenant_id:
        raise NotFound.of("role", role_id)
    return role


async def update_role(ctx: RequestContext, role_id: str, data: dict[str, Any]) -> Role:
    principal = ctx.require_principal()
    errors = FieldErrors()
    _validate(errors, {k: v for k, v in data.items() if k != "name"}, principal.is_provider)
    errors.raise_if_any()
    async with ctx.db.transaction(ctx.scope) as session:
        role = await _own_role(ctx, session, role_id)
        if data.get("permissions") is not None:
            data["permissions"] = sorted(set(data["permissions"]))
        changes = changed_fields(role, {k: v for k, v in data.items() if k != "name"})
        audit.record(
            session,
            ctx.actor(),
            "role.updated",
            tenant_id=role.tenant_id,
            target_type="role",
            target_id=role.id,
            changes=changes,
        )
    return role


async def delete_role(ctx: RequestContext, role_id: str) -> None:
    async with ctx.db.transaction(ctx.scope) as session:
        role = await _own_role(ctx, session, role_id)
        in_use = select(func.count()).where(User.role == role.name, User.tenant_id == role.tenant_id)
        count = (await session.execute(in_use)).scalar_one()
        if count:
            raise Conflict(f"role '{role.name}' is held by {count} user(s); reassign them first")
        audit.record(
            session,
            ctx.actor(),
            "role.deleted",
            tenant_id=role.tenant_id,
            target_type="role",
            target_id=role.id,
            changes={"name": role.name},
        )
        await session.delete(role)


async def get_role(ctx: RequestContext, role_id: str) -> Role:
    principal = ctx.require_principal()
    for role in system_roles(principal.is_provider):
        if role.id == role_id:
            return role
    async with ctx.db.session(ctx.scope) as session:
        role = await get_or_404(session, Role, role_id, "role")
    if principal.tenant_id is not None and role.scope == "platform":
        raise NotFound.of("role", role_id)
    return role


async def role_id_of(ctx: RequestContext, tenant_id: str | None, name: str) -> str | None:
    """The ID of the role a user of `tenant_id` holds by `name` (None: no such role any more)."""
    if name in SYSTEM_ROLES:
        return system_role_id(name)
    row = await ctx.loaders.held_role.load((tenant_id, name))
    return row.id if row else None


async def role_name_for_id(session: AsyncSession, tenant_id: str, role_id: str, field: str = "roleId") -> str:
    """The name of the role `role_id` names for users of `tenant_id`: a system role or one of the
    tenant's own. Any other ID (another tenant's role included) is an unknown role."""
    name = system_role_named(role_id)
    if name is None:
        query = select(Role.name).where(Role.id == role_id, Role.tenant_id == tenant_id)
        name = (await session.execute(query)).scalar_one_or_none()
    if name is None:
        raise BadUserInput.field(field, f"unknown role '{role_id}'")
    return name

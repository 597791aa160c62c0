"""Roles: the system roles, plus each tenant's own, with permission lists and a scope.

A role has a name, what people call it (any text, unique among its tenant's roles), and a code,
its machine name: what a user's `role` and a per-cluster role hold. A code is unique among the
roles any one tenant sees (its own, those the provider made, and the system roles, whose code is
their name); it is given when the role is made, or made from its name, and it changes only while
no one holds the role. The name changes freely: nothing refers to it.

A role may be made from a system role (`based_on`): it then starts with that role's permissions,
and takes a new base's when it is given one without a list of its own. Whatever a role is
given, it never gains a permission the person giving it does not hold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.auth.principal import Principal
from app.auth.rbac import (
    ALL_PERMISSIONS,
    PLATFORM_PERMISSIONS,
    PROVIDER_ROLES,
    SCOPES,
    SYSTEM_ROLES,
    TENANT_PERMISSIONS,
    WILDCARD,
)
from app.context import RequestContext
from app.db.models import ClusterRoleOverride, Role, User
from app.errors import BadUserInput, Conflict, FieldErrors, Forbidden, NotFound
from app.ids import new_id
from app.sorting import Sortable, SortKey
from app.validation import one_of, text
from resolvers.common import changed_fields, get_or_404

ROLE_CODE = re.compile(r"^[a-z][a-z0-9_-]{1,62}$")
CODE_RULE = "must be 2-63 lowercase letters, digits, '_' or '-', starting with a letter"
NAME_LENGTH = (2, 100)
MAX_NUMBERED = 99  # a code made from a name takes the first free of `code`, `code_2`... `code_99`
SYSTEM_ROLE_PREFIX = "rol_"
AUDITED_AS = {"display_name": "name", "based_on": "basedOn"}  # the audit's words for the columns
SORTABLE = Sortable(
    {
        "id": Role.id,
        "name": Role.display_name,
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
            display_name=r.name,
            code=r.name,
            based_on=None,
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
    query = select(Role).order_by(Role.display_name)
    if principal.tenant_id is not None:
        query = query.where(Role.scope != "platform")
    async with ctx.db.session(ctx.scope) as session:
        custom = list((await session.execute(query)).scalars())
    roles = system_roles(principal.is_provider) + custom
    return SORTABLE.sort([r for r in roles if scope is None or r.scope == scope], order)


# What a role may be


def base_permissions(base: str) -> frozenset[str]:
    """What a role made from the system role `base` starts with (everything, for one that has all)."""
    permissions = SYSTEM_ROLES[base].permissions
    return ALL_PERMISSIONS if WILDCARD in permissions else permissions


def _validate(errors: FieldErrors, data: dict[str, Any], provider: bool) -> None:
    name = data.get("name")
    text(errors, "name", name, min_len=NAME_LENGTH[0], max_len=NAME_LENGTH[1])
    if name is not None and any(unicodedata.category(c) == "Cc" for c in name):
        errors.add("name", "must not contain control characters")
    elif name is not None and name.strip().lower() in SYSTEM_ROLES:
        errors.add("name", f"'{name.strip()}' is a system role's name")
    code = data.get("code")
    if code is not None and not ROLE_CODE.match(code):
        errors.add("code", CODE_RULE)
    elif code in SYSTEM_ROLES:
        errors.add("code", f"'{code}' is the code of a system role")
    base = data.get("based_on")
    if base is not None and base not in SYSTEM_ROLES:
        errors.add("basedOn", f"'{base}' is no system role")
    elif base in PROVIDER_ROLES and not provider:
        errors.add("basedOn", f"'{base}' is a provider role: a tenant's roles cannot be made from it")
    text(errors, "description", data.get("description"), min_len=0, max_len=1000)
    one_of(errors, "scope", data.get("scope"), SCOPES if provider else ("tenant", "module"))
    allowed = PLATFORM_PERMISSIONS | TENANT_PERMISSIONS if provider else TENANT_PERMISSIONS
    unknown = sorted(set(data.get("permissions") or []) - allowed)
    if unknown:
        errors.add("permissions", f"unknown permissions: {', '.join(unknown)}")


def _within_grant(principal: Principal, gained: set[str]) -> None:
    """FORBIDDEN when a role would gain a permission its giver does not hold."""
    held = ALL_PERMISSIONS if WILDCARD in principal.permissions else principal.permissions
    beyond = sorted(gained - held)
    if beyond:
        raise Forbidden(f"a role cannot be given permissions you do not hold: {', '.join(beyond)}")


def code_from(name: str) -> str:
    """A code made from a name: 'Quality Manager' is 'quality_manager', 'Qualité' is 'qualite'."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    code = re.sub(r"[^a-z0-9_-]+", "_", plain).strip("_-")
    if not code[:1].isalpha():
        code = f"role_{code}".rstrip("_")
    return code[:59]  # room for a number


def _seen_by_owner(tenant_id: str | None) -> ColumnElement[bool]:
    """The roles whose codes a role of `tenant_id` must not share: those its tenant sees (its own
    and the provider's), or, for a role of the provider's, which every tenant sees, all of them."""
    return or_(Role.tenant_id == tenant_id, Role.tenant_id.is_(None)) if tenant_id is not None else true()


async def _code_taken(session: AsyncSession, tenant_id: str | None, code: str) -> bool:
    query = select(Role.id).where(Role.code == code, _seen_by_owner(tenant_id))
    return (await session.execute(query)).first() is not None


async def _name_taken(session: AsyncSession, role: Role, name: str) -> bool:
    same_owner = Role.tenant_id == role.tenant_id if role.tenant_id is not None else Role.tenant_id.is_(None)
    query = select(Role.id).where(same_owner, func.lower(Role.display_name) == name.lower(), Role.id != role.id)
    return (await session.execute(query)).first() is not None


async def _free_code(session: AsyncSession, tenant_id: str | None, name: str) -> str:
    """The first code made from `name` that no role the owner sees has."""
    stem = code_from(name)
    query = select(Role.code).where(Role.code.startswith(stem, autoescape=True), _seen_by_owner(tenant_id))
    taken = set((await session.execute(query)).scalars()) | set(SYSTEM_ROLES)
    for candidate in (stem, *(f"{stem}_{n}" for n in range(2, MAX_NUMBERED + 1))):
        if candidate not in taken:
            return candidate
    raise Conflict(f"every code made from the name '{name}' is taken: give the role a code")


async def _holders(session: AsyncSession, role: Role) -> int:
    """How many users, and per-cluster roles, hold the role."""
    count = 0
    for model in (User, ClusterRoleOverride):
        owner = model.tenant_id == role.tenant_id if role.tenant_id is not None else true()
        query = select(func.count()).select_from(model).where(model.role == role.code, owner)
        count += int((await session.execute(query)).scalar_one())
    return count


def _holding(count: int) -> str:
    return f"{count} user(s) or per-cluster role(s)"


# Making, changing and deleting roles


async def create_role(ctx: RequestContext, data: dict[str, Any]) -> Role:
    principal = ctx.require_principal()
    errors = FieldErrors()
    _validate(errors, data, principal.is_provider)
    errors.raise_if_any()
    base = data.get("based_on")
    given = data.get("permissions")
    permissions = sorted(set(given) if given is not None else base_permissions(base) if base else set())
    _within_grant(principal, set(permissions))
    name = data["name"].strip()
    async with ctx.db.transaction(ctx.scope) as session:
        role = Role(id=new_id("role"), tenant_id=principal.tenant_id, display_name=name, based_on=base)
        if await _name_taken(session, role, name):
            raise Conflict(f"a role named '{name}' already exists")
        code = data.get("code")
        if code is not None and await _code_taken(session, role.tenant_id, code):
            raise Conflict(f"a role with code '{code}' already exists")
        role.code = code or await _free_code(session, role.tenant_id, name)
        role.description = data.get("description") or ""
        role.scope, role.permissions = data["scope"], permissions
        session.add(role)
        made = {"name": name, "code": role.code, "basedOn": base, "permissions": permissions}
        audit.record(
            session, ctx.actor(), "role.created", tenant_id=role.tenant_id, target_type="role", target_id=role.id,
            changes=made,
        )  # fmt: skip
    return role


async def _own_role(ctx: RequestContext, session: Any, role_id: str) -> Role:
    if system_role_named(role_id) is not None:
        raise Conflict("system roles cannot be changed")
    role = await get_or_404(session, Role, role_id, "role")
    if role.tenant_id != ctx.require_principal().tenant_id:
        raise NotFound.of("role", role_id)
    return role


async def _check_renames(session: AsyncSession, role: Role, data: dict[str, Any]) -> None:
    """CONFLICT for a name another role has, or a code another role has or one someone holds."""
    name, code = data.get("name"), data.get("code")
    if name is not None and await _name_taken(session, role, name.strip()):
        raise Conflict(f"a role named '{name.strip()}' already exists")
    if code is None or code == role.code:
        return
    if await _code_taken(session, role.tenant_id, code):
        raise Conflict(f"a role with code '{code}' already exists")
    held = await _holders(session, role)
    if held:
        raise Conflict(f"role '{role.code}' is held by {_holding(held)}: its code changes only while no one holds it")


def _new_permissions(role: Role, data: dict[str, Any]) -> list[str] | None:
    """The role's permissions after the update: those given, or a new base's; None: unchanged."""
    if data.get("permissions") is not None:
        return sorted(set(data["permissions"]))
    base = data.get("based_on")
    if base is not None and base != role.based_on:
        return sorted(base_permissions(base))
    return None


async def update_role(ctx: RequestContext, role_id: str, data: dict[str, Any]) -> Role:
    """`data` holds what changes; `based_on` given as None takes the base away (its permissions stay)."""
    principal = ctx.require_principal()
    errors = FieldErrors()
    _validate(errors, data, principal.is_provider)
    errors.raise_if_any()
    async with ctx.db.transaction(ctx.scope) as session:
        role = await _own_role(ctx, session, role_id)
        await _check_renames(session, role, data)
        permissions = _new_permissions(role, data)
        if permissions is not None:
            _within_grant(principal, set(permissions) - set(role.permissions))
        updates = {
            "display_name": data["name"].strip() if data.get("name") is not None else None,
            "code": data.get("code"),
            "description": data.get("description"),
            "scope": data.get("scope"),
            "permissions": permissions,
        }
        changes = changed_fields(role, updates)
        if "based_on" in data and data["based_on"] != role.based_on:
            changes["based_on"] = [role.based_on, data["based_on"]]
            role.based_on = data["based_on"]
        audit.record(
            session, ctx.actor(), "role.updated", tenant_id=role.tenant_id, target_type="role", target_id=role.id,
            changes={AUDITED_AS.get(field, field): change for field, change in changes.items()},
        )  # fmt: skip
    return role


async def delete_role(ctx: RequestContext, role_id: str) -> None:
    async with ctx.db.transaction(ctx.scope) as session:
        role = await _own_role(ctx, session, role_id)
        held = await _holders(session, role)
        if held:
            raise Conflict(f"role '{role.code}' is held by {_holding(held)}; reassign them first")
        audit.record(
            session, ctx.actor(), "role.deleted", tenant_id=role.tenant_id, target_type="role", target_id=role.id,
            changes={"name": role.display_name, "code": role.code},
        )  # fmt: skip
        await session.delete(role)


# Reading roles


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


async def role_id_of(ctx: RequestContext, tenant_id: str | None, code: str) -> str | None:
    """The ID of the role a user of `tenant_id` holds by `code` (None: no such role any more)."""
    if code in SYSTEM_ROLES:
        return system_role_id(code)
    row = await ctx.loaders.held_role.load((tenant_id, code))
    return row.id if row else None


async def role_name_for_id(session: AsyncSession, tenant_id: str, role_id: str, field: str = "roleId") -> str:
    """The code users hold the role `role_id` names by, for users of `tenant_id`: a system role's
    or one of the tenant's own. Any other ID (another tenant's role included) is an unknown role."""
    code = system_role_named(role_id)
    if code is None:
        query = select(Role.code).where(Role.id == role_id, Role.tenant_id == tenant_id)
        code = (await session.execute(query)).scalar_one_or_none()
    if code is None:
        raise BadUserInput.field(field, f"unknown role '{role_id}'")
    return code

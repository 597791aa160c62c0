"""A tenant's users: CRUD, suspend/activate, password reset, unlock, per-cluster roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.auth.passwords import hash_password
from app.auth.rbac import PROVIDER_ROLES, SYSTEM_ROLES
from app.auth.tokens import hash_secret, new_secret
from app.context import RequestContext
from app.db.models import (
    AuthSession,
    Cluster,
    ClusterRoleOverride,
    PasswordReset,
    Role,
    Tenant,
    User,
    join_name,
)
from app.db.types import utcnow
from app.errors import BadUserInput, Conflict, FieldErrors, NotFound
from app.ids import new_id
from app.paging import Page
from app.sorting import Sortable, SortKey
from app.validation import email, one_of, text
from resolvers.auth import check_policy, revoke_sessions_where
from resolvers.common import changed_fields, get_or_404, paged
from resolvers.roles import role_name_for_id
from resolvers.sessions import announce_sign_out, revoke_api_tokens_of

USER_STATUSES = ("active", "suspended")
AUTH_PROVIDERS = ("local",)  # how a user signs in: with the password kept here
SORTABLE = Sortable(
    {
        "id": User.id,
        "tenantId": User.tenant_id,
        "email": User.email,
        "username": User.username,
        "name": User.name,
        "firstName": User.first_name,
        "lastName": User.last_name,
        "role": User.role,
        "authProvider": User.auth_provider,
        "status": User.status,
        "lastLoginAt": User.last_login_at,
        "createdAt": User.created_at,
        "updatedAt": User.updated_at,
    },
    User.id,
)


@dataclass
class PasswordResetIssued:
    reset_token: str
    expires_at: datetime


async def _tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await get_or_404(session, Tenant, tenant_id, "tenant")
    if tenant.deleted_at is not None:
        raise NotFound.of("tenant", tenant_id)
    return tenant


async def _user(session: AsyncSession, tenant_id: str, user_id: str) -> User:
    user = await get_or_404(session, User, user_id, "user")
    if user.tenant_id != tenant_id:
        raise NotFound.of("user", user_id)
    return user


async def assignable_role(session: AsyncSession, tenant_id: str, role: str, field: str = "role") -> None:
    errors = FieldErrors()
    system = SYSTEM_ROLES.get(role)
    if system is not None:
        if role in PROVIDER_ROLES:
            errors.add(field, f"'{role}' is a provider role and cannot be given to a tenant user")
    else:
        query = select(Role.id).where(Role.name == role, Role.tenant_id == tenant_id)
        if not (await session.execute(query)).first():
            errors.add(field, f"unknown role '{role}'")
    errors.raise_if_any()


async def list_users(
    ctx: RequestContext,
    tenant_id: str,
    page: Page,
    search: str | None,
    role: str | None,
    status: str | None,
    order: Sequence[SortKey] | None = None,
) -> tuple[list[User], int]:
    own_order = select(User).where(User.tenant_id == tenant_id).order_by(User.created_at, User.id)
    query: Select[Any] = SORTABLE.order(own_order, order)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(User.email).like(pattern), func.lower(User.name).like(pattern)))
    if role:
        query = query.where(User.role == role)
    if status:
        query = query.where(User.status == status)
    async with ctx.db.session(ctx.scope) as session:
        await _tenant(session, tenant_id)
        return await paged(session, query, page)


async def get_user(ctx: RequestContext, tenant_id: str, user_id: str) -> User:
    user = await ctx.loaders.user.load(user_id)
    if user is None or user.tenant_id != tenant_id:
        raise NotFound.of("user", user_id)
    return user


def _user_fields(errors: FieldErrors, data: dict[str, Any]) -> None:
    email(errors, "email", data.get("email"))
    text(errors, "name", data.get("name"))
    text(errors, "firstName", data.get("first_name"), max_len=100)
    text(errors, "lastName", data.get("last_name"), max_len=100)
    one_of(errors, "authProvider", data.get("auth_provider"), AUTH_PROVIDERS)
    text(errors, "avatar", data.get("avatar"), min_len=0, max_len=2000)
    text(errors, "username", data.get("username"), min_len=2, max_len=100)


async def role_of_input(session: AsyncSession, tenant_id: str, data: dict[str, Any]) -> str | None:
    """The role an input gives, by name (`role`) or by ID (`roleId`), checked that a tenant user
    may hold it; None when it gives neither. Given both, they must name the same role."""
    role, field = data.get("role"), "role"
    if data.get("role_id"):
        by_id, field = await role_name_for_id(session, tenant_id, data["role_id"]), "roleId"
        if role and role != by_id:
            raise BadUserInput.field("roleId", f"names role '{by_id}', not '{role}'")
        role = by_id
    if role:
        await assignable_role(session, tenant_id, role, field)
    return role or None


def _new_user_name(data: dict[str, Any]) -> str:
    name = data.get("name") or join_name(data.get("first_name"), data.get("last_name"))
    if not name:
        raise BadUserInput.field("name", "give a name, or a first and last name")
    return str(name)


async def create_user(ctx: RequestContext, tenant_id: str, data: dict[str, Any]) -> User:
    errors = FieldErrors()
    _user_fields(errors, data)
    errors.raise_if_any()
    name = _new_user_name(data)
    async with ctx.db.transaction(ctx.scope) as session:
        tenant = await _tenant(session, tenant_id)
        role = await role_of_input(session, tenant_id, data)
        if role is None:
            raise BadUserInput.field("role", "give a role, by name (role) or by ID (roleId)")
        await check_policy(session, User(tenant_id=tenant_id), data["password"], "password")
        count = (await session.execute(select(func.count()).where(User.tenant_id == tenant_id))).scalar_one()
        if tenant.max_users is not None and count >= tenant.max_users:
            raise Conflict(f"tenant has reached its limit of {tenant.max_users} users")
        await unique_login(session, tenant_id, data["email"], data.get("username"))
        user = User(
            id=new_id("user"),
            tenant_id=tenant_id,
            email=data["email"].lower(),
            username=data.get("username"),
            name=name,
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            auth_provider=data.get("auth_provider") or "local",
            avatar=data.get("avatar"),
            role=role,
            password_hash=await hash_password(data["password"]),
            must_change_password=bool(data.get("must_change_password")),
        )
        session.add(user)
        audit.record(
            session,
            ctx.actor(),
            "user.created",
            tenant_id=tenant_id,
            target_type="user",
            target_id=user.id,
            changes={"email": user.email, "role": user.role},
        )
    return user


async def unique_login(
    session: AsyncSession, tenant_id: str | None, email_value: str | None, username: str | None
) -> None:
    """Emails and usernames are unique within one tenant (or among provider users): another
    tenant's user never makes an address taken, so no answer tells that they exist."""
    same_tenant = User.tenant_id == tenant_id if tenant_id is not None else User.tenant_id.is_(None)
    if email_value:
        query = select(User.id).where(same_tenant, func.lower(User.email) == email_value.lower())
        if (await session.execute(query)).first():
            raise Conflict(f"a user with email '{email_value}' already exists")
    if username:
        query = select(User.id).where(same_tenant, func.lower(User.username) == username.lower())
        if (await session.execute(query)).first():
            raise Conflict(f"a user with username '{username}' already exists")


async def update_user(ctx: RequestContext, tenant_id: str, user_id: str, data: dict[str, Any]) -> User:
    errors = FieldErrors()
    _user_fields(errors, data)
    errors.raise_if_any()
    async with ctx.db.transaction(ctx.scope) as session:
        user = await _user(session, tenant_id, user_id)
        role = await role_of_input(session, tenant_id, data)
        data = {**{k: v for k, v in data.items() if k != "role_id"}, "role": role}
        if role and role != user.role:
            await _keep_an_admin(session, user, "change the role of")
        if data.get("email") and data["email"].lower() != user.email:
            await unique_login(session, tenant_id, data["email"], None)
            data["email"] = data["email"].lower()
        if data.get("username") and data["username"].lower() != (user.username or "").lower():
            await unique_login(session, tenant_id, None, data["username"])
        changes = changed_fields(user, data)
        action = "user.role_changed" if "role" in changes else "user.updated"
        audit.record(
            session, ctx.actor(), action, tenant_id=tenant_id, target_type="user", target_id=user.id, changes=changes
        )
    return user


async def _keep_an_admin(session: AsyncSession, user: User, doing: str) -> None:
    if user.role != "tenant_admin":
        return
    others = select(func.count()).where(
        User.tenant_id == user.tenant_id, User.role == "tenant_admin", User.status == "active", User.id != user.id
    )
    if (await session.execute(others)).scalar_one() == 0:
        raise Conflict(f"cannot {doing} the tenant's last active admin")


async def delete_user(ctx: RequestContext, tenant_id: str, user_id: str) -> None:
    async with ctx.db.transaction(ctx.scope) as session:
        user = await _user(session, tenant_id, user_id)
        if ctx.principal and user.id == ctx.principal.user_id:
            raise Conflict("you cannot delete yourself")
        await _keep_an_admin(session, user, "delete")
        audit.record(
            session,
            ctx.actor(),
            "user.deleted",
            tenant_id=tenant_id,
            target_type="user",
            target_id=user.id,
            changes={"email": user.email},
        )
        await session.delete(user)
    await announce_sign_out(ctx, users=[user_id])


async def set_user_status(ctx: RequestContext, tenant_id: str, user_id: str, status: str) -> User:
    async with ctx.db.transaction(ctx.scope) as session:
        user = await _user(session, tenant_id, user_id)
        if user.status == status:
            raise Conflict(f"user is already {status}")
        if status == "suspended":
            if ctx.principal and user.id == ctx.principal.user_id:
                raise Conflict("you cannot suspend yourself")
            await _keep_an_admin(session, user, "suspend")
            await revoke_sessions_where(session, AuthSession.user_id == user.id, reason="user suspended")
        old, user.status = user.status, status
        audit.record(
            session,
            ctx.actor(),
            f"user.{'suspended' if status == 'suspended' else 'activated'}",
            tenant_id=tenant_id,
            target_type="user",
            target_id=user.id,
            changes={"status": [old, status]},
        )
    if status == "suspended":
        await announce_sign_out(ctx, users=[user.id])
    return user


async def reset_password(
    ctx: RequestContext, tenant_id: str, user_id: str, revoke_api_tokens: bool = True
) -> PasswordResetIssued:
    """Issue a reset token and end the user's sessions; unless the admin keeps them, their API
    tokens end too, now and again when the reset completes (a token made meanwhile included)."""
    async with ctx.db.transaction(ctx.scope) as session:
        user = await _user(session, tenant_id, user_id)
        value = new_secret("rst")
        expires = utcnow() + timedelta(hours=24)
        session.add(
            PasswordReset(
                id=new_id("reset"),
                tenant_id=tenant_id,
                user_id=user.id,
                token_hash=hash_secret(value),
                expires_at=expires,
                revoke_api_tokens=revoke_api_tokens,
            )
        )
        await revoke_sessions_where(session, AuthSession.user_id == user.id, reason="password reset")
        revoked = await revoke_api_tokens_of(session, user.id) if revoke_api_tokens else 0
        audit.record(
            session,
            ctx.actor(),
            "user.password_reset_requested",
            tenant_id=tenant_id,
            target_type="user",
            target_id=user.id,
            changes={"revokeApiTokens": revoke_api_tokens, "revokedApiTokens": revoked},
        )
    await announce_sign_out(ctx, users=[user_id])
    return PasswordResetIssued(reset_token=value, expires_at=expires)


async def unlock_user(ctx: RequestContext, tenant_id: str, user_id: str) -> User:
    async with ctx.db.transaction(ctx.scope) as session:
        user = await _user(session, tenant_id, user_id)
        user.failed_logins, user.first_failed_at, user.locked_until = 0, None, None
        audit.record(session, ctx.actor(), "user.unlocked", tenant_id=tenant_id, target_type="user", target_id=user.id)
    return user


async def set_cluster_role(
    ctx: RequestContext, tenant_id: str, user_id: str, cluster_id: str, role: str | None
) -> User:
    """Give (or with role=None, take back) a user's role on one of the tenant's clusters.
    A role held on a cluster since removed can still be taken back."""
    async with ctx.db.transaction(ctx.scope) as session:
        user = await _user(session, tenant_id, user_id)
        existing = (
            await session.execute(
                select(ClusterRoleOverride).where(
                    ClusterRoleOverride.user_id == user.id, ClusterRoleOverride.cluster_id == cluster_id
                )
            )
        ).scalar_one_or_none()
        if role is not None or existing is None:
            await _live_cluster(session, tenant_id, cluster_id)
        if role is not None:
            await assignable_role(session, tenant_id, role)
        old = existing.role if existing else None
        if existing is not None and role is None:
            await session.delete(existing)
        elif existing is not None and role is not None:
            existing.role = role
        elif role is not None:
            session.add(
                ClusterRoleOverride(
                    id=new_id("cluster_role"), tenant_id=tenant_id, user_id=user.id, cluster_id=cluster_id, role=role
                )
            )
        audit.record(
            session,
            ctx.actor(),
            "user.cluster_role_changed",
            tenant_id=tenant_id,
            target_type="user",
            target_id=user.id,
            changes={"clusterId": cluster_id, "role": [old, role]},
        )
    return user


async def _live_cluster(session: AsyncSession, tenant_id: str, cluster_id: str) -> None:
    """NOT_FOUND, worded as for any missing ID, unless the cluster is the tenant's and not removed."""
    query = select(Cluster.id).where(
        Cluster.id == cluster_id, Cluster.tenant_id == tenant_id, Cluster.deleted_at.is_(None)
    )
    if (await session.execute(query)).first() is None:
        raise NotFound.of("cluster", cluster_id)


async def cluster_roles(ctx: RequestContext, user_id: str) -> list[ClusterRoleOverride]:
    async with ctx.db.session(ctx.scope) as session:
        query = select(ClusterRoleOverride).where(ClusterRoleOverride.user_id == user_id)
        return list((await session.execute(query.order_by(ClusterRoleOverride.cluster_id))).scalars())

"""Turn request credentials (Bearer JWT, Bearer API token, X-API-Key) into a Principal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.auth.rbac import SYSTEM_ROLES
from app.auth.tokens import TokenService, hash_secret
from app.db.models import ApiToken, AuthSession, ClusterRoleOverride, Role, Tenant, User
from app.db.session import Database
from app.db.types import utcnow
from app.errors import Unauthenticated

API_TOKEN_PREFIX = "fgt"
_TOUCH_EVERY = timedelta(minutes=1)


def credential_from(headers: Mapping[str, str]) -> str | None:
    api_key = headers.get("x-api-key")
    if api_key:
        return api_key.strip()
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


async def authenticate(db: Database, tokens: TokenService, credential: str | None) -> Principal | None:
    """Returns None without credentials; raises Unauthenticated for bad ones."""
    if not credential:
        return None
    async with db.session() as session:
        if credential.startswith(API_TOKEN_PREFIX + "_"):
            principal = await _from_api_token(session, credential)
        else:
            principal = await _from_access_token(session, tokens, credential)
        await session.commit()
        return principal


async def _from_access_token(session: AsyncSession, tokens: TokenService, credential: str) -> Principal:
    claims = tokens.decode_access(credential)
    auth_session = await session.get(AuthSession, claims.session_id)
    now = utcnow()
    if auth_session is None or auth_session.revoked_at is not None or auth_session.expires_at <= now:
        raise Unauthenticated("session ended; sign in again")
    if now - auth_session.last_active_at > _TOUCH_EVERY:
        auth_session.last_active_at = now
    user = await session.get(User, claims.user_id)
    principal = await _principal_for(
        session, user, session_id=auth_session.id, impersonator_id=auth_session.impersonator_id
    )
    return replace(principal, expires_at=claims.expires_at)


async def _from_api_token(session: AsyncSession, credential: str) -> Principal:
    token = (
        await session.execute(select(ApiToken).where(ApiToken.token_hash == hash_secret(credential)))
    ).scalar_one_or_none()
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        raise Unauthenticated("invalid or revoked API token")
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        token.last_used_at = now
    user = await session.get(User, token.user_id)
    principal = await _principal_for(session, user, api_token_id=token.id)
    return replace(principal, expires_at=token.expires_at)


async def _principal_for(
    session: AsyncSession,
    user: User | None,
    *,
    session_id: str | None = None,
    api_token_id: str | None = None,
    impersonator_id: str | None = None,
) -> Principal:
    if user is None or user.status != "active":
        raise Unauthenticated("account is not active")
    if user.tenant_id is not None:
        tenant = await session.get(Tenant, user.tenant_id)
        if tenant is None or tenant.status != "active":
            raise Unauthenticated("tenant is suspended or deleted")
    overrides = (
        await session.execute(select(ClusterRoleOverride).where(ClusterRoleOverride.user_id == user.id))
    ).scalars()
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        tenant_id=user.tenant_id,
        permissions=await role_permissions(session, user.role, user.tenant_id),
        session_id=session_id,
        api_token_id=api_token_id,
        impersonator_id=impersonator_id,
        must_change_password=user.must_change_password and api_token_id is None,
        cluster_roles={o.cluster_id: o.role for o in overrides},
    )


async def role_permissions(session: AsyncSession, role: str, tenant_id: str | None) -> frozenset[str]:
    system = SYSTEM_ROLES.get(role)
    if system is not None:
        return system.permissions
    query = select(Role).where(Role.name == role, (Role.tenant_id == tenant_id) | Role.tenant_id.is_(None))
    custom = (await session.execute(query)).scalars().first()
    return frozenset(custom.permissions) if custom else frozenset()


async def still_signed_in(db: Database, principal: Principal) -> bool:
    """Whether the session or API token behind a principal is still valid (for long-lived streams)."""
    async with db.session() as session:
        if principal.session_id is not None:
            row = await session.get(AuthSession, principal.session_id)
            return row is not None and row.revoked_at is None and row.expires_at > utcnow()
        if principal.api_token_id is not None:
            token = await session.get(ApiToken, principal.api_token_id)
            return token is not None and token.revoked_at is None
    return False

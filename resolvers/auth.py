"""Signing in and out: login, refresh-token rotation, logout, password changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.auth.passwords import hash_password, policy_violations, verify_password
from app.auth.tokens import hash_secret, new_secret
from app.context import RequestContext
from app.db.models import AuthSession, PasswordReset, RefreshToken, Tenant, User
from app.db.types import utcnow
from app.errors import BadUserInput, FieldErrors, Unauthenticated
from app.ids import new_id

# A real hash with the current parameters, verified for unknown accounts so they cost the same.
_DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$H802ZnZrjYe9qkX4jQfBWTQtJnmj6Noz+sJrSQ8gzOM"
INVALID_LOGIN = "invalid email or password"


@dataclass
class SignedIn:
    access_token: str
    refresh_token: str
    expires_at: datetime
    user: User


async def login(ctx: RequestContext, email: str, password: str) -> SignedIn:
    actor = ctx.actor()
    async with ctx.db.session() as session:
        user = await _find_login_user(session, email)
        failure = await _check_login(ctx, session, user, password)
        if failure is not None:
            audit.record(
                session,
                actor,
                "auth.login_failed",
                tenant_id=user.tenant_id if user else None,
                target_type="user",
                target_id=user.id if user else None,
                changes={"email": email[:320], "reason": failure},
                success=False,
            )
            await session.commit()
            raise Unauthenticated(failure)
        assert user is not None
        user.failed_logins, user.first_failed_at, user.locked_until = 0, None, None
        user.last_login_at = utcnow()
        signed_in = await start_session(ctx, session, user)
        audit.record(
            session,
            actor.as_user(user.id, user.email, user.tenant_id),
            "auth.login",
            tenant_id=user.tenant_id,
            target_type="user",
            target_id=user.id,
        )
        await session.commit()
        return signed_in


async def _find_login_user(session: AsyncSession, login_name: str) -> User | None:
    name = login_name.strip().lower()
    query = select(User).where(or_(func.lower(User.email) == name, func.lower(User.username) == name))
    return (await session.execute(query)).scalars().first()


async def _check_login(ctx: RequestContext, session: AsyncSession, user: User | None, password: str) -> str | None:
    """None when the login may proceed, else the reason shown to the caller."""
    now = utcnow()
    if user is None:
        await verify_password(_DUMMY_HASH, password)  # same work as for a real account
        return INVALID_LOGIN
    if user.locked_until is not None and user.locked_until > now:
        return f"account locked after repeated failed logins until {user.locked_until:%Y-%m-%dT%H:%M:%SZ}"
    if not await verify_password(user.password_hash, password):
        _count_failure(ctx, user, now)
        return INVALID_LOGIN
    if user.status != "active":
        return "account suspended; ask your administrator"
    if user.tenant_id is not None:
        tenant = await session.get(Tenant, user.tenant_id)
        if tenant is None or tenant.status == "deleted":
            return INVALID_LOGIN
        if tenant.status != "active":
            return f"tenant '{tenant.name}' is suspended; contact your provider"
    return None


def _count_failure(ctx: RequestContext, user: User, now: datetime) -> None:
    window = timedelta(minutes=ctx.settings.lockout_minutes)
    if user.first_failed_at is None or now - user.first_failed_at > window:
        user.first_failed_at, user.failed_logins = now, 0
    user.failed_logins += 1
    if user.failed_logins >= ctx.settings.lockout_threshold:
        user.locked_until = now + window


async def start_session(
    ctx: RequestContext,
    session: AsyncSession,
    user: User,
    *,
    impersonator_id: str | None = None,
    lifetime: timedelta | None = None,
) -> SignedIn:
    now = utcnow()
    refresh_lifetime = lifetime or timedelta(days=ctx.settings.refresh_token_days)
    auth_session = AuthSession(
        id=new_id("session"),
        tenant_id=user.tenant_id,
        user_id=user.id,
        impersonator_id=impersonator_id,
        ip=ctx.ip,
        user_agent=ctx.user_agent,
        created_at=now,
        last_active_at=now,
        expires_at=now + refresh_lifetime,
    )
    session.add(auth_session)
    await session.flush()
    refresh = await _issue_refresh(session, auth_session)
    token, expires = ctx.services.tokens.issue_access(
        user.id, user.tenant_id, auth_session.id, impersonator_id=impersonator_id, lifetime=lifetime
    )
    return SignedIn(access_token=token, refresh_token=refresh, expires_at=expires, user=user)


async def _issue_refresh(session: AsyncSession, auth_session: AuthSession) -> str:
    value = new_secret("rft")
    session.add(
        RefreshToken(
            id=new_id("refresh_token"),
            session_id=auth_session.id,
            token_hash=hash_secret(value),
            expires_at=auth_session.expires_at,
        )
    )
    return value


async def refresh(ctx: RequestContext, refresh_token: str) -> SignedIn:
    """Rotate: the presented token is spent; presenting a spent one revokes its whole family."""
    async with ctx.db.session() as session:
        row = (
            await session.execute(select(RefreshToken).where(RefreshToken.token_hash == hash_secret(refresh_token)))
        ).scalar_one_or_none()
        auth_session = await session.get(AuthSession, row.session_id) if row else None
        if row is None or auth_session is None:
            raise Unauthenticated("invalid refresh token")
        now = utcnow()
        if row.used_at is not None:
            await _revoke_family(ctx, session, auth_session, "refresh token reuse")
            await session.commit()
            raise Unauthenticated("refresh token already used; the session has been revoked")
        if auth_session.revoked_at is not None or row.expires_at <= now:
            raise Unauthenticated("session ended; sign in again")
        user = await session.get(User, auth_session.user_id)
        failure = await _still_allowed(session, user)
        if failure:
            raise Unauthenticated(failure)
        assert user is not None
        row.used_at = now
        auth_session.last_active_at = now
        value = await _issue_refresh(session, auth_session)
        token, expires = ctx.services.tokens.issue_access(
            user.id, user.tenant_id, auth_session.id, impersonator_id=auth_session.impersonator_id
        )
        await session.commit()
        return SignedIn(access_token=token, refresh_token=value, expires_at=expires, user=user)


async def _still_allowed(session: AsyncSession, user: User | None) -> str | None:
    if user is None or user.status != "active":
        return "account is not active"
    if user.tenant_id is not None:
        tenant = await session.get(Tenant, user.tenant_id)
        if tenant is None or tenant.status != "active":
            return "tenant is suspended or deleted"
    return None


async def _revoke_family(ctx: RequestContext, session: AsyncSession, auth_session: AuthSession, reason: str) -> None:
    auth_session.revoked_at = utcnow()
    auth_session.revoked_reason = reason
    audit.record(
        session,
        ctx.actor(),
        "auth.session_revoked",
        tenant_id=auth_session.tenant_id,
        target_type="session",
        target_id=auth_session.id,
        changes={"reason": reason},
    )


async def revoke_sessions_where(session: AsyncSession, *conditions: object, reason: str) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.revoked_at.is_(None), *conditions)  # type: ignore[arg-type]
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


async def logout(ctx: RequestContext) -> None:
    principal = ctx.require_principal()
    if principal.session_id is None:
        return
    async with ctx.db.transaction() as session:
        auth_session = await session.get(AuthSession, principal.session_id)
        if auth_session is not None and auth_session.revoked_at is None:
            auth_session.revoked_at, auth_session.revoked_reason = utcnow(), "logout"
        audit.record(
            session,
            ctx.actor(),
            "auth.logout",
            tenant_id=principal.tenant_id,
            target_type="session",
            target_id=principal.session_id,
        )


async def check_policy(session: AsyncSession, user: User, password: str, field: str) -> None:
    policy = None
    if user.tenant_id is not None:
        tenant = await session.get(Tenant, user.tenant_id)
        policy = (tenant.settings or {}).get("passwordPolicy") if tenant else None
    errors = FieldErrors()
    for problem in policy_violations(password, policy):
        errors.add(field, problem)
    errors.raise_if_any()


async def change_password(ctx: RequestContext, old_password: str, new_password: str) -> None:
    principal = ctx.require_principal()
    async with ctx.db.transaction() as session:
        user = await session.get(User, principal.user_id)
        assert user is not None
        if not await verify_password(user.password_hash, old_password):
            raise BadUserInput.field("oldPassword", "is not your current password")
        if old_password == new_password:
            raise BadUserInput.field("newPassword", "must differ from the current password")
        await check_policy(session, user, new_password, "newPassword")
        user.password_hash = await hash_password(new_password)
        user.must_change_password = False
        await revoke_sessions_where(
            session,
            AuthSession.user_id == user.id,
            AuthSession.id != principal.session_id,
            reason="password changed",
        )
        audit.record(
            session,
            ctx.actor(),
            "auth.password_changed",
            tenant_id=user.tenant_id,
            target_type="user",
            target_id=user.id,
        )


async def complete_password_reset(ctx: RequestContext, token: str, new_password: str) -> None:
    async with ctx.db.transaction() as session:
        reset = (
            await session.execute(select(PasswordReset).where(PasswordReset.token_hash == hash_secret(token)))
        ).scalar_one_or_none()
        if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
            raise BadUserInput.field("token", "is invalid, used or expired")
        user = await session.get(User, reset.user_id)
        assert user is not None
        await check_policy(session, user, new_password, "newPassword")
        reset.used_at = utcnow()
        user.password_hash = await hash_password(new_password)
        user.must_change_password = False
        user.failed_logins, user.locked_until = 0, None
        await revoke_sessions_where(session, AuthSession.user_id == user.id, reason="password reset")
        audit.record(
            session,
            ctx.actor().as_user(user.id, user.email, user.tenant_id),
            "auth.password_reset",
            tenant_id=user.tenant_id,
            target_type="user",
            target_id=user.id,
        )

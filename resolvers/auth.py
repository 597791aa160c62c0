"""Signing in and out: login, refresh-token rotation, logout, password changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.auth import lockout
from app.auth.passwords import hash_password, policy_violations, verify_decoy, verify_password
from app.auth.tokens import hash_secret, new_secret
from app.context import RequestContext
from app.db.models import AuthSession, PasswordReset, RefreshToken, Tenant, User
from app.db.types import utcnow
from app.errors import AccountLocked, AppError, BadUserInput, FieldErrors, Unauthenticated
from app.ids import new_id
from resolvers.sessions import announce_sign_out, revoke_api_tokens_of

INVALID_LOGIN = "invalid email or password"
LOCKED = "account locked after too many failed sign-ins; try again later or ask your administrator"


@dataclass
class SignedIn:
    access_token: str
    refresh_token: str
    expires_at: datetime
    user: User


# Without `tenant`, an email may name accounts in several tenants: the oldest few are candidates,
# and every such sign-in checks this many hashes (decoys filling in), so the answer and its cost
# never tell whether the email is also used elsewhere.
EMAIL_CANDIDATES = 2


async def login(ctx: RequestContext, email: str, password: str, tenant: str | None = None) -> SignedIn:
    """Sign in by email or username, within `tenant` (its slug or ID) when given.

    An unknown email and a wrong password read the same and cost the same: both answer
    INVALID_LOGIN after the same number of argon2 verifications (decoy hashes standing in for
    missing or locked accounts). Each candidate's attempt is counted before its hash is checked,
    so concurrent guesses cannot outrun the lockout. While every account the login names is
    locked, it answers ACCOUNT_LOCKED with the time the lock ends, whatever the password, and
    checks no hash of theirs. Only a caller who gave the right password learns that the
    account or its tenant is suspended.
    """
    async with ctx.db.session() as session:
        candidates = await _login_candidates(session, email, tenant)
        window = timedelta(minutes=ctx.settings.lockout_minutes)
        reserved = [
            user for user in candidates
            if await lockout.reserve_attempt(session, user.id, utcnow(), ctx.settings.lockout_threshold, window)
        ]  # fmt: skip
        await session.commit()  # the attempts count before the slow check, so concurrent guesses see them
        matched = await _matching(reserved, password, 1 if tenant is not None else EMAIL_CANDIDATES)
        if candidates and not reserved:
            await _refuse_locked(ctx, session, candidates, email)
        if len(matched) != 1:
            first = candidates[0] if candidates else None
            cause = None if first is None else "wrong password"
            message = INVALID_LOGIN if not matched else "this email signs in to several tenants: give `tenant`"
            await _refuse(ctx, session, first, email, cause, message=message)
        user = matched[0]
        await lockout.clear(session, user.id)  # the right password: no one is guessing
        refusal = await _refusal_after_password(session, user)
        if refusal is not None:
            await _refuse(ctx, session, user, email, None, message=refusal)
        return await _signed_in(ctx, session, user)


async def _matching(users: list[User], password: str, checks: int) -> list[User]:
    """The accounts whose hash `password` matches, after exactly `checks` verifications."""
    matched = [user for user in users if await verify_password(user.password_hash, password)]
    for _ in range(max(0, checks - len(users))):
        await verify_decoy(password)
    return matched


async def _signed_in(ctx: RequestContext, session: AsyncSession, user: User) -> SignedIn:
    user.last_login_at = utcnow()
    signed_in = await start_session(ctx, session, user)
    audit.record(
        session,
        ctx.actor().as_user(user.id, user.email, user.tenant_id),
        "auth.login",
        tenant_id=user.tenant_id,
        target_type="user",
        target_id=user.id,
    )
    await session.commit()
    return signed_in


async def _login_candidates(session: AsyncSession, login_name: str, tenant: str | None) -> list[User]:
    """The accounts this login may name: the one in `tenant`, or the oldest few using the name
    (so an account made later elsewhere with the same email cannot push an earlier one out)."""
    name = login_name.strip().lower()
    query = (
        select(User)
        .outerjoin(Tenant, Tenant.id == User.tenant_id)
        .where(or_(func.lower(User.email) == name, func.lower(User.username) == name))
        .where(or_(User.tenant_id.is_(None), Tenant.deleted_at.is_(None)))
        .order_by(User.created_at, User.id)
        .limit(1 if tenant is not None else EMAIL_CANDIDATES)
    )
    if tenant is not None:
        query = query.where(or_(Tenant.id == tenant.strip(), Tenant.slug == tenant.strip().lower()))
    return list((await session.execute(query)).scalars().all())


async def _refusal_after_password(session: AsyncSession, user: User) -> str | None:
    """Why a caller with the right password still may not sign in (None: they may)."""
    if user.status != "active":
        return "account suspended; ask your administrator"
    if user.tenant_id is not None:
        tenant = await session.get(Tenant, user.tenant_id)
        if tenant is None or tenant.status == "deleted":
            return INVALID_LOGIN
        if tenant.status != "active":
            return f"tenant '{tenant.name}' is suspended; contact your provider"
    return None


async def _refuse_locked(ctx: RequestContext, session: AsyncSession, accounts: list[User], email: str) -> NoReturn:
    """Every account the login names is locked: refuse, saying when the last lock ends."""
    unlocks_at = await lockout.last_lock_end(session, [user.id for user in accounts])
    error = AccountLocked(LOCKED, unlocks_at=unlocks_at)
    await _refuse(ctx, session, accounts[0], email, "locked", message=LOCKED, error=error)


async def _refuse(
    ctx: RequestContext,
    session: AsyncSession,
    user: User | None,
    email: str,
    cause: str | None,
    *,
    message: str = INVALID_LOGIN,
    error: AppError | None = None,
) -> NoReturn:
    """Audit the failure (what the caller was told, and for an account, why) and refuse with
    `error` (by default UNAUTHENTICATED with `message`)."""
    error = error or Unauthenticated(message)
    changes = {"email": email[:320], "reason": message}
    if cause is not None:
        changes["cause"] = cause
    audit.record(
        session,
        ctx.actor(),
        "auth.login_failed",
        tenant_id=user.tenant_id if user else None,
        target_type="user",
        target_id=user.id if user else None,
        changes=changes,
        success=False,
        error_code=error.code,
    )
    await session.commit()
    raise error


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
    """Rotate: the presented token is spent; presenting a spent one revokes its whole family.

    Spending is one conditional UPDATE, so of concurrent refreshes with one token exactly one
    wins; the others presented a spent token, and revoke the family as any reuse does."""
    async with ctx.db.session() as session:
        row = (
            await session.execute(select(RefreshToken).where(RefreshToken.token_hash == hash_secret(refresh_token)))
        ).scalar_one_or_none()
        auth_session = await session.get(AuthSession, row.session_id) if row else None
        if row is None or auth_session is None:
            raise Unauthenticated("invalid refresh token")
        now = utcnow()
        user = await session.get(User, auth_session.user_id)
        if row.used_at is None:
            if auth_session.revoked_at is not None or row.expires_at <= now:
                raise Unauthenticated("session ended; sign in again")
            failure = await _still_allowed(session, user)
            if failure:
                raise Unauthenticated(failure)
        if row.used_at is not None or not await _spend(session, row, now):
            await _revoke_family(ctx, session, auth_session, "refresh token reuse")
            await session.commit()
            await announce_sign_out(ctx, sessions=[auth_session.id])
            raise Unauthenticated("refresh token already used; the session has been revoked")
        assert user is not None
        auth_session.last_active_at = now
        value = await _issue_refresh(session, auth_session)
        token, expires = ctx.services.tokens.issue_access(
            user.id, user.tenant_id, auth_session.id, impersonator_id=auth_session.impersonator_id
        )
        await session.commit()
        return SignedIn(access_token=token, refresh_token=value, expires_at=expires, user=user)


async def _spend(session: AsyncSession, row: RefreshToken, now: datetime) -> bool:
    """Mark the token used, if no one else did first."""
    spent = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1  # type: ignore[attr-defined,no-any-return]


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
    await announce_sign_out(ctx, sessions=[principal.session_id])


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
    await announce_sign_out(ctx, users=[principal.user_id])


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
        user.failed_logins, user.first_failed_at, user.locked_until = 0, None, None
        await revoke_sessions_where(session, AuthSession.user_id == user.id, reason="password reset")
        revoked = await revoke_api_tokens_of(session, user.id) if reset.revoke_api_tokens else 0
        audit.record(
            session,
            ctx.actor().as_user(user.id, user.email, user.tenant_id),
            "auth.password_reset",
            tenant_id=user.tenant_id,
            target_type="user",
            target_id=user.id,
            changes={"revokeApiTokens": reset.revoke_api_tokens, "revokedApiTokens": revoked},
        )
    await announce_sign_out(ctx, users=[user.id])

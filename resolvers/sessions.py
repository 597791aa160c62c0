"""The caller's signed-in sessions and API tokens."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.auth.authenticate import API_TOKEN_PREFIX
from app.auth.tokens import hash_secret, new_secret
from app.context import RequestContext
from app.db.models import ApiToken, AuthSession
from app.db.types import utcnow
from app.errors import Conflict, FieldErrors, Forbidden, NotFound
from app.ids import new_id
from app.realtime.expiry import SIGN_OUT_CHANNEL, sign_out_message
from app.validation import text
from resolvers.common import get_or_404


@dataclass
class ApiTokenCreated:
    token: ApiToken
    value: str


async def list_sessions(ctx: RequestContext) -> list[AuthSession]:
    principal = ctx.require_principal()
    query = (
        select(AuthSession)
        .where(
            AuthSession.user_id == principal.user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        .order_by(AuthSession.created_at.desc())
    )
    async with ctx.db.session(ctx.scope) as session:
        return list((await session.execute(query)).scalars())


async def revoke_session(ctx: RequestContext, session_id: str) -> None:
    """Your own sessions; a user admin may also end any session of their tenant's users."""
    principal = ctx.require_principal()
    async with ctx.db.transaction(ctx.scope) as session:
        target = await get_or_404(session, AuthSession, session_id, "session")
        if target.user_id != principal.user_id and not principal.can("users:write"):
            raise Forbidden("only a user administrator may end another user's session")
        if target.revoked_at is not None:
            raise Conflict("session is already revoked")
        target.revoked_at, target.revoked_reason = utcnow(), "revoked"
        audit.record(
            session,
            ctx.actor(),
            "auth.session_revoked",
            tenant_id=target.tenant_id,
            target_type="session",
            target_id=target.id,
            changes={"userId": target.user_id},
        )
    await announce_sign_out(ctx, sessions=[session_id])


async def list_api_tokens(ctx: RequestContext) -> list[ApiToken]:
    principal = ctx.require_principal()
    query = (
        select(ApiToken)
        .where(ApiToken.user_id == principal.user_id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc())
    )
    async with ctx.db.session(ctx.scope) as session:
        return list((await session.execute(query)).scalars())


async def create_api_token(ctx: RequestContext, name: str, expires_in_days: int | None) -> ApiTokenCreated:
    principal = ctx.require_principal()
    errors = FieldErrors()
    text(errors, "name", name, max_len=100)
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        errors.add("expiresInDays", "must be between 1 and 3650")
    errors.raise_if_any()
    value = new_secret(API_TOKEN_PREFIX)
    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(
        id=new_id("api_token"),
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        name=name,
        token_hash=hash_secret(value),
        prefix=value[:8],
        expires_at=expires,
    )
    async with ctx.db.transaction(ctx.scope) as session:
        session.add(token)
        audit.record(
            session,
            ctx.actor(),
            "api_token.created",
            tenant_id=principal.tenant_id,
            target_type="api_token",
            target_id=token.id,
            changes={"name": name},
        )
    return ApiTokenCreated(token=token, value=value)


async def revoke_api_token(ctx: RequestContext, token_id: str) -> None:
    principal = ctx.require_principal()
    async with ctx.db.transaction(ctx.scope) as session:
        token = await get_or_404(session, ApiToken, token_id, "API token")
        if token.user_id != principal.user_id or token.revoked_at is not None:
            raise NotFound.of("API token", token_id)
        token.revoked_at = utcnow()
        audit.record(
            session,
            ctx.actor(),
            "api_token.revoked",
            tenant_id=principal.tenant_id,
            target_type="api_token",
            target_id=token.id,
        )
    await announce_sign_out(ctx, api_tokens=[token_id])


async def revoke_api_tokens_of(session: AsyncSession, user_id: str) -> int:
    """End every live API token of a user (their password was reset); how many there were."""
    revoked = await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(revoked.rowcount)  # type: ignore[attr-defined]


async def announce_sign_out(
    ctx: RequestContext,
    *,
    sessions: Iterable[str | None] = (),
    api_tokens: Iterable[str] = (),
    users: Iterable[str] = (),
    tenants: Iterable[str] = (),
) -> None:
    """Tell every replica, after the commit, that these credentials ended: the live streams
    they authorised stop now, not at their next recheck."""
    message = sign_out_message([s for s in sessions if s], api_tokens, users, tenants)
    await ctx.services.bus.publish(SIGN_OUT_CHANNEL, message)

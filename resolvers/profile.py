"""The caller's own account: profile, preferences, recent activity."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import audit
from app.context import RequestContext
from app.db.models import AuditLog, User
from app.errors import BadUserInput, FieldErrors
from app.validation import email, text
from resolvers.common import changed_fields
from resolvers.users import unique_login


async def me(ctx: RequestContext) -> User:
    principal = ctx.require_principal()
    user = await ctx.loaders.user.load(principal.user_id)
    assert user is not None
    return user


async def update_profile(ctx: RequestContext, data: dict[str, Any]) -> User:
    principal = ctx.require_principal()
    errors = FieldErrors()
    text(errors, "name", data.get("name"))
    email(errors, "email", data.get("email"))
    text(errors, "avatar", data.get("avatar"), min_len=0, max_len=2000)
    errors.raise_if_any()
    async with ctx.db.transaction(ctx.scope) as session:
        user = await session.get(User, principal.user_id)
        assert user is not None
        if data.get("email") and data["email"].lower() != user.email:
            await unique_login(session, user.tenant_id, data["email"], None)
            data["email"] = data["email"].lower()
        changes = changed_fields(user, data)
        audit.record(
            session,
            ctx.actor(),
            "profile.updated",
            tenant_id=user.tenant_id,
            target_type="user",
            target_id=user.id,
            changes=changes,
        )
    return user


async def update_preferences(ctx: RequestContext, preferences: Any) -> User:
    principal = ctx.require_principal()
    if not isinstance(preferences, dict):
        raise BadUserInput.field("preferences", "must be an object")
    if len(str(preferences)) > 10_000:
        raise BadUserInput.field("preferences", "must be at most 10000 characters")
    async with ctx.db.transaction(ctx.scope) as session:
        user = await session.get(User, principal.user_id)
        assert user is not None
        user.preferences = {**(user.preferences or {}), **preferences}
        audit.record(
            session,
            ctx.actor(),
            "profile.preferences_updated",
            tenant_id=user.tenant_id,
            target_type="user",
            target_id=user.id,
            changes={"keys": sorted(preferences)},
        )
    return user


async def recent_activity(ctx: RequestContext, limit: int) -> list[AuditLog]:
    principal = ctx.require_principal()
    if not 1 <= limit <= 100:
        raise BadUserInput.field("limit", "must be between 1 and 100")
    query = (
        select(AuditLog)
        .where(AuditLog.actor_id == principal.user_id, AuditLog.tenant_id == principal.tenant_id)
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
    )
    async with ctx.db.session(ctx.scope) as session:
        return list((await session.execute(query)).scalars())

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.db import models
from resolvers import auth as resolve
from resolvers import sessions as resolve_sessions
from schema.common import Done
from schema.permissions import SignedIn, SignedInDuringPasswordChange


@strawberry.type
class AuthUser:
    id: strawberry.ID
    email: str
    name: str
    first_name: str | None
    last_name: str | None
    role: str
    tenant_id: strawberry.ID | None


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_at: datetime
    token_type: str
    must_change_password: bool
    user: AuthUser

    @classmethod
    def from_signed_in(cls, s: resolve.SignedIn) -> AuthPayload:
        u = s.user
        return cls(
            access_token=s.access_token,
            refresh_token=s.refresh_token,
            expires_at=s.expires_at,
            token_type="Bearer",
            must_change_password=u.must_change_password,
            user=AuthUser(
                id=strawberry.ID(u.id),
                email=u.email,
                name=u.name,
                first_name=u.first_name,
                last_name=u.last_name,
                role=u.role,
                tenant_id=strawberry.ID(u.tenant_id) if u.tenant_id else None,
            ),
        )


@strawberry.type
class Session:
    id: strawberry.ID
    user_id: strawberry.ID
    created_at: datetime
    last_active_at: datetime
    expires_at: datetime
    ip: str
    user_agent: str
    current: bool
    impersonator_id: strawberry.ID | None

    @classmethod
    def from_model(cls, m: models.AuthSession, current_id: str | None) -> Session:
        return cls(
            id=strawberry.ID(m.id),
            user_id=strawberry.ID(m.user_id),
            created_at=m.created_at,
            last_active_at=m.last_active_at,
            expires_at=m.expires_at,
            ip=m.ip,
            user_agent=m.user_agent,
            current=m.id == current_id,
            impersonator_id=strawberry.ID(m.impersonator_id) if m.impersonator_id else None,
        )


@strawberry.type
class ApiToken:
    id: strawberry.ID
    name: str
    user_id: strawberry.ID
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def from_model(cls, m: models.ApiToken) -> ApiToken:
        return cls(
            id=strawberry.ID(m.id),
            name=m.name,
            user_id=strawberry.ID(m.user_id),
            prefix=m.prefix,
            created_at=m.created_at,
            last_used_at=m.last_used_at,
            expires_at=m.expires_at,
        )


@strawberry.type
class ApiTokenCreated:
    token: ApiToken
    value: str = strawberry.field(description="The token itself: shown only this once.")


@strawberry.type
class AuthQuery:
    @strawberry.field(permission_classes=[SignedIn])
    async def sessions(self, info: Info) -> list[Session] | None:
        current = info.context.principal.session_id
        return [Session.from_model(s, current) for s in await resolve_sessions.list_sessions(info.context)]

    @strawberry.field(permission_classes=[SignedIn])
    async def api_tokens(self, info: Info) -> list[ApiToken] | None:
        return [ApiToken.from_model(t) for t in await resolve_sessions.list_api_tokens(info.context)]


@strawberry.type
class AuthMutation:
    @strawberry.mutation
    async def login(
        self,
        info: Info,
        email: str,
        password: str,
        tenant: Annotated[
            str | None,
            strawberry.argument(description="The tenant's slug or ID; needed when the email is in several tenants"),
        ] = None,
    ) -> AuthPayload:
        return AuthPayload.from_signed_in(await resolve.login(info.context, email, password, tenant))

    @strawberry.mutation
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        return AuthPayload.from_signed_in(await resolve.refresh(info.context, refresh_token))

    @strawberry.mutation(permission_classes=[SignedInDuringPasswordChange])
    async def logout(self, info: Info) -> Done:
        await resolve.logout(info.context)
        return Done(id=None)

    @strawberry.mutation(permission_classes=[SignedInDuringPasswordChange])
    async def change_password(self, info: Info, old_password: str, new_password: str) -> Done:
        await resolve.change_password(info.context, old_password, new_password)
        return Done(id=None)

    @strawberry.mutation
    async def complete_password_reset(self, info: Info, token: str, new_password: str) -> Done:
        await resolve.complete_password_reset(info.context, token, new_password)
        return Done(id=None)

    @strawberry.mutation(permission_classes=[SignedIn])
    async def revoke_session(self, info: Info, id: strawberry.ID) -> Done:
        await resolve_sessions.revoke_session(info.context, str(id))
        return Done(id=id)

    @strawberry.mutation(permission_classes=[SignedIn])
    async def create_api_token(self, info: Info, name: str, expires_in_days: int | None = None) -> ApiTokenCreated:
        created = await resolve_sessions.create_api_token(info.context, name, expires_in_days)
        return ApiTokenCreated(token=ApiToken.from_model(created.token), value=created.value)

    @strawberry.mutation(permission_classes=[SignedIn])
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> Done:
        await resolve_sessions.revoke_api_token(info.context, str(id))
        return Done(id=id)

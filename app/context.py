"""The per-request context: who calls, from where, and the request's own loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from app.audit import Actor, HttpFacts
from app.auth.authenticate import authenticate, credential_from
from app.auth.principal import Principal
from app.db.session import Database
from app.errors import AppError, Unauthenticated
from app.k8s.identity import Identity
from app.services import Services
from app.settings import Settings
from app.telemetry.access import access_facts
from loaders import Loaders


@dataclass
class RequestContext:
    request: Request | WebSocket
    response: Response | None
    services: Services
    principal: Principal | None
    auth_error: AppError | None
    request_id: str
    loaders: Loaders
    cost: dict[str, int] = field(default_factory=dict)
    field_costs: dict[str, int] = field(default_factory=dict)  # what one call of each field costs
    connection_params: dict[str, object] | None = None  # a websocket's connection_init payload
    http: HttpFacts | None = None  # the REST call this request runs for, if any (its audit rows say so)

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def scope(self) -> str | None:
        """The tenant every database statement of this request is limited to."""
        return self.principal.tenant_id if self.principal else None

    @property
    def principal_id(self) -> str | None:
        return self.principal.user_id if self.principal else None

    def require_principal(self) -> Principal:
        if self.auth_error is not None:
            raise self.auth_error
        if self.principal is None:
            raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
        return self.principal

    @property
    def ip(self) -> str:
        return self.request.client.host if self.request.client else ""

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("user-agent", "")[:500]

    def kube_identity(self) -> Identity | None:
        """Who Kubernetes calls are made for: clusters' own audit logs then name the person."""
        p = self.principal
        if p is None:
            return None
        groups = [f"fleetgraph:role:{p.role}"]
        if p.tenant_id:
            groups.insert(0, f"fleetgraph:tenant:{p.tenant_id}")
        if p.impersonator_id:
            groups.append(f"fleetgraph:impersonated-by:{p.impersonator_id}")
        return Identity(user=p.email, groups=groups)

    def actor(self) -> Actor:
        p = self.principal
        return Actor(
            user_id=p.user_id if p else None,
            email=p.email if p else None,
            tenant_id=p.tenant_id if p else None,
            impersonator_id=p.impersonator_id if p else None,
            ip=self.ip,
            user_agent=self.user_agent,
            request_id=self.request_id,
            http=self.http,
        )


async def sign_in_websocket(ctx: RequestContext, params: dict[str, object]) -> None:
    """Authenticate a websocket from its connection_init payload (or its handshake headers)."""
    raw = params.get("Authorization") or params.get("authorization") or params.get("token")
    credential = str(params.get("X-API-Key") or params.get("apiKey") or raw or "")
    if credential[:7].lower() == "bearer ":
        credential = credential[7:].strip()
    if credential:
        ctx.principal = await authenticate(ctx.services.db, ctx.services.tokens, credential)
        ctx.auth_error = None
    if ctx.principal is None:
        raise Unauthenticated('send a token in connection_init: {"Authorization": "Bearer <token>"}')
    _note_caller(ctx.request, ctx.principal)
    services = ctx.services
    ctx.loaders = Loaders(services.db, ctx.principal.tenant_id, services.gateway, services.sealer)


def _note_caller(request: Request | WebSocket, principal: Principal | None) -> None:
    """Who called, for the request's access line (app/telemetry/access.py)."""
    if principal is not None:
        facts = access_facts(request.scope)
        facts.tenant, facts.user = principal.tenant_id, principal.user_id


async def build_context(
    services: Services, request: Request | WebSocket, response: Response | None, credential: str | None = None
) -> RequestContext:
    principal: Principal | None = None
    auth_error: AppError | None = None
    try:
        principal = await authenticate(services.db, services.tokens, credential or credential_from(request.headers))
    except Unauthenticated as exc:
        auth_error = exc
    scope = principal.tenant_id if principal else None
    _note_caller(request, principal)
    return RequestContext(
        request=request,
        response=response,
        services=services,
        principal=principal,
        auth_error=auth_error,
        request_id=request.scope.get("request_id", ""),
        loaders=Loaders(services.db, scope, services.gateway, services.sealer),
    )

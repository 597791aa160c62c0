"""A small GraphQL-over-HTTP client for tests, and the tenant fixtures built with it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "correct-horse-battery-9"


class Api:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self, query: str, variables: dict | None = None, token: str | None = None, headers: dict | None = None
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )

    async def run(
        self, query: str, variables: dict | None = None, token: str | None = None, headers: dict | None = None
    ) -> dict[str, Any]:
        response = await self.post(query, variables, token, headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def ok(self, query: str, variables: dict | None = None, token: str | None = None) -> dict[str, Any]:
        body = await self.run(query, variables, token)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(self, query: str, variables: dict | None = None, token: str | None = None) -> dict[str, Any]:
        body = await self.run(query, variables, token)
        assert body.get("errors"), body
        error: dict[str, Any] = body["errors"][0]
        return error

    async def code(self, query: str, variables: dict | None = None, token: str | None = None) -> str:
        return str((await self.error(query, variables, token))["extensions"]["code"])

    async def login(self, email: str, password: str) -> dict[str, Any]:
        data = await self.ok(
            "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken refreshToken expiresAt "
            "tokenType mustChangePassword user { id email role tenantId } } }",
            {"e": email, "p": password},
        )
        return dict(data["login"])


@dataclass
class TenantUsers:
    id: str
    slug: str
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)


CREATE_TENANT = """
mutation($input: CreateTenantInput!) {
  createTenant(input: $input) { tenant { id slug status } adminUser { id email mustChangePassword } initialPassword }
}"""

CREATE_USER = """
mutation($t: ID!, $input: CreateUserInput!) { createUser(tenantId: $t, input: $input) { id email role } }"""


async def make_tenant(
    api: Api, provider_token: str, roles: tuple[str, ...] = ("operator", "viewer"), **extra: Any
) -> TenantUsers:
    """A tenant whose admin has changed the one-time password, plus a signed-in user per role."""
    slug = f"t-{uuid.uuid4().hex[:10]}"
    created = (
        await api.ok(
            CREATE_TENANT,
            {"input": {"name": f"Tenant {slug}", "adminEmail": f"admin@{slug}.test", "slug": slug, **extra}},
            provider_token,
        )
    )["createTenant"]
    tenant = TenantUsers(id=created["tenant"]["id"], slug=slug)
    admin = await api.login(created["adminUser"]["email"], created["initialPassword"])
    await api.ok(
        "mutation($o:String!,$n:String!){ changePassword(oldPassword:$o,newPassword:$n){ ok } }",
        {"o": created["initialPassword"], "n": PASSWORD},
        admin["accessToken"],
    )
    tenant.tokens["tenant_admin"] = admin["accessToken"]
    tenant.user_ids["tenant_admin"] = created["adminUser"]["id"]
    tenant.emails["tenant_admin"] = created["adminUser"]["email"]
    for role in roles:
        email = f"{role}@{slug}.test"
        user = await api.ok(
            CREATE_USER,
            {"t": tenant.id, "input": {"email": email, "name": role.title(), "role": role, "password": PASSWORD}},
            admin["accessToken"],
        )
        tenant.user_ids[role] = user["createUser"]["id"]
        tenant.emails[role] = email
        tenant.tokens[role] = (await api.login(email, PASSWORD))["accessToken"]
    return tenant

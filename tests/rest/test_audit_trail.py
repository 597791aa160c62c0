"""A change made through a REST path is audited once, by the GraphQL operation the row runs,
and its audit row carries the HTTP method, the path called and the status answered."""

from __future__ import annotations

import uuid

from tests.rest.world import World

AUDIT = """query($a:String!,$t:ID){ auditLogs(filter:{action:$a,tenantId:$t}){ nodes {
  action targetId success httpMethod httpPath httpStatus } } }"""


async def test_a_rest_change_is_audited_with_its_method_path_and_status(world: World) -> None:
    slug = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Bearer {world.provider}"}
    body = {"name": f"Audited {slug}", "adminEmail": f"admin@{slug}.test"}
    created = await world.api.http.post("/api/provider/tenants", json=body, headers=headers)
    assert created.status_code == 200, created.text
    tenant_id = created.json()["data"]["tenant"]["id"]
    rows = (await world.gql(AUDIT, {"a": "tenant.created", "t": tenant_id}, role="provider"))["auditLogs"]["nodes"]
    mine = [r for r in rows if r["targetId"] == tenant_id]
    assert mine and all(r["httpMethod"] == "POST" for r in mine), rows
    assert {(r["httpPath"], r["httpStatus"], r["success"]) for r in mine} == {("/api/provider/tenants", 200, True)}


async def test_a_graphql_change_has_no_http_facts(world: World) -> None:
    slug = uuid.uuid4().hex[:8]
    created = await world.gql(
        "mutation($i:CreateTenantInput!){ createTenant(input:$i){ tenant { id } } }",
        {"i": {"name": f"Plain {slug}", "adminEmail": f"admin@{slug}.test"}},
        role="provider",
    )
    tenant_id = created["createTenant"]["tenant"]["id"]
    rows = (await world.gql(AUDIT, {"a": "tenant.created", "t": tenant_id}, role="provider"))["auditLogs"]["nodes"]
    assert rows and all(r["httpMethod"] is None and r["httpStatus"] is None for r in rows), rows

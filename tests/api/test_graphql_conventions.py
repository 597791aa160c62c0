"""GraphQL over HTTP: GET and POST, request IDs, GraphiQL, query cost and limits, paging, refetching
by global ID, input errors, and a third-party client."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport
from sqlalchemy import func, select

from app.db.models import User
from app.db.session import Database
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from tests.api.conftest import SECRET
from tests.support.api import PASSWORD, Api, TenantUsers
from tests.support.server import serving

ME = "{ me { id } }"
MAX_COST = 20_000


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


@pytest.fixture(scope="module")
async def strict(database_url: str) -> AsyncIterator[Api]:
    """A second app on the same database, with a shallow depth limit and a small cost budget."""
    settings = load_settings(
        database_url=database_url,
        secret_key=SECRET,
        max_query_depth=3,
        tenant_cost_budget=100,
        tenant_cost_window_seconds=3600,
    )
    async with (
        serving(create_app(settings, Services.from_settings(settings))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Api(http)


# --- HTTP -----------------------------------------------------------------------------------------


async def test_get_runs_a_query(api: Api, tenant_a: TenantUsers) -> None:
    response = await api.http.get("/graphql", params={"query": ME}, headers=bearer(tenant_a.tokens["viewer"]))
    assert response.status_code == 200
    assert response.json()["data"]["me"]["id"] == tenant_a.user_ids["viewer"]


async def test_get_refuses_a_mutation_and_writes_nothing(api: Api, tenant_a: TenantUsers) -> None:
    token = tenant_a.tokens["viewer"]
    mutation = "mutation($p:JSON!){ updatePreferences(preferences:$p){ preferences } }"
    key = f"viaGet{uuid.uuid4().hex[:8]}"
    params = {"query": mutation, "variables": f'{{"p": {{"{key}": true}}}}'}
    response = await api.http.get("/graphql", params=params, headers=bearer(token))
    assert response.status_code in (400, 405)
    assert "mutation" in response.text.lower()
    assert key not in (await api.ok("{ me { preferences } }", token=token))["me"]["preferences"]
    # the same mutation over POST is accepted, so GET is what was refused
    posted = await api.ok(mutation, {"p": {key: True}}, token)
    assert posted["updatePreferences"]["preferences"][key] is True


async def test_request_id_is_echoed_or_generated(api: Api, tenant_a: TenantUsers) -> None:
    given = f"req-{uuid.uuid4().hex[:12]}"
    assert (await api.post(ME, headers={"X-Request-ID": given})).headers["x-request-id"] == given
    generated = (await api.post(ME)).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert (await api.post(ME)).headers["x-request-id"] != generated
    replaced = (await api.post(ME, headers={"X-Request-ID": "two words; and more"})).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    # the ID chosen by the client is the one the audit trail records
    admin = tenant_a.tokens["tenant_admin"]
    body = await api.run(
        "mutation { updatePreferences(preferences:{rid:1}) { id } }", token=admin, headers={"X-Request-ID": given}
    )
    assert not body.get("errors"), body["errors"]
    logs = await api.ok(
        '{ auditLogs(filter:{action:"profile.preferences_updated"}, first:1) { nodes { requestId } } }', token=admin
    )
    assert logs["auditLogs"]["nodes"][0]["requestId"] == given


async def test_graphiql_is_served_to_a_browser(api: Api) -> None:
    response = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"query { me { id } }", b"null", b"42", b'"a string"'],
    ids=["broken", "empty", "graphql-text", "null", "number", "string"],
)
async def test_a_body_that_is_not_a_json_object_is_a_400(api: Api, content: bytes) -> None:
    response = await api.http.post("/graphql", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text


# --- Query cost and limits ------------------------------------------------------------------------


async def test_cost_is_reported_on_every_response(api: Api, tenant_a: TenantUsers) -> None:
    viewer = tenant_a.tokens["viewer"]
    bodies = [
        await api.run(ME, token=viewer),  # answered
        await api.run(ME),  # unauthenticated
        await api.run("query($t:ID!){ users(tenantId:$t){ totalCount } }", {"t": tenant_a.id}, viewer),  # forbidden
        await api.run("{ me { nope } }", token=viewer),  # invalid
    ]
    for body in bodies:
        cost = body["extensions"]["cost"]
        assert isinstance(cost["requested"], int) and cost["maximum"] == MAX_COST, body
    assert bodies[0]["extensions"]["cost"]["requested"] == 2


async def test_cost_grows_with_page_size(api: Api, tenant_a: TenantUsers) -> None:
    query = "query($t:ID!,$n:Int){ users(tenantId:$t, first:$n){ edges { node { id tenant { id } } } } }"
    admin = tenant_a.tokens["tenant_admin"]

    async def cost(size: int) -> int:
        body = await api.run(query, {"t": tenant_a.id, "n": size}, admin)
        assert not body.get("errors"), body["errors"]
        return int(body["extensions"]["cost"]["requested"])

    # the connection field costs 1; each of its page's items: edges 1 + node 1 + id 1 + tenant 1 + id 1
    assert await cost(5) == 1 + 5 * 5
    assert await cost(50) == 1 + 50 * 5
    literal = await api.run(f'{{ users(tenantId:"{tenant_a.id}", first:5){{ totalCount }} }}', token=admin)
    assert literal["extensions"]["cost"]["requested"] == 1 + 5 * 1


async def test_a_query_over_the_cost_maximum_is_refused_before_execution(api: Api, tenant_a: TenantUsers) -> None:
    admin = tenant_a.tokens["tenant_admin"]
    before = (await api.run(ME, token=admin))["extensions"]["cost"]["budgetRemaining"]
    page = "users(tenantId:$t, first:100){ edges { node { id email name role status tenant { id name slug } } } }"
    query = "query($t:ID!){ " + " ".join(f"u{i}: {page}" for i in range(20)) + " }"
    body = await api.run(query, {"t": tenant_a.id}, admin)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert f"exceeds the maximum of {MAX_COST}" in body["errors"][0]["message"]
    assert body.get("data") is None and "path" not in body["errors"][0]
    assert body["extensions"]["cost"]["requested"] == 20 * (1 + 100 * 11)
    # nothing ran, and nothing was charged to the tenant's budget
    assert "budgetRemaining" not in body["extensions"]["cost"]
    after = (await api.run(ME, token=admin))["extensions"]["cost"]["budgetRemaining"]
    assert after == before - 2


def assert_refused(body: dict[str, Any], fragment: str) -> None:
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert fragment in body["errors"][0]["message"]
    assert body.get("data") is None


async def test_alias_limit(api: Api) -> None:
    def aliases(n: int) -> str:
        return "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"

    assert not (await api.run(aliases(30))).get("errors")
    assert_refused(await api.run(aliases(31)), "Allowed: 30")


async def test_directive_limit(api: Api) -> None:
    def directives(n: int) -> str:
        return "{ " + " ".join(f"a{i}: __typename @include(if: true)" for i in range(n)) + " }"

    assert not (await api.run(directives(20))).get("errors")
    assert_refused(await api.run(directives(21)), "more than 20")


async def test_token_limit(api: Api) -> None:
    assert not (await api.run("{ " + "__typename " * 100 + "}")).get("errors")
    assert_refused(await api.run("{ " + "__typename " * 3000 + "}"), "3000 tokens")


async def test_depth_limit(strict: Api) -> None:
    shallow = '{ users(tenantId:"x", first:1) { edges { node { id } } } }'
    assert codes(await strict.run(shallow)) == ["UNAUTHENTICATED"]  # validated, then refused for lack of a token
    deep = '{ users(tenantId:"x", first:1) { edges { node { tenant { id } } } } }'
    assert_refused(await strict.run(deep), "maximum operation depth of 3")


async def test_tenant_cost_budget_is_rate_limited_once_spent(
    strict: Api, tenant_a: TenantUsers, tenant_b: TenantUsers
) -> None:
    viewer = tenant_a.tokens["viewer"]
    query = "{ " + " ".join(f"m{i}: me {{ id email name }}" for i in range(15)) + " }"  # 15 * 4 = 60
    first = await strict.run(query, token=viewer)
    assert not first.get("errors"), first["errors"]
    assert first["extensions"]["cost"] == {"requested": 60, "budgetRemaining": 40, "maximum": MAX_COST}
    second = await strict.run(query, token=viewer)
    assert codes(second) == ["RATE_LIMITED"] and second.get("data") is None
    assert (await strict.run(ME, token=viewer))["extensions"]["cost"]["budgetRemaining"] == 38
    other = await strict.run(ME, token=tenant_b.tokens["tenant_admin"])  # another tenant has its own budget
    assert not other.get("errors") and other["extensions"]["cost"]["budgetRemaining"] == 98


# --- Paging ---------------------------------------------------------------------------------------

PAGE = """query($t:ID!,$f:Int,$a:String,$p:Int,$s:Int){ users(tenantId:$t, first:$f, after:$a, page:$p, pageSize:$s){
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } }"""


async def test_cursor_and_page_number_paging_agree(api: Api, tenant_a: TenantUsers, db: Database) -> None:
    admin = tenant_a.tokens["tenant_admin"]
    async with db.session() as session:
        total = (await session.execute(select(func.count()).where(User.tenant_id == tenant_a.id))).scalar_one()
    assert total >= 4

    async def fetch(**args: Any) -> dict[str, Any]:
        page: dict[str, Any] = (await api.ok(PAGE, {"t": tenant_a.id, **args}, admin))["users"]
        assert page["totalCount"] == total
        return page

    everything = [e["node"]["id"] for e in (await fetch(f=100))["edges"]]
    assert len(everything) == total == len(set(everything))
    by_cursor: list[str] = []
    cursor: str | None = None
    while True:
        page = await fetch(f=3, a=cursor)
        by_cursor += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (cursor is not None)
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    by_number: list[str] = []
    for number in range(1, -(-total // 3) + 1):
        page = await fetch(p=number, s=3)
        by_number += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["hasNextPage"] is (number * 3 < total)
    assert by_cursor == by_number == everything
    assert (await fetch(p=-(-total // 3) + 1, s=3))["edges"] == []


@pytest.mark.parametrize(
    "args, field",
    [
        ({"a": "not-a-cursor"}, "after"),
        ({"a": base64.urlsafe_b64encode(b"offset:-4").decode()}, "after"),
        ({"s": 101}, "pageSize"),
        ({"f": 101}, "first"),
        ({"p": 0}, "page"),
    ],
    ids=["garbage-cursor", "negative-cursor", "pageSize-101", "first-101", "page-0"],
)
async def test_bad_paging_is_bad_user_input(api: Api, tenant_a: TenantUsers, args: dict[str, Any], field: str) -> None:
    body = await api.run(PAGE, {"t": tenant_a.id, **args}, tenant_a.tokens["tenant_admin"])
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert [d["field"] for d in body["errors"][0]["extensions"]["details"]] == [field]


# --- Refetching and input errors ------------------------------------------------------------------

NODE = """query($i:ID!){ node(id:$i){ __typename id
  ... on Tenant { slug } ... on User { email } ... on Role { name } ... on AuditEntry { action } } }"""


async def test_node_refetches_each_type_by_id(api: Api, tenant_a: TenantUsers) -> None:
    admin = tenant_a.tokens["tenant_admin"]
    name = f"refetch-{uuid.uuid4().hex[:8]}"
    role = await api.ok("mutation($n:String!){ createRole(input:{name:$n, permissions:[]}){ id } }", {"n": name}, admin)
    entry = (await api.ok("{ auditLogs(first:1) { nodes { id action } } }", token=admin))["auditLogs"]["nodes"][0]
    expected = [
        (tenant_a.id, "Tenant", "slug", tenant_a.slug),
        (tenant_a.user_ids["viewer"], "User", "email", tenant_a.emails["viewer"]),
        (role["createRole"]["id"], "Role", "name", name),
        (entry["id"], "AuditEntry", "action", entry["action"]),
    ]
    for identifier, typename, field, value in expected:
        node = (await api.ok(NODE, {"i": identifier}, admin))["node"]
        assert (node["__typename"], node["id"], node[field]) == (typename, identifier, value)


@pytest.mark.parametrize(
    "query, variables",
    [
        ('{ users(tenantId:"x", first:"ten") { totalCount } }', {}),
        ('query($f:Int){ users(tenantId:"x", first:$f) { totalCount } }', {"f": "ten"}),
        ("query($t:ID!){ users(tenantId:$t) { totalCount } }", {}),
        ("query($t:ID!){ users(tenantId:$t) { totalCount } }", {"t": {"an": "object"}}),
        ("{ users { totalCount } }", {}),
        ("{ me { nope } }", {}),
        ("{ me(id: 1) { id } }", {}),
        ("{ nothingHere }", {}),
        ("{ me { id }", {}),
    ],
    ids=[
        "literal-type",
        "variable-type",
        "variable-missing",
        "variable-object",
        "argument-missing",
        "unknown-field",
        "unknown-argument",
        "unknown-root-field",
        "syntax",
    ],
)
async def test_invalid_requests_are_bad_user_input(
    api: Api, tenant_a: TenantUsers, query: str, variables: dict[str, Any]
) -> None:
    body = await api.run(query, variables, tenant_a.tokens["tenant_admin"])
    assert codes(body) and set(codes(body)) == {"BAD_USER_INPUT"}, body
    assert body.get("data") is None and body["errors"][0]["message"]


# --- A third-party client -------------------------------------------------------------------------


async def test_gql_client_logs_in_and_reads_me(base_url: str, tenant_a: TenantUsers) -> None:
    login = gql("mutation($e:String!,$p:String!){ login(email:$e, password:$p){ accessToken user { id } } }")
    login.variable_values = {"e": tenant_a.emails["viewer"], "p": PASSWORD}
    async with Client(transport=HTTPXAsyncTransport(url=f"{base_url}/graphql"), fetch_schema_from_transport=True) as s:
        signed_in = (await s.execute(login))["login"]
    transport = HTTPXAsyncTransport(url=f"{base_url}/graphql", headers=bearer(signed_in["accessToken"]))
    async with Client(transport=transport) as session:
        me = (await session.execute(gql("{ me { id email role tenantId } }")))["me"]
    assert me == {
        "id": tenant_a.user_ids["viewer"],
        "email": tenant_a.emails["viewer"],
        "role": "viewer",
        "tenantId": tenant_a.id,
    }
    assert signed_in["user"]["id"] == me["id"]

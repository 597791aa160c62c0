"""What the server refuses before it works on it: documents whose fragments multiply, bodies too
large or not JSON, subscriptions over HTTP, strings and lists too long; and what it keeps to
itself: suggestions when introspection is off, one principal's spending from another's."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from graphql import parse
from starlette.types import ASGIApp

from app.services import Services
from app.settings import load_settings
from app.web import create_app
from schema.document_shape import Shape, measure
from schema.input_limits import DOCUMENT_PLACES
from schema.root import build_schema
from schema.validation import TOO_COMPLEX
from tests.api.conftest import SECRET
from tests.conftest import require_redis
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.server import free_port, serving

ME = "{ me { id } }"
SPENDS_60 = "{ " + " ".join(f"m{i}: me {{ id email name }}" for i in range(15)) + " }"  # 15 * 4


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


def doubling(fragments: int) -> str:
    """Each fragment spreads the one before it twice: 2**fragments fields once spread."""
    definitions = ["fragment F0 on Query { __typename }"]
    definitions += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, fragments + 1)]
    return f"query {{ ...F{fragments} }} " + " ".join(definitions)


def settings_for(database_url: str, **overrides: Any) -> Any:
    return load_settings(
        database_url=database_url, secret_key=SECRET, cluster_health_seconds=0, operation_workers=0, **overrides
    )


@asynccontextmanager
async def served_in_a_thread(app: ASGIApp) -> AsyncIterator[str]:
    """uvicorn on a thread and an event loop of its own: were a request to block that loop, the
    test's own loop would still run and see every other request time out."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)


@asynccontextmanager
async def app_api(settings: Any) -> AsyncIterator[Api]:
    async with (
        serving(create_app(settings, Services.from_settings(settings))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Api(http)


async def raw_exchange(base_url: str, data: bytes) -> tuple[int, dict[str, Any]]:
    """Writes `data` as it is and reads the one response (status, JSON body) that comes back."""
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(10):
            status = int((await reader.readline()).split()[1])
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers["content-length"]))
    finally:
        writer.close()
    return status, json.loads(body)


# --- Documents whose fragments multiply ---------------------------------------------------------


def test_a_document_is_measured_reading_each_selection_once() -> None:
    shape = measure(parse(doubling(40)))
    assert shape.visited == 1 + 1 + 2 * 40  # the operation's spread, F0's field, two spreads per fragment
    assert shape.spreads == 1 + 2 * 40
    assert shape.expanded_fields == 2**40 + (2**41 - 1)  # the operation, and every fragment on its own
    nested = measure(parse("query Q { a: me { ...U } } fragment U on User { id b: tenant { id } }"))
    assert nested.operations == [("Q", Shape(depth=2, aliases=2, fields=4))]


async def test_fragments_that_multiply_are_refused_while_other_requests_are_served(
    database_url: str, tenant_a: TenantUsers
) -> None:
    settings = settings_for(database_url)
    app = create_app(settings, Services.from_settings(settings))
    async with served_in_a_thread(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        attacks = [asyncio.create_task(http.post("/graphql", json={"query": doubling(40)})) for _ in range(4)]
        health = await http.get("/health")
        me = await http.post("/graphql", json={"query": ME}, headers=bearer(tenant_a.tokens["viewer"]))
        refused = await asyncio.gather(*attacks)
    assert health.status_code == 200 and health.json()["status"] == "healthy"
    assert me.json()["data"]["me"]["id"] == tenant_a.user_ids["viewer"]
    expanded = 2**40 + 2**41 - 1
    for response in refused:
        body = response.json()
        assert codes(body) == ["BAD_USER_INPUT"] and body.get("data") is None, body
        assert f"has {expanded} fields once its fragments are spread; at most 10000" in body["errors"][0]["message"]


def spreading(count: int) -> str:
    fragments = " ".join(f"fragment S{i} on Query {{ __typename }}" for i in range(count))
    return "query { " + " ".join(f"...S{i}" for i in range(count)) + " } " + fragments


async def test_fragment_spreads_are_capped(api: Api) -> None:
    body = await api.run(spreading(101))
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert "101 fragment spreads found. Allowed: 100" in body["errors"][0]["message"]
    assert not (await api.run(spreading(100))).get("errors")


async def test_aliases_and_depth_count_through_fragments(api: Api) -> None:
    aliased = "fragment A on Query { " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"
    body = await api.run(f"query {{ ...A ... on Query {{ ...A }} }} {aliased}")
    assert codes(body) == ["BAD_USER_INPUT"] and "32 aliases found. Allowed: 30" in body["errors"][0]["message"]
    # refused for its depth before its (unknown) fields are looked at
    level = "fragment L{n} on User {{ a {{ b {{ c {{ ...L{m} }} }} }} }}"
    deep = " ".join(level.format(n=n, m=n + 1) for n in range(4)) + " fragment L4 on User { id }"
    body = await api.run("query Deep { me { ...L0 } } " + deep)
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert "'Deep' exceeds maximum operation depth of 12" in body["errors"][0]["message"]


async def test_many_fields_of_one_name_are_refused_within_the_merge_budget(api: Api, tenant_a: TenantUsers) -> None:
    viewer = tenant_a.tokens["viewer"]
    body = await api.run("{" + " me { id }" * 700 + "}", token=viewer)
    assert codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["message"] == TOO_COMPLEX, body
    assert not (await api.run("{" + " me { id }" * 20 + "}", token=viewer)).get("errors")  # a few are answered


# --- Bodies -------------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_by_its_length_before_it_is_read(base_url: str) -> None:
    head = (
        "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000000\r\n\r\n"
    )
    status, body = await raw_exchange(base_url, head.encode())  # not one byte of the body is sent
    assert status == 413 and codes(body) == ["BAD_USER_INPUT"], body
    assert "larger than the 1048576 bytes allowed" in body["errors"][0]["message"]


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(base_url: str) -> None:
    size = 1_048_576 + 1
    head = (
        "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = f"{size:x}\r\n".encode() + b'{"query": "' + b"x" * (size - 11)
    status, body = await raw_exchange(base_url, head.encode() + chunk)  # the body never ends
    assert status == 413 and codes(body) == ["BAD_USER_INPUT"], body


@pytest.mark.parametrize(
    "content, reason",
    [(b"[" * 100_000, "nested too deeply"), (b'{"query": "{ me { id } }", "x": "\xff\xfe"}', "not valid UTF-8")],
    ids=["nested", "not-utf8"],
)
async def test_a_body_that_cannot_be_decoded_is_a_graphql_error(api: Api, content: bytes, reason: str) -> None:
    response = await api.http.post("/graphql", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert codes(body) == ["BAD_USER_INPUT"] and reason in body["errors"][0]["message"]


async def test_a_subscription_over_http_is_sent_to_the_websocket(api: Api, tenant_a: TenantUsers) -> None:
    query = "subscription { notifications { id } }"
    posted = await api.http.post("/graphql", json={"query": query}, headers=bearer(tenant_a.tokens["viewer"]))
    got = await api.http.get("/graphql", params={"query": query}, headers=bearer(tenant_a.tokens["viewer"]))
    for response in (posted, got):
        assert response.status_code == 400, response.text
        body = response.json()
        assert codes(body) == ["BAD_USER_INPUT"]
        assert "WebSocket to /graphql with the graphql-transport-ws protocol" in body["errors"][0]["message"]


# --- Strings and lists --------------------------------------------------------------------------

USERS = "query($t:ID!, $s:String){ users(tenantId:$t, search:$s){ totalCount } }"


async def test_a_string_argument_over_the_limit_is_refused_naming_it(api: Api, tenant_a: TenantUsers) -> None:
    admin = tenant_a.tokens["tenant_admin"]
    for body in (
        await api.run(USERS, {"t": tenant_a.id, "s": "x" * 50_000}, admin),
        await api.run(f'{{ users(tenantId:"{tenant_a.id}", search:"{"x" * 50_000}"){{ totalCount }} }}', token=admin),
    ):
        assert codes(body) == ["BAD_USER_INPUT"] and body.get("data") is None, body
        details = body["errors"][0]["extensions"]["details"]
        assert details == [{"field": "search", "message": "must be at most 10000 characters"}]
    assert not (await api.run(USERS, {"t": tenant_a.id, "s": "x" * 10_000}, admin)).get("errors")


async def test_lists_and_input_fields_over_the_limit_are_refused(api: Api, tenant_a: TenantUsers) -> None:
    viewer, admin = tenant_a.tokens["viewer"], tenant_a.tokens["tenant_admin"]
    ids = [f"ntf_{i}" for i in range(1001)]
    marked = await api.run("mutation($i:[ID!]){ markNotificationsRead(ids:$i){ count } }", {"i": ids}, viewer)
    assert codes(marked) == ["BAD_USER_INPUT"], marked
    assert marked["errors"][0]["extensions"]["details"] == [{"field": "ids", "message": "must have at most 1000 items"}]
    user = {"email": "long@x.test", "name": "n" * 20_000, "role": "viewer", "password": "correct-horse-battery-9"}
    created = await api.run(
        "mutation($t:ID!,$i:CreateUserInput!){ createUser(tenantId:$t, input:$i){ id } }",
        {"t": tenant_a.id, "i": user},
        admin,
    )
    assert codes(created) == ["BAD_USER_INPUT"], created
    assert created["errors"][0]["extensions"]["details"][0]["field"] == "input.name"
    nested: Any = "deep"
    for _ in range(100):
        nested = {"n": nested}
    prefs = await api.run("mutation($p:JSON!){ updatePreferences(preferences:$p){ id } }", {"p": nested}, viewer)
    assert codes(prefs) == ["BAD_USER_INPUT"] and "nest deeper than 64 levels" in prefs["errors"][0]["message"]


async def test_documents_have_the_larger_allowance(api: Api, tenant_a: TenantUsers) -> None:
    admin = tenant_a.tokens["tenant_admin"]
    apply = "mutation($y:String!){ applyManifest(clusterId:\"cls_missing\", yaml:$y){ name } }"
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {blob: " + "x" * 100_000 + "}\n"
    allowed = await api.run(apply, {"y": manifest}, admin)
    assert allowed.get("errors") and "must be at most" not in json.dumps(allowed["errors"]), allowed
    too_long = await api.run(apply, {"y": "# " + "x" * 600_000}, admin)
    assert codes(too_long) == ["BAD_USER_INPUT"]
    assert too_long["errors"][0]["extensions"]["details"] == [
        {"field": "yaml", "message": "must be at most 524288 characters"}
    ]


# --- Suggestions --------------------------------------------------------------------------------

SUGGESTING: list[tuple[str, dict[str, Any]]] = [
    ("{ me { nmae } }", {}),
    ('{ users(tenantId:"t", serch:"a") { totalCount } }', {}),
    ("mutation($i:CreateUserInput!){ createUser(tenantId:\"t\", input:$i){ id } }", {"i": {"emial": "a@b.c"}}),
    ('mutation { patchResource(clusterId:"c", kind:"Pod", name:"n", patch:{}, patchType:MERGEE){ kind } }', {}),
    ('mutation($p:PatchType!){ patchResource(clusterId:"c", kind:"Pod", name:"n", patch:{}, patchType:$p){ kind } }',
     {"p": "MERGEE"}),
]


async def test_without_introspection_errors_suggest_no_names(api: Api, database_url: str) -> None:
    with_suggestions = [await api.run(query, variables) for query, variables in SUGGESTING]
    assert all("Did you mean" in json.dumps(body["errors"]) for body in with_suggestions), with_suggestions
    async with app_api(settings_for(database_url, introspection=False)) as closed:
        for query, variables in SUGGESTING:
            body = await closed.run(query, variables)
            assert codes(body) and set(codes(body)) == {"BAD_USER_INPUT"}, body
            assert "Did you mean" not in json.dumps(body["errors"]), body


# --- Cost budgets -------------------------------------------------------------------------------


async def spend_until_refused(api: Api, token: str, most: int = 50) -> dict[str, Any]:
    for _ in range(most):
        body = await api.run(SPENDS_60, token=token)
        if body.get("errors"):
            return body
    raise AssertionError("the budget was never spent")


async def test_a_viewer_spending_their_budget_leaves_the_admin_theirs(
    api: Api, provider_token: str, database_url: str
) -> None:
    tenant = await make_tenant(api, provider_token)
    settings = settings_for(
        database_url, principal_cost_budget=130, tenant_cost_budget=1000, tenant_cost_window_seconds=3600
    )
    async with app_api(settings) as budgeted:
        refused = await spend_until_refused(budgeted, tenant.tokens["viewer"])
        admin = await budgeted.run(SPENDS_60, token=tenant.tokens["tenant_admin"])
        assert not admin.get("errors"), admin["errors"]
        assert admin["extensions"]["cost"]["budgetRemaining"] == 130 - 60  # the admin's own, the lesser
    assert codes(refused) == ["RATE_LIMITED"] and refused["errors"][0]["message"].startswith("your query cost")
    assert refused["errors"][0]["extensions"]["retryAfterSeconds"] > 0


async def test_the_tenant_ceiling_caps_its_principals_together(
    api: Api, provider_token: str, database_url: str
) -> None:
    tenant = await make_tenant(api, provider_token, roles=("operator", "viewer"))
    settings = settings_for(
        database_url, principal_cost_budget=100, tenant_cost_budget=150, tenant_cost_window_seconds=3600
    )
    async with app_api(settings) as budgeted:
        assert (await budgeted.run(SPENDS_60, token=tenant.tokens["viewer"]))["extensions"]["cost"][
            "budgetRemaining"
        ] == 40
        second = await budgeted.run(SPENDS_60, token=tenant.tokens["operator"])
        assert second["extensions"]["cost"]["budgetRemaining"] == 30  # the tenant's 150 - 120
        third = await budgeted.run(SPENDS_60, token=tenant.tokens["tenant_admin"])
        assert codes(third) == ["RATE_LIMITED"], third
        assert third["errors"][0]["message"].startswith("this tenant's query cost budget is spent")
        other = await budgeted.run(ME, token=(await make_tenant(api, provider_token, roles=())).tokens["tenant_admin"])
        assert other["extensions"]["cost"]["budgetRemaining"] == 98  # another tenant's ceiling is its own


@pytest.mark.redis
async def test_replicas_sharing_redis_share_the_budgets(
    api: Api, provider_token: str, database_url: str
) -> None:
    redis_url = require_redis()
    tenant = await make_tenant(api, provider_token, roles=("viewer",))
    settings = settings_for(
        database_url,
        rate_limit_url=redis_url,
        principal_cost_budget=100,
        tenant_cost_budget=1000,
        tenant_cost_window_seconds=3600,
    )
    async with app_api(settings) as first, app_api(settings) as second:
        spent = await first.run(SPENDS_60, token=tenant.tokens["viewer"])
        assert spent["extensions"]["cost"]["budgetRemaining"] == 40
        refused = await second.run(SPENDS_60, token=tenant.tokens["viewer"])
        assert codes(refused) == ["RATE_LIMITED"], refused
        assert (await second.run(ME, token=tenant.tokens["viewer"]))["extensions"]["cost"]["budgetRemaining"] == 38
        admin = await second.run(ME, token=tenant.tokens["tenant_admin"])
        assert admin["extensions"]["cost"]["budgetRemaining"] == 98


def test_every_document_place_is_in_the_schema() -> None:
    schema = build_schema(load_settings(secret_key=SECRET))._schema
    for coordinate in DOCUMENT_PLACES:
        parts = coordinate.split(".")
        owner = schema.get_type(parts[0])
        assert owner is not None and parts[1] in owner.fields, coordinate  # type: ignore[attr-defined]
        if len(parts) == 3:
            assert parts[2] in owner.fields[parts[1]].args, coordinate  # type: ignore[attr-defined]

"""GraphQL over HTTP as its spec says: the graphql-http audit suite against the running server,
media types and their status codes, every refusal in GraphQL's JSON (wrong methods, CORS
preflights, documents that name no operation), websockets refused with how to sign in, and a
refused root field that leaves the fields beside it answered."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from graphql import GraphQLNonNull
from strawberry.types.base import StrawberryObjectDefinition

from app.settings import load_settings
from app.web import create_app
from schema.permissions import SignedInDuringPasswordChange
from schema.root import build_schema
from tests.api.conftest import SECRET
from tests.support.api import Api, TenantUsers
from tests.support.server import serving

AUDIT = Path(__file__).resolve().parents[1] / "graphql_http_audit" / "audit.mjs"
GRAPHQL_RESPONSE = "application/graphql-response+json"
SPA = "http://spa.example.test"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


async def post(api: Api, body: object, accept: str | None = None, **headers: str) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    if accept is not None:
        sent["Accept"] = accept
    return await api.http.post("/graphql", content=json.dumps(body), headers=sent)


# --- The graphql-http audit -----------------------------------------------------------------------


async def run_audit(url: str) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "the graphql-http audit needs Node.js (node) on the PATH"
    assert (AUDIT.parent / "node_modules" / "graphql-http").is_dir(), (
        "the graphql-http audit is not installed: run `make test`, or `npm ci` in tests/graphql_http_audit"
    )
    process = await asyncio.create_subprocess_exec(
        node, str(AUDIT), url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    results: list[dict[str, Any]] = json.loads(out)
    return results


async def test_the_graphql_http_audit_finds_every_must_and_should_ok(base_url: str) -> None:
    results = await run_audit(f"{base_url}/graphql")
    assert len(results) > 40, "the audit ran its whole suite"
    failing = [r for r in results if r["name"].split()[0] in ("MUST", "SHOULD") and r["status"] != "ok"]
    assert failing == [], json.dumps(failing, indent=1)
    print("graphql-http audit:", dict(Counter(r["status"] for r in results)))


# --- Media types and status codes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", "application/json"),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.2, application/*", "application/json"),
        (f"*/*, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, application/json", "application/json"),
        ("text/plain", "application/json"),
    ],
)
async def test_the_response_is_in_the_media_type_asked_for(api: Api, accept: str | None, expected: str) -> None:
    response = await post(api, {"query": "{ __typename }"}, accept)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected
    assert response.json()["data"] == {"__typename": "Query"}


REQUEST_ERRORS = {
    "parse": ({"query": "{ me { id }"}, "Syntax Error"),
    "validation": ({"query": "{ nothingHere }"}, "nothingHere"),
    "variables": ({"query": "query($n:Int!){ myActivity(limit:$n){ action } }", "variables": {"n": "x"}}, "Int"),
}


@pytest.mark.parametrize("case", list(REQUEST_ERRORS))
async def test_a_request_error_is_400_with_graphql_response_json_and_200_with_json(api: Api, case: str) -> None:
    body, fragment = REQUEST_ERRORS[case]
    strict = await post(api, body, GRAPHQL_RESPONSE)
    assert strict.status_code == 400, strict.text
    assert strict.headers["content-type"] == GRAPHQL_RESPONSE
    legacy = await post(api, body, "application/json")
    assert legacy.status_code == 200, legacy.text
    for response in (strict, legacy):
        answer = response.json()
        assert "data" not in answer, answer  # nothing ran: not even a null data
        assert codes(answer) == ["BAD_USER_INPUT"] and fragment in answer["errors"][0]["message"]


async def test_a_field_error_is_200_with_either_media_type(api: Api) -> None:
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = await post(api, {"query": "{ me { id } }"}, accept)  # nobody signed in
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["data"] is None and answer["errors"][0]["path"] == ["me"]
        assert codes(answer) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b'{"query": "query A { __typename }", "operationName": "B"}', "application/json", "B"),
        (b"not json at all", "application/json", "not JSON"),
        (b'{"query": "{ __typename }"}', "text/plain", "content type"),
    ],
    ids=["unknown-operation-name", "not-json", "not-a-json-content-type"],
)
async def test_a_refused_request_is_a_graphql_json_error(
    api: Api, body: bytes, content_type: str, fragment: str
) -> None:
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = await api.http.post(
            "/graphql", content=body, headers={"Content-Type": content_type, "Accept": accept}
        )
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == accept
        assert codes(response.json()) == ["BAD_USER_INPUT"]
        assert fragment.lower() in response.json()["errors"][0]["message"].lower()


# --- Methods --------------------------------------------------------------------------------------


async def test_a_mutation_over_get_is_405_with_allow_post(api: Api, tenant_a: TenantUsers) -> None:
    query = "mutation { updatePreferences(preferences: {viaGet: true}) { id } }"
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = await api.http.get(
            "/graphql", params={"query": query}, headers={"Accept": accept, **bearer(tenant_a.tokens["viewer"])}
        )
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        assert response.headers["content-type"] == accept
        assert codes(response.json()) == ["BAD_USER_INPUT"]
        assert "POST" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_another_method_is_405_in_json_with_allow(api: Api, method: str) -> None:
    response = await api.http.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST, OPTIONS"
    assert response.headers["content-type"] == "application/json"
    assert codes(response.json()) == ["BAD_USER_INPUT"] and method in response.json()["errors"][0]["message"]


async def test_options_that_is_no_preflight_says_what_is_allowed(api: Api) -> None:
    response = await api.http.options("/graphql")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, POST, OPTIONS"


# --- Which operation runs -------------------------------------------------------------------------


async def test_two_operations_without_operation_name_run_neither(api: Api, tenant_a: TenantUsers) -> None:
    token = tenant_a.tokens["viewer"]
    key = f"both{uuid.uuid4().hex[:8]}"
    write = f"mutation Write {{ updatePreferences(preferences: {{{key}: true}}) {{ id }} }}"
    document = f"{write} query Read {{ me {{ id }} }}"
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = await post(api, {"query": document}, accept, **bearer(token))
        assert response.status_code == (400 if accept == GRAPHQL_RESPONSE else 200), response.text
        answer = response.json()
        assert "data" not in answer and codes(answer) == ["BAD_USER_INPUT"], answer
        assert "operationName" in answer["errors"][0]["message"]
        assert answer["errors"][0]["extensions"]["details"][0]["field"] == "operationName"
    assert key not in (await api.ok("{ me { preferences } }", token=token))["me"]["preferences"]
    named = await post(api, {"query": document, "operationName": "Read"}, None, **bearer(token))
    assert named.json()["data"] == {"me": {"id": tenant_a.user_ids["viewer"]}}


async def test_a_subscription_of_two_operations_without_a_name_is_refused(
    base_url: str, tenant_a: TenantUsers
) -> None:
    socket = await _transport_ws(base_url, {"Authorization": f"Bearer {tenant_a.tokens['viewer']}"})
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    document = "subscription A { notifications { id } } subscription B { notifications { id } }"
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}))
    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    await socket.close()
    assert message["type"] == "error" and message["id"] == "1", message
    assert "operationName" in message["payload"][0]["message"]


# --- CORS -----------------------------------------------------------------------------------------


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "content-type"}


async def test_a_preflight_without_cors_is_refused_naming_the_setting(api: Api) -> None:
    response = await api.http.options("/graphql", headers=preflight(SPA))
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert codes(response.json()) == ["FORBIDDEN"]
    message = response.json()["errors"][0]["message"]
    assert "FLEETGRAPH_CORS_ORIGINS" in message and SPA in message


@pytest.fixture
async def cors_api(database_url: str) -> AsyncIterator[Api]:
    settings = load_settings(
        database_url=database_url,
        secret_key=SECRET,
        cors_origins=[SPA],
        cluster_health_seconds=0,
        operation_workers=0,
    )
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Api(http)


async def test_cors_answers_an_allowed_origin_and_refuses_another_in_json(cors_api: Api) -> None:
    allowed = await cors_api.http.options("/graphql", headers=preflight(SPA))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SPA
    assert "POST" in allowed.headers["access-control-allow-methods"]
    simple = await cors_api.post("{ __typename }", headers={"Origin": SPA})
    assert simple.headers["access-control-allow-origin"] == SPA
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()

    other = "http://elsewhere.test"
    refused = await cors_api.http.options("/graphql", headers=preflight(other))
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert codes(refused.json()) == ["FORBIDDEN"]
    message = refused.json()["errors"][0]["message"]
    assert other in message and "FLEETGRAPH_CORS_ORIGINS" in message
    # the REST paths take PUT, PATCH and DELETE too; a method nothing serves is refused
    method = await cors_api.http.options("/graphql", headers=preflight(SPA, "TRACE"))
    assert method.status_code == 403 and codes(method.json()) == ["FORBIDDEN"]
    assert "TRACE" in method.json()["errors"][0]["message"]
    rest = await cors_api.http.options("/api/tenants/ten_x/users/usr_x", headers=preflight(SPA, "DELETE"))
    assert rest.status_code == 200 and "DELETE" in rest.headers["access-control-allow-methods"]


# --- Websockets without a token -------------------------------------------------------------------


async def _transport_ws(base_url: str, init: dict[str, Any]) -> Any:
    url = base_url.replace("http://", "ws://") + "/graphql"
    socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init", "payload": init}))
    return socket


@pytest.mark.parametrize("init", [{}, {"Authorization": "Bearer not-a-token"}], ids=["no-token", "bad-token"])
async def test_a_websocket_without_a_valid_token_is_closed_with_4401_and_how_to_sign_in(
    base_url: str, init: dict[str, Any]
) -> None:
    socket = await _transport_ws(base_url, init)
    await socket.wait_closed()
    assert socket.close_code == 4401
    reason = socket.close_reason
    assert '{"Authorization": "Bearer <token>"}' in reason and "connection_init" in reason, reason


async def test_legacy_graphql_ws_without_a_token_gets_a_connection_error_and_4401(base_url: str) -> None:
    url = base_url.replace("http://", "ws://") + "/graphql"
    socket = await websockets.connect(url, subprotocols=["graphql-ws"])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    await socket.wait_closed()
    assert message["type"] == "connection_error"
    assert message["payload"]["code"] == "UNAUTHENTICATED" and "connection_init" in message["payload"]["message"]
    assert socket.close_code == 4401


async def test_a_signed_in_caller_refused_an_operation_gets_forbidden_not_a_close(
    api: Api, base_url: str, provider_token: str
) -> None:
    """A tenant admin who has not yet changed the one-time password holds a valid token."""
    slug = f"t-{uuid.uuid4().hex[:10]}"
    created = await api.ok(
        "mutation($i: CreateTenantInput!){ createTenant(input:$i){ adminUser { email } initialPassword } }",
        {"i": {"name": f"Tenant {slug}", "adminEmail": f"admin@{slug}.test", "slug": slug}},
        provider_token,
    )
    admin = await api.login(created["createTenant"]["adminUser"]["email"], created["createTenant"]["initialPassword"])
    assert admin["mustChangePassword"] is True
    socket = await _transport_ws(base_url, {"Authorization": f"Bearer {admin['accessToken']}"})
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": "subscription { notifications { id } }"}}
    await socket.send(json.dumps(subscribe))
    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    assert errors and errors[0]["extensions"]["code"] == "FORBIDDEN", message
    await socket.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5))["type"] == "pong"  # still open
    await socket.close()


# --- One refused field does not null the response -------------------------------------------------


async def test_a_refused_root_field_leaves_me_answered(api: Api, tenant_a: TenantUsers) -> None:
    answer = await api.run("{ me { id } tenants { totalCount } }", token=tenant_a.tokens["tenant_admin"])
    assert answer["data"] == {"me": {"id": tenant_a.user_ids["tenant_admin"]}, "tenants": None}, answer
    assert codes(answer) == ["FORBIDDEN"] and answer["errors"][0]["path"] == ["tenants"]


def test_every_refusable_root_query_field_is_nullable() -> None:
    """A root field with a permission class can be refused, and a refused non-null field nulls
    the whole response; only what every signed-in caller gets (`me`) stays non-null."""
    schema = build_schema(load_settings(secret_key=SECRET))
    definition = schema.get_type_by_name("Query")
    core = schema._schema.query_type
    assert isinstance(definition, StrawberryObjectDefinition) and core is not None
    refusable: set[str] = set()
    for field in definition.fields:
        if field.permission_classes and field.permission_classes != [SignedInDuringPasswordChange]:
            refusable.add(schema.config.name_converter.from_field(field))
    assert len(refusable) > 20 and "me" not in refusable, refusable
    non_null = sorted(name for name in refusable if isinstance(core.fields[name].type, GraphQLNonNull))
    assert non_null == [], f"make these root fields nullable (X | None): {non_null}"
    assert isinstance(core.fields["me"].type, GraphQLNonNull)

"""The fields QAssure's clients read and write: people's first and last names, sign-in provider
and role ID; role codes; tenant tiers and limits that may be cleared, and a module limit; the
REST call recorded on audit rows, and a failed login made through REST."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest_asyncio
from starlette.requests import Request

from app import audit
from app.audit import HttpFacts
from app.context import build_context
from app.errors import AccountLocked, Unauthenticated
from app.ids import new_id
from app.services import Services
from resolvers import auth
from tests.support.api import CREATE_TENANT, PASSWORD, Api, TenantUsers, make_tenant

USER_FIELDS = "id email name firstName lastName role roleId authProvider"
CREATE_USER = f"mutation($t:ID!,$in:CreateUserInput!){{ createUser(tenantId:$t,input:$in){{ {USER_FIELDS} }} }}"
UPDATE_USER = (
    f"mutation($t:ID!,$u:ID!,$in:UpdateUserInput!){{ updateUser(tenantId:$t,id:$u,input:$in){{ {USER_FIELDS} }} }}"
)
CREATE_ROLE = "mutation($in:CreateRoleInput!){ createRole(input:$in){ id name code createdAt updatedAt } }"
TENANT_FIELDS = "id subscriptionTier maxUsers maxClusters maxModules"
UPDATE_TENANT = f"mutation($i:ID!,$in:UpdateTenantInput!){{ updateTenant(id:$i,input:$in){{ {TENANT_FIELDS} }} }}"
AUDIT = """query($m:String){ auditLogs(filter:{httpMethod:$m}, first:100){
  nodes { id action success httpMethod httpPath httpStatus } } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ours(api: Api, provider_token: str) -> TenantUsers:
    return await make_tenant(api, provider_token, roles=("viewer",))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def theirs(api: Api, provider_token: str) -> TenantUsers:
    return await make_tenant(api, provider_token, roles=())


def _email(tenant: TenantUsers) -> str:
    return f"{uuid.uuid4().hex[:8]}@{tenant.slug}.test"


async def _create(api: Api, tenant: TenantUsers, **fields: Any) -> dict[str, Any]:
    person = {"email": _email(tenant), "password": PASSWORD, **fields}
    return dict(
        (await api.ok(CREATE_USER, {"t": tenant.id, "in": person}, tenant.tokens["tenant_admin"]))["createUser"]
    )


async def _custom_role(api: Api, tenant: TenantUsers, **fields: Any) -> dict[str, Any]:
    role = {"name": f"r-{uuid.uuid4().hex[:8]}", "permissions": ["audit:read"], **fields}
    return dict((await api.ok(CREATE_ROLE, {"in": role}, tenant.tokens["tenant_admin"]))["createRole"])


# Users


async def test_first_and_last_names_make_the_name_and_a_name_gives_them(api: Api, ours: TenantUsers) -> None:
    by_parts = await _create(api, ours, firstName="Grace", lastName="Hopper", role="viewer")
    assert (by_parts["name"], by_parts["firstName"], by_parts["lastName"]) == ("Grace Hopper", "Grace", "Hopper")
    by_name = await _create(api, ours, name="Ludwig van Beethoven", role="viewer")
    assert (by_name["firstName"], by_name["lastName"]) == ("Ludwig", "van Beethoven")
    one_word = await _create(api, ours, name="Cher", role="viewer")
    assert (one_word["firstName"], one_word["lastName"]) == ("Cher", None)
    assert by_parts["authProvider"] == by_name["authProvider"] == "local"


async def test_updating_a_name_or_its_parts_keeps_both_in_step(api: Api, ours: TenantUsers) -> None:
    user = await _create(api, ours, name="Ada Byron", role="viewer")
    admin = ours.tokens["tenant_admin"]

    async def update(**fields: Any) -> dict[str, Any]:
        return dict((await api.ok(UPDATE_USER, {"t": ours.id, "u": user["id"], "in": fields}, admin))["updateUser"])

    renamed = await update(lastName="Lovelace")
    assert (renamed["name"], renamed["firstName"], renamed["lastName"]) == ("Ada Lovelace", "Ada", "Lovelace")
    renamed = await update(name="Augusta Ada King")
    assert (renamed["firstName"], renamed["lastName"]) == ("Augusta", "Ada King")
    both = await update(name="The Countess", firstName="Ada", lastName="King")
    assert (both["name"], both["firstName"], both["lastName"]) == ("The Countess", "Ada", "King")


async def test_a_user_needs_a_name_and_a_known_sign_in_provider(api: Api, ours: TenantUsers) -> None:
    admin = ours.tokens["tenant_admin"]
    nameless = {"email": _email(ours), "password": PASSWORD, "role": "viewer"}
    error = await api.error(CREATE_USER, {"t": ours.id, "in": nameless}, admin)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["details"][0]["field"] == "name"
    odd = {**nameless, "name": "Someone", "authProvider": "carrier-pigeon"}
    error = await api.error(CREATE_USER, {"t": ours.id, "in": odd}, admin)
    assert [d["field"] for d in error["extensions"]["details"]] == ["authProvider"]


async def test_role_id_names_the_system_or_custom_role_a_user_holds(api: Api, ours: TenantUsers) -> None:
    viewer = await _create(api, ours, name="Vi Ewer", role="viewer")
    assert viewer["roleId"] == "rol_viewer"
    role = await _custom_role(api, ours)
    holder = await _create(api, ours, name="Cu Stom", roleId=role["id"])
    assert (holder["role"], holder["roleId"]) == (role["name"], role["id"])
    moved = await api.ok(
        UPDATE_USER, {"t": ours.id, "u": viewer["id"], "in": {"roleId": role["id"]}}, ours.tokens["tenant_admin"]
    )
    assert moved["updateUser"]["role"] == role["name"]
    me = await api.ok("{ me { role roleId } }", token=ours.tokens["viewer"])
    assert me["me"] == {"role": "viewer", "roleId": "rol_viewer"}


async def test_the_provider_reads_each_users_role_id_within_their_own_tenant(
    api: Api, provider_token: str, ours: TenantUsers, theirs: TenantUsers
) -> None:
    """Two tenants' custom roles of one name are two roles: each user's roleId is their tenant's."""
    name = f"same-{uuid.uuid4().hex[:6]}"
    ids = {t.id: (await _custom_role(api, t, name=name))["id"] for t in (ours, theirs)}
    users = {t.id: (await _create(api, t, name="Twin Role", role=name))["id"] for t in (ours, theirs)}
    query = "query($t:ID!,$u:ID!){ user(tenantId:$t,id:$u){ roleId } }"
    for tenant_id, user_id in users.items():
        found = await api.ok(query, {"t": tenant_id, "u": user_id}, provider_token)
        assert found["user"]["roleId"] == ids[tenant_id]


async def test_a_bad_role_id_is_bad_input_whoever_owns_it(api: Api, ours: TenantUsers, theirs: TenantUsers) -> None:
    elsewhere = await _custom_role(api, theirs)
    admin = ours.tokens["tenant_admin"]
    base = {"email": _email(ours), "password": PASSWORD, "name": "No Role"}
    for role_id in (elsewhere["id"], new_id("role"), "rol_super_admin"):
        error = await api.error(CREATE_USER, {"t": ours.id, "in": {**base, "roleId": role_id}}, admin)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", role_id
        assert [d["field"] for d in error["extensions"]["details"]] == ["roleId"], role_id
    both = {**base, "role": "viewer", "roleId": "rol_operator"}
    clash = await api.error(CREATE_USER, {"t": ours.id, "in": both}, admin)
    assert clash["extensions"]["code"] == "BAD_USER_INPUT" and "operator" in clash["message"]
    neither = await api.error(CREATE_USER, {"t": ours.id, "in": base}, admin)
    assert [d["field"] for d in neither["extensions"]["details"]] == ["role"]


# Roles


async def test_role_codes_are_stable_names_unique_in_the_tenant(api: Api, ours: TenantUsers) -> None:
    admin = ours.tokens["tenant_admin"]
    roles = {r["name"]: r for r in (await api.ok("{ roles { name code isSystem } }", token=admin))["roles"]}
    assert all(r["code"] == r["name"] for r in roles.values() if r["isSystem"])
    plain = await _custom_role(api, ours)
    assert plain["code"] == plain["name"] and plain["updatedAt"]
    coded = await _custom_role(api, ours, code=f"qa_{uuid.uuid4().hex[:6]}")
    same_code = {"name": "other-name", "code": coded["code"], "permissions": []}
    again = await api.error(CREATE_ROLE, {"in": same_code}, admin)
    assert again["extensions"]["code"] == "CONFLICT" and coded["code"] in again["message"]
    for code in ("viewer", "Not A Code"):
        bad = await api.error(CREATE_ROLE, {"in": {"name": "yet-another", "code": code, "permissions": []}}, admin)
        assert [d["field"] for d in bad["extensions"]["details"]] == ["code"], code
    updated = await api.ok(
        'mutation($i:ID!){ updateRole(id:$i, input:{description:"reads the trail"}){ code updatedAt } }',
        {"i": coded["id"]},
        admin,
    )
    assert updated["updateRole"]["code"] == coded["code"]
    assert datetime.fromisoformat(updated["updateRole"]["updatedAt"]) > datetime.fromisoformat(coded["updatedAt"])


# Tenants


async def _new_tenant(api: Api, provider_token: str, **fields: Any) -> dict[str, Any]:
    slug = f"q-{uuid.uuid4().hex[:10]}"
    tenant = {"name": f"Tenant {slug}", "adminEmail": f"admin@{slug}.test", "slug": slug, **fields}
    created = (await api.ok(CREATE_TENANT, {"input": tenant}, provider_token))["createTenant"]["tenant"]
    found = await api.ok(f"query($i:ID!){{ tenant(id:$i){{ {TENANT_FIELDS} }} }}", {"i": created["id"]}, provider_token)
    return dict(found["tenant"])


async def test_tier_and_limits_default_when_omitted_and_clear_when_null(api: Api, provider_token: str) -> None:
    defaults = await _new_tenant(api, provider_token)
    assert defaults | {"id": None} == {
        "id": None, "subscriptionTier": "standard", "maxUsers": 50, "maxClusters": 10, "maxModules": None
    }  # fmt: skip
    cleared = await _new_tenant(api, provider_token, subscriptionTier=None, maxUsers=None, maxModules=None)
    assert (cleared["subscriptionTier"], cleared["maxUsers"], cleared["maxModules"]) == (None, None, None)
    given = await _new_tenant(api, provider_token, subscriptionTier="enterprise", maxModules=4)
    assert (given["subscriptionTier"], given["maxModules"]) == ("enterprise", 4)
    kept = (await api.ok(UPDATE_TENANT, {"i": given["id"], "in": {"maxUsers": 7}}, provider_token))["updateTenant"]
    assert (kept["subscriptionTier"], kept["maxUsers"], kept["maxModules"]) == ("enterprise", 7, 4)
    change = {"subscriptionTier": None, "maxUsers": None, "maxModules": None}
    emptied = (await api.ok(UPDATE_TENANT, {"i": given["id"], "in": change}, provider_token))["updateTenant"]
    assert (emptied["subscriptionTier"], emptied["maxUsers"], emptied["maxModules"]) == (None, None, None)
    bad = await api.error(UPDATE_TENANT, {"i": given["id"], "in": {"maxModules": 0}}, provider_token)
    assert [d["field"] for d in bad["extensions"]["details"]] == ["maxModules"]


async def test_a_tenant_without_a_user_limit_takes_users(api: Api, provider_token: str) -> None:
    tenant = await make_tenant(api, provider_token, roles=(), maxUsers=None)
    user = await _create(api, tenant, name="Un Limited", role="viewer")
    assert user["role"] == "viewer"


# Audit rows of REST calls


async def test_audit_entries_show_and_filter_by_the_rest_call(api: Api, services: Services, ours: TenantUsers) -> None:
    """A row recorded for a REST call reads back with its method, path and status; rows of GraphQL
    calls have none; the filter picks a method in any case."""
    facts = HttpFacts("PUT", "/api/v1/users/{id}", 200, {"NOT_FOUND": 404})
    actor = audit.Actor(None, "rest@qassure.test", ours.id, None, "10.1.1.1", "qassure", "req-rest", http=facts)
    async with services.db.transaction(ours.id) as session:
        done = audit.record(session, actor, "user.updated", tenant_id=ours.id, target_type="user")
        failed = audit.record(session, actor, "user.updated", tenant_id=ours.id, success=False, error_code="NOT_FOUND")
    admin = ours.tokens["tenant_admin"]
    rows = {n["id"]: n for n in (await api.ok(AUDIT, {"m": "put"}, admin))["auditLogs"]["nodes"]}
    shown = {row_id: (n["success"], n["httpMethod"], n["httpPath"], n["httpStatus"]) for row_id, n in rows.items()}
    assert shown == {
        done.id: (True, "PUT", "/api/v1/users/{id}", 200),
        failed.id: (False, "PUT", "/api/v1/users/{id}", 404),
    }
    everything = (await api.ok(AUDIT, {"m": None}, admin))["auditLogs"]["nodes"]
    graphql_rows = [n for n in everything if n["id"] not in rows]
    assert graphql_rows and all(n["httpMethod"] is n["httpPath"] is n["httpStatus"] is None for n in graphql_rows)
    assert not (await api.ok(AUDIT, {"m": "DELETE"}, admin))["auditLogs"]["nodes"]


async def test_a_failed_login_through_rest_records_the_status_it_answered(
    api: Api, services: Services, ours: TenantUsers
) -> None:
    """The login the REST layer runs, with its HTTP facts set on the context as it sets them."""
    facts = HttpFacts("POST", "/api/v1/auth/login", 200, {"UNAUTHENTICATED": 401, "ACCOUNT_LOCKED": 423})
    user = await _create(api, ours, name="Lock Me", role="viewer")
    threshold = services.settings.lockout_threshold
    raised: list[str] = []
    for _ in range(threshold + 1):
        request = Request({"type": "http", "headers": [], "client": ("10.2.2.2", 5000), "request_id": "req-login"})
        ctx = await build_context(services, request, None)
        ctx.http = facts
        try:
            await auth.login(ctx, user["email"], "not-the-password-1")
        except (Unauthenticated, AccountLocked) as refused:
            raised.append(refused.code)
    assert raised == ["UNAUTHENTICATED"] * threshold + ["ACCOUNT_LOCKED"]
    query = """query($a:String!){ auditLogs(filter:{action:$a, httpMethod:"POST"}, first:100){
      nodes { targetId httpPath httpStatus } } }"""
    nodes = (await api.ok(query, {"a": "auth.login_failed"}, ours.tokens["tenant_admin"]))["auditLogs"]["nodes"]
    mine = [(n["httpPath"], n["httpStatus"]) for n in nodes if n["targetId"] == user["id"]]
    assert sorted(mine) == [("/api/v1/auth/login", 401)] * threshold + [("/api/v1/auth/login", 423)]

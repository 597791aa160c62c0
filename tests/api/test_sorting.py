"""`orderBy` on the lists that sort (users, tenants, roles, audit logs): keys in the order given,
each ascending unless asked otherwise, missing values last either way, the ID breaking ties (so
pages neither overlap nor skip), the list's own order without keys, and an unknown field refused
field by field. Text values here are lowercase: text sorts in the database's collation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest_asyncio

from tests.support.api import PASSWORD, Api, TenantUsers, make_tenant

USERS = """query($t:ID!, $s:String, $o:[SortInput!], $page:Int, $size:Int){
  users(tenantId:$t, search:$s, orderBy:$o, page:$page, pageSize:$size){
    totalCount nodes { id email firstName lastName createdAt } } }"""
CREATE_USER = "mutation($t:ID!,$in:CreateUserInput!){ createUser(tenantId:$t,input:$in){ id } }"
TENANTS = "query($s:String, $o:[SortInput!]){ tenants(search:$s, orderBy:$o){ nodes { id name maxUsers } } }"
CREATE_TENANT = "mutation($in:CreateTenantInput!){ createTenant(input:$in){ tenant { id } } }"
ROLES = "query($o:[SortInput!]){ roles(orderBy:$o){ id name createdAt isSystem } }"
CREATE_ROLE = 'mutation($n:String!){ createRole(input:{name:$n, permissions:["audit:read"]}){ id } }'
AUDIT = "query($o:[SortInput!]){ auditLogs(first:100, orderBy:$o){ totalCount nodes { id action createdAt } } }"


def asc(field: str) -> dict[str, str]:
    return {"field": field, "direction": "ASC"}


def desc(field: str) -> dict[str, str]:
    return {"field": field, "direction": "DESC"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tenant(api: Api, provider_token: str) -> TenantUsers:
    return await make_tenant(api, provider_token, roles=())


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def people(api: Api, tenant: TenantUsers) -> dict[str, Any]:
    """Four users found by one search word: two share a last name, one has none."""
    word = f"s{uuid.uuid4().hex[:8]}"
    named = {
        "abe": {"firstName": "abe", "lastName": "young"},
        "dan": {"firstName": "dan", "lastName": "young"},
        "cy": {"firstName": "cy", "lastName": "zane"},
        "bea": {"name": "bea"},  # one word: a first name only
    }
    ids = {}
    for key, names in named.items():
        person = {"email": f"{key}.{word}@{tenant.slug}.test", "password": PASSWORD, "role": "viewer", **names}
        created = await api.ok(CREATE_USER, {"t": tenant.id, "in": person}, tenant.tokens["tenant_admin"])
        ids[key] = created["createUser"]["id"]
    return {"word": word, "ids": ids}


async def _users(api: Api, tenant: TenantUsers, people: dict[str, Any], order: Any, **more: Any) -> list[str]:
    """The keys (abe, dan, ...) of the people in the order the list gives them."""
    by_id = {v: k for k, v in people["ids"].items()}
    variables = {"t": tenant.id, "s": people["word"], "o": order, **more}
    nodes = (await api.ok(USERS, variables, tenant.tokens["tenant_admin"]))["users"]["nodes"]
    return [by_id[n["id"]] for n in nodes]


def _by_id(people: dict[str, Any], *keys: str) -> list[str]:
    return sorted(keys, key=lambda k: people["ids"][k])


async def test_users_sort_by_one_key_each_way_missing_values_last(
    api: Api, tenant: TenantUsers, people: dict[str, Any]
) -> None:
    youngs = _by_id(people, "abe", "dan")
    assert await _users(api, tenant, people, [asc("lastName")]) == [*youngs, "cy", "bea"]
    assert await _users(api, tenant, people, [desc("lastName")]) == ["cy", *youngs, "bea"]
    assert await _users(api, tenant, people, [{"field": "email"}]) == ["abe", "bea", "cy", "dan"]


async def test_later_keys_order_what_earlier_keys_leave_equal(
    api: Api, tenant: TenantUsers, people: dict[str, Any]
) -> None:
    order = [asc("lastName"), desc("firstName")]
    assert await _users(api, tenant, people, order) == ["dan", "abe", "cy", "bea"]


async def test_pages_of_a_sorted_list_neither_overlap_nor_skip(
    api: Api, tenant: TenantUsers, people: dict[str, Any]
) -> None:
    order = [desc("lastName")]
    whole = await _users(api, tenant, people, order)
    pages = [await _users(api, tenant, people, order, page=n, size=2) for n in (1, 2)]
    assert pages[0] + pages[1] == whole and len(whole) == 4


async def test_without_keys_a_list_keeps_its_own_order(api: Api, tenant: TenantUsers, people: dict[str, Any]) -> None:
    oldest_first = ["abe", "dan", "cy", "bea"]  # as they were made
    assert await _users(api, tenant, people, None) == oldest_first
    assert await _users(api, tenant, people, []) == oldest_first
    audit = (await api.ok(AUDIT, {"o": None}, tenant.tokens["tenant_admin"]))["auditLogs"]["nodes"]
    times = [entry["createdAt"] for entry in audit]
    assert times == sorted(times, reverse=True) and len(times) > 4


async def test_an_unknown_field_is_refused_naming_the_key(api: Api, tenant: TenantUsers, provider_token: str) -> None:
    admin = tenant.tokens["tenant_admin"]
    error = await api.error(USERS, {"t": tenant.id, "o": [asc("email"), desc("password")]}, admin)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    (detail,) = error["extensions"]["details"]
    assert detail["field"] == "orderBy[1].field" and "'password'" in detail["message"]
    assert "email" in detail["message"]  # the sortable fields are named
    refusals = [
        await api.error(ROLES, {"o": [asc("permissions")]}, admin),
        await api.error(AUDIT, {"o": [asc("changes")]}, admin),
        await api.error(TENANTS, {"o": [asc("adminEmail")]}, provider_token),
    ]
    for refused in refusals:
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        assert [d["field"] for d in refused["extensions"]["details"]] == ["orderBy[0].field"]


async def test_tenants_sort_by_name_and_by_a_limit_that_may_be_missing(api: Api, provider_token: str) -> None:
    word = f"o{uuid.uuid4().hex[:8]}"
    limits = {"b": 5, "a": None, "c": 9}
    ids = {}
    for key, limit in limits.items():
        slug = f"{word}-{key}"
        given = {"name": f"{word} {key}", "adminEmail": f"admin@{slug}.test", "slug": slug, "maxUsers": limit}
        ids[(await api.ok(CREATE_TENANT, {"in": given}, provider_token))["createTenant"]["tenant"]["id"]] = key

    async def keys(order: list[dict[str, str]]) -> list[str]:
        nodes = (await api.ok(TENANTS, {"s": word, "o": order}, provider_token))["tenants"]["nodes"]
        return [ids[n["id"]] for n in nodes]

    assert await keys([desc("name")]) == ["c", "b", "a"]
    assert await keys([asc("maxUsers")]) == ["b", "c", "a"]
    assert await keys([desc("maxUsers")]) == ["c", "b", "a"]


async def test_roles_sort_system_and_custom_roles_together(api: Api, tenant: TenantUsers) -> None:
    admin = tenant.tokens["tenant_admin"]
    word = uuid.uuid4().hex[:6]
    for name in (f"zz-{word}", f"aa-{word}"):
        await api.ok(CREATE_ROLE, {"n": name}, admin)
    by_name = (await api.ok(ROLES, {"o": [asc("name")]}, admin))["roles"]
    names = [r["name"] for r in by_name]
    assert names == sorted(names) and names.index(f"aa-{word}") < names.index("viewer") < names.index(f"zz-{word}")
    newest = (await api.ok(ROLES, {"o": [desc("createdAt")]}, admin))["roles"]
    custom = [r for r in newest if not r["isSystem"]]
    system = [r for r in newest if r["isSystem"]]
    assert newest == custom + system  # system roles were never made: no time, so last
    assert [r["name"] for r in custom[:2]] == [f"aa-{word}", f"zz-{word}"]
    assert [r["id"] for r in system] == sorted(r["id"] for r in system)


async def test_audit_logs_sort_by_action_with_ties_by_id(api: Api, tenant: TenantUsers) -> None:
    body = (await api.ok(AUDIT, {"o": [asc("action")]}, tenant.tokens["tenant_admin"]))["auditLogs"]
    entries = body["nodes"]
    assert len(entries) == body["totalCount"] > 4
    assert entries == sorted(entries, key=lambda e: (e["action"], e["id"]))
    assert len({e["action"] for e in entries}) < len(entries)  # some actions repeat: the ID orders them

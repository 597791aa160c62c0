"""A tenant admin manages users, custom roles and per-cluster roles; users manage their profile."""

from __future__ import annotations

import csv
import io

from tests.support.api import CREATE_USER, PASSWORD, Api, TenantUsers, make_tenant

USERS = "query($t:ID!,$r:String){ users(tenantId:$t, role:$r){ totalCount nodes { id email role status } } }"
UPDATE = "mutation($t:ID!,$u:ID!,$in:UpdateUserInput!){ updateUser(tenantId:$t,id:$u,input:$in){ id name role } }"


def _user(email: str, role: str = "viewer", password: str = PASSWORD) -> dict:
    return {"email": email, "name": "Someone", "role": role, "password": password}


async def test_user_crud_and_status(api: Api, provider_token: str) -> None:
    tenant = await make_tenant(api, provider_token, roles=())
    admin = tenant.tokens["tenant_admin"]
    created = (
        await api.ok(CREATE_USER, {"t": tenant.id, "input": _user(f"dev@{tenant.slug}.test", "developer")}, admin)
    )["createUser"]
    listed = (await api.ok(USERS, {"t": tenant.id, "r": "developer"}, admin))["users"]
    assert [n["id"] for n in listed["nodes"]] == [created["id"]]
    updated = (
        await api.ok(UPDATE, {"t": tenant.id, "u": created["id"], "in": {"name": "Dev", "role": "operator"}}, admin)
    )["updateUser"]
    assert updated == {"id": created["id"], "name": "Dev", "role": "operator"}
    token = (await api.login(f"dev@{tenant.slug}.test", PASSWORD))["accessToken"]
    await api.ok(
        "mutation($t:ID!,$u:ID!){ suspendUser(tenantId:$t,id:$u){ status } }",
        {"t": tenant.id, "u": created["id"]},
        admin,
    )
    assert await api.code("{ me { id } }", token=token) == "UNAUTHENTICATED"
    refused = await api.error(
        "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }",
        {"e": f"dev@{tenant.slug}.test", "p": PASSWORD},
    )
    assert "suspended" in refused["message"]
    await api.ok(
        "mutation($t:ID!,$u:ID!){ activateUser(tenantId:$t,id:$u){ status } }",
        {"t": tenant.id, "u": created["id"]},
        admin,
    )
    await api.ok(
        "mutation($t:ID!,$u:ID!){ deleteUser(tenantId:$t,id:$u){ ok } }", {"t": tenant.id, "u": created["id"]}, admin
    )
    assert (await api.ok(USERS, {"t": tenant.id, "r": None}, admin))["users"]["totalCount"] == 1


async def test_max_users_is_enforced(api: Api, provider_token: str) -> None:
    tenant = await make_tenant(api, provider_token, roles=("viewer",), maxUsers=2)
    error = await api.error(
        CREATE_USER, {"t": tenant.id, "input": _user(f"third@{tenant.slug}.test")}, tenant.tokens["tenant_admin"]
    )
    assert error["extensions"]["code"] == "CONFLICT" and "limit of 2 users" in error["message"]


async def test_bad_user_input_and_conflicts(api: Api, tenant_a: TenantUsers) -> None:
    admin = tenant_a.tokens["tenant_admin"]
    error = await api.error(
        CREATE_USER, {"t": tenant_a.id, "input": {"email": "nope", "name": "", "role": "pilot", "password": "x"}}, admin
    )
    fields = {d["field"] for d in error["extensions"]["details"]}
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and {"email", "name"} <= fields
    role = await api.error(CREATE_USER, {"t": tenant_a.id, "input": _user("ok@roles.test", "super_admin")}, admin)
    assert role["extensions"]["details"][0]["field"] == "role"
    dup = await api.error(CREATE_USER, {"t": tenant_a.id, "input": _user(tenant_a.emails["viewer"])}, admin)
    assert dup["extensions"]["code"] == "CONFLICT"


async def test_last_admin_cannot_be_removed_or_demoted(api: Api, provider_token: str) -> None:
    tenant = await make_tenant(api, provider_token, roles=())
    admin, admin_id = tenant.tokens["tenant_admin"], tenant.user_ids["tenant_admin"]
    assert await api.code(UPDATE, {"t": tenant.id, "u": admin_id, "in": {"role": "viewer"}}, admin) == "CONFLICT"
    assert (
        await api.code(
            "mutation($t:ID!,$u:ID!){ deleteUser(tenantId:$t,id:$u){ ok } }", {"t": tenant.id, "u": admin_id}, admin
        )
        == "CONFLICT"
    )


async def test_custom_roles_with_permissions_and_scope(api: Api, provider_token: str) -> None:
    tenant = await make_tenant(api, provider_token, roles=())
    admin = tenant.tokens["tenant_admin"]
    role = (
        await api.ok(
            'mutation { createRole(input:{name:"auditor", scope:"module", permissions:["audit:read"]})'
            " { id name scope permissions isSystem tenantId } }",
            token=admin,
        )
    )["createRole"]
    assert role["isSystem"] is False and role["tenantId"] == tenant.id and role["scope"] == "module"
    bad = await api.error(
        'mutation { createRole(input:{name:"x", scope:"platform", permissions:["tenants:write"]}) { id } }', token=admin
    )
    assert {d["field"] for d in bad["extensions"]["details"]} == {"name", "scope", "permissions"}
    await api.ok(CREATE_USER, {"t": tenant.id, "input": _user(f"aud@{tenant.slug}.test", "auditor")}, admin)
    token = (await api.login(f"aud@{tenant.slug}.test", PASSWORD))["accessToken"]
    assert (await api.ok("{ auditLogs(first:1) { totalCount } }", token=token))["auditLogs"]["totalCount"] > 0
    assert await api.code(USERS, {"t": tenant.id, "r": None}, token) == "FORBIDDEN"
    assert await api.code("mutation($i:ID!){ deleteRole(id:$i){ ok } }", {"i": role["id"]}, admin) == "CONFLICT"
    await api.ok(
        'mutation($i:ID!){ updateRole(id:$i, input:{permissions:["audit:read","users:read"]}){ id } }',
        {"i": role["id"]},
        admin,
    )
    assert (await api.ok(USERS, {"t": tenant.id, "r": None}, token))["users"]["totalCount"] == 2
    names = {r["name"] for r in (await api.ok("{ roles { name isSystem } }", token=admin))["roles"]}
    assert {"tenant_admin", "operator", "developer", "quality_manager", "viewer", "auditor"} <= names
    assert "super_admin" not in names
    assert await api.code('mutation { deleteRole(id:"rol_viewer"){ ok } }', token=admin) == "CONFLICT"


async def test_cluster_role_overrides_need_a_cluster_of_the_tenant(api: Api, tenant_a: TenantUsers) -> None:
    """Granting and taking back on a real cluster: tests/api/test_identity_hardening.py."""
    admin = tenant_a.tokens["tenant_admin"]
    set_role = (
        "mutation($t:ID!,$u:ID!,$c:ID!,$r:String){ setClusterRole(tenantId:$t,userId:$u,clusterId:$c,role:$r)"
        "{ clusterRoles { clusterId role } } }"
    )
    variables = {"t": tenant_a.id, "u": tenant_a.user_ids["viewer"], "c": "cls_demo1", "r": "operator"}
    for role in ("operator", None):
        error = await api.error(set_role, {**variables, "r": role}, admin)
        assert error["extensions"]["code"] == "NOT_FOUND" and error["message"] == "cluster 'cls_demo1' not found"


async def test_profile_preferences_and_activity(api: Api, tenant_a: TenantUsers) -> None:
    token = tenant_a.tokens["operator"]
    me = (
        await api.ok(
            'mutation { updateProfile(input:{name:"Olga", avatar:"https://img.test/o.png"}) { name avatar } }',
            token=token,
        )
    )["updateProfile"]
    assert me == {"name": "Olga", "avatar": "https://img.test/o.png"}
    prefs = (
        await api.ok(
            'mutation { updatePreferences(preferences:{theme:"dark", lang:"de"}) { preferences } }', token=token
        )
    )["updatePreferences"]["preferences"]
    assert prefs["theme"] == "dark" and prefs["lang"] == "de"
    activity = (await api.ok("{ myActivity(limit:5) { action } }", token=token))["myActivity"]
    assert [a["action"] for a in activity][:2] == ["profile.preferences_updated", "profile.updated"]
    error = await api.error('mutation { updateProfile(input:{email:"bad"}) { id } }', token=token)
    assert error["extensions"]["details"] == [{"field": "email", "message": "must be a valid email address"}]


async def test_audit_filters_and_csv_export(api: Api, tenant_a: TenantUsers) -> None:
    admin = tenant_a.tokens["tenant_admin"]
    admin_id = tenant_a.user_ids["tenant_admin"]
    logs = await api.ok(
        'query($u:ID!){ auditLogs(filter:{userId:$u, action:"user.created"}){ totalCount '
        "nodes { actorId action targetType ip userAgent requestId createdAt } } }",
        {"u": admin_id},
        admin,
    )
    nodes = logs["auditLogs"]["nodes"]
    assert logs["auditLogs"]["totalCount"] >= 3 and all(n["actorId"] == admin_id for n in nodes)
    assert all(n["requestId"] and n["ip"] == "127.0.0.1" and n["createdAt"].endswith("Z") for n in nodes)
    future = await api.ok('{ auditLogs(filter:{since:"2999-01-01T00:00:00Z"}){ totalCount } }', token=admin)
    assert future["auditLogs"]["totalCount"] == 0
    bad = await api.error(
        '{ auditLogs(filter:{since:"2030-01-01T00:00:00Z", until:"2020-01-01T00:00:00Z"}){ totalCount } }', token=admin
    )
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"
    text = (await api.ok('{ exportAuditLogs(filter:{action:"user.*"}) }', token=admin))["exportAuditLogs"]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) >= 3 and {r["tenant_id"] for r in rows} == {tenant_a.id}
    assert all(r["action"].startswith("user.") for r in rows)

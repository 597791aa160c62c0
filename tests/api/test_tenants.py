"""Provider tenant management: create with a one-time admin, suspend, activate, delete, impersonate."""

from __future__ import annotations

import uuid

from tests.support.api import CREATE_TENANT, PASSWORD, Api, TenantUsers, make_tenant

ME = "{ me { id email role tenantId } }"
TENANT = "query($i:ID!){ tenant(id:$i){ id name slug status adminEmail subscriptionTier maxUsers maxClusters } }"


async def test_create_tenant_with_qassure_fields(api: Api, provider_token: str) -> None:
    slug = f"qa-{uuid.uuid4().hex[:8]}"
    created = (
        await api.ok(
            CREATE_TENANT,
            {
                "input": {
                    "name": "Quality Assured",
                    "adminEmail": f"Boss@{slug}.test",
                    "slug": slug,
                    "subscriptionTier": "enterprise",
                    "maxUsers": 3,
                    "maxClusters": 2,
                }
            },
            provider_token,
        )
    )["createTenant"]
    assert created["tenant"]["status"] == "active" and created["tenant"]["slug"] == slug
    assert created["adminUser"]["email"] == f"boss@{slug}.test"
    assert len(created["initialPassword"]) >= 16
    tenant = (await api.ok(TENANT, {"i": created["tenant"]["id"]}, provider_token))["tenant"]
    assert tenant["subscriptionTier"] == "enterprise" and tenant["maxUsers"] == 3 and tenant["maxClusters"] == 2


async def test_bad_tenant_input_lists_every_field_and_writes_nothing(api: Api, provider_token: str) -> None:
    before = (await api.ok("{ tenants { totalCount } }", token=provider_token))["tenants"]["totalCount"]
    error = await api.error(
        CREATE_TENANT,
        {"input": {"name": "", "adminEmail": "not-an-email", "slug": "Bad Slug!", "maxUsers": 0}},
        provider_token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    fields = {d["field"] for d in error["extensions"]["details"]}
    assert fields == {"name", "adminEmail", "slug", "maxUsers"}
    after = (await api.ok("{ tenants { totalCount } }", token=provider_token))["tenants"]["totalCount"]
    assert after == before


async def test_duplicate_slug_is_a_conflict(api: Api, provider_token: str, tenant_a: TenantUsers) -> None:
    error = await api.error(
        CREATE_TENANT, {"input": {"name": "Again", "adminEmail": "x@again.test", "slug": tenant_a.slug}}, provider_token
    )
    assert error["extensions"]["code"] == "CONFLICT"


async def test_suspend_ends_sessions_and_refuses_logins(api: Api, provider_token: str) -> None:
    tenant = await make_tenant(api, provider_token, roles=("viewer",))
    token = tenant.tokens["viewer"]
    await api.ok("mutation($i:ID!){ suspendTenant(id:$i){ status } }", {"i": tenant.id}, provider_token)
    assert await api.code(ME, token=token) == "UNAUTHENTICATED"
    refused = await api.error(
        "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }",
        {"e": tenant.emails["viewer"], "p": PASSWORD},
    )
    assert refused["extensions"]["code"] == "UNAUTHENTICATED"
    assert "suspended" in refused["message"] and "contact your provider" in refused["message"]
    await api.ok("mutation($i:ID!){ activateTenant(id:$i){ status } }", {"i": tenant.id}, provider_token)
    assert (await api.login(tenant.emails["viewer"], PASSWORD))["user"]["tenantId"] == tenant.id


async def test_delete_is_soft_gone_from_lists_audit_kept(api: Api, provider_token: str) -> None:
    tenant = await make_tenant(api, provider_token, roles=())
    await api.ok("mutation($i:ID!){ deleteTenant(id:$i){ status } }", {"i": tenant.id}, provider_token)
    assert await api.code(TENANT, {"i": tenant.id}, provider_token) == "NOT_FOUND"
    listed = await api.ok("query($s:String){ tenants(search:$s){ totalCount } }", {"s": tenant.slug}, provider_token)
    assert listed["tenants"]["totalCount"] == 0
    deleted = await api.ok(
        'query($s:String){ tenants(search:$s, status:"deleted"){ nodes { id } } }', {"s": tenant.slug}, provider_token
    )
    assert [n["id"] for n in deleted["tenants"]["nodes"]] == [tenant.id]
    logs = await api.ok(
        "query($t:ID!){ auditLogs(filter:{tenantId:$t}){ nodes { action } } }", {"t": tenant.id}, provider_token
    )
    actions = {n["action"] for n in logs["auditLogs"]["nodes"]}
    assert {"tenant.created", "tenant.deleted", "auth.login"} <= actions
    assert (
        await api.code(
            "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }",
            {"e": tenant.emails["tenant_admin"], "p": PASSWORD},
        )
        == "UNAUTHENTICATED"
    )


async def test_impersonation_is_short_lived_carries_both_identities_and_is_audited_twice(
    api: Api, provider_token: str, tenant_b: TenantUsers
) -> None:
    result = (
        await api.ok(
            "mutation($i:ID!){ impersonateTenant(id:$i){ token expiresAt tenant { id } } }",
            {"i": tenant_b.id},
            provider_token,
        )
    )["impersonateTenant"]
    me = (await api.ok(ME, token=result["token"]))["me"]
    assert me["tenantId"] == tenant_b.id and me["role"] == "tenant_admin"
    sessions = (await api.ok("{ sessions { current impersonatorId } }", token=result["token"]))["sessions"]
    provider_id = (await api.ok(ME, token=provider_token))["me"]["id"]
    assert next(s for s in sessions if s["current"])["impersonatorId"] == provider_id
    tenant_log = await api.ok(
        '{ auditLogs(filter:{action:"tenant.impersonated"}){ nodes { actorId tenantId } } }',
        token=tenant_b.tokens["tenant_admin"],
    )
    assert {"actorId": provider_id, "tenantId": tenant_b.id} in tenant_log["auditLogs"]["nodes"]
    provider_log = await api.ok(
        '{ auditLogs(filter:{action:"tenant.impersonated"}){ nodes { tenantId targetId } } }', token=provider_token
    )
    assert {"tenantId": None, "targetId": tenant_b.id} in provider_log["auditLogs"]["nodes"]
    # what the impersonating session does is recorded with both identities
    await api.ok('mutation { updatePreferences(preferences:{theme:"dark"}) { id } }', token=result["token"])
    acted = await api.ok(
        '{ auditLogs(filter:{action:"profile.preferences_updated"}){ nodes { impersonatorId } } }',
        token=tenant_b.tokens["tenant_admin"],
    )
    assert {"impersonatorId": provider_id} in acted["auditLogs"]["nodes"]


async def test_tenant_admin_reads_own_tenant_only(api: Api, tenant_a: TenantUsers, tenant_b: TenantUsers) -> None:
    own = (await api.ok(TENANT, {"i": tenant_a.id}, tenant_a.tokens["viewer"]))["tenant"]
    assert own["id"] == tenant_a.id
    assert await api.code(TENANT, {"i": tenant_b.id}, tenant_a.tokens["tenant_admin"]) == "NOT_FOUND"

"""Signing in: login, lockout, refresh rotation, sessions, API tokens, the first-login gate."""

from __future__ import annotations

import time
import uuid

from joserfc import jwt
from joserfc.jwk import OctKey

from tests.api.conftest import PROVIDER_EMAIL, PROVIDER_PASSWORD, SECRET
from tests.support.api import CREATE_TENANT, CREATE_USER, PASSWORD, Api, TenantUsers

ME = "{ me { id email role tenantId } }"
REFRESH = "mutation($r:String!){ refreshToken(refreshToken:$r){ accessToken refreshToken } }"


async def test_login_returns_auth_payload(api: Api, tenant_a: TenantUsers) -> None:
    payload = await api.login(tenant_a.emails["viewer"], PASSWORD)
    assert payload["tokenType"] == "Bearer"
    assert payload["mustChangePassword"] is False
    assert payload["user"]["role"] == "viewer" and payload["user"]["tenantId"] == tenant_a.id
    assert payload["expiresAt"].endswith("Z")
    me = await api.ok(ME, token=payload["accessToken"])
    assert me["me"]["email"] == tenant_a.emails["viewer"]


async def test_wrong_password_is_unauthenticated_and_audited(api: Api, provider_token: str) -> None:
    email, agent = f"nobody-{uuid.uuid4().hex[:8]}@x.test", "audit-check/1.0"
    body = await api.run(
        "mutation($e:String!){ login(email:$e, password:\"wrong-password-1\") { accessToken } }",
        {"e": email},
        headers={"User-Agent": agent},
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "invalid email or password"
    logs = await api.ok(
        '{ auditLogs(filter:{action:"auth.login_failed"}, first:100) '
        "{ edges { node { action success ip userAgent tenantId changes } } } }",
        token=provider_token,
    )
    rows = [e["node"] for e in logs["auditLogs"]["edges"] if e["node"]["changes"].get("email") == email]
    assert rows == [
        {
            "action": "auth.login_failed",
            "success": False,
            "ip": "127.0.0.1",
            "userAgent": agent,
            "tenantId": None,
            "changes": {"email": email, "reason": "invalid email or password"},
        }
    ]


async def test_lockout_after_repeated_failures_and_unlock(api: Api, tenant_a: TenantUsers) -> None:
    email = tenant_a.emails["developer"]
    for _ in range(3):
        await api.error('mutation($e:String!){ login(email:$e,password:"nope-nope-1"){ accessToken } }', {"e": email})
    locked = await api.error(
        "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }", {"e": email, "p": PASSWORD}
    )
    assert locked["extensions"]["code"] == "ACCOUNT_LOCKED" and locked["extensions"]["unlocksAt"].endswith("Z")
    user = await api.ok(
        "mutation($t:ID!,$u:ID!){ unlockUser(tenantId:$t,id:$u){ locked } }",
        {"t": tenant_a.id, "u": tenant_a.user_ids["developer"]},
        tenant_a.tokens["tenant_admin"],
    )
    assert user["unlockUser"]["locked"] is False
    assert (await api.login(email, PASSWORD))["accessToken"]


async def test_refresh_rotates_and_replay_revokes_the_family(api: Api, tenant_a: TenantUsers) -> None:
    first = await api.login(tenant_a.emails["operator"], PASSWORD)
    second = (await api.ok(REFRESH, {"r": first["refreshToken"]}))["refreshToken"]
    assert second["refreshToken"] != first["refreshToken"]
    assert (await api.ok(ME, token=second["accessToken"]))["me"]["id"] == tenant_a.user_ids["operator"]
    replay = await api.error(REFRESH, {"r": first["refreshToken"]})
    assert replay["extensions"]["code"] == "UNAUTHENTICATED" and "revoked" in replay["message"]
    assert await api.code(REFRESH, {"r": second["refreshToken"]}) == "UNAUTHENTICATED"
    assert await api.code(ME, token=second["accessToken"]) == "UNAUTHENTICATED"


async def test_refresh_token_is_refused_as_access_token(api: Api, tenant_a: TenantUsers) -> None:
    payload = await api.login(tenant_a.emails["viewer"], PASSWORD)
    assert await api.code(ME, token=payload["refreshToken"]) == "UNAUTHENTICATED"


async def test_forged_and_tampered_tokens_are_refused(api: Api, tenant_a: TenantUsers) -> None:
    payload = await api.login(tenant_a.emails["viewer"], PASSWORD)
    claims = jwt.decode(payload["accessToken"], OctKey.import_key(SECRET)).claims
    wrong_key = jwt.encode({"alg": "HS256", "typ": "at+jwt"}, claims, OctKey.import_key("x" * 48))
    expired = jwt.encode(
        {"alg": "HS256", "typ": "at+jwt"}, {**claims, "exp": int(time.time()) - 5}, OctKey.import_key(SECRET)
    )
    wrong_aud = jwt.encode({"alg": "HS256", "typ": "at+jwt"}, {**claims, "aud": "other"}, OctKey.import_key(SECRET))
    wrong_typ = jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, OctKey.import_key(SECRET))
    header, body, _ = payload["accessToken"].split(".")
    unsigned = f"eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.{body}."
    for token in (wrong_key, expired, wrong_aud, wrong_typ, unsigned, "garbage"):
        assert await api.code(ME, token=token) == "UNAUTHENTICATED", token


async def test_logout_revokes_the_session(api: Api, tenant_a: TenantUsers) -> None:
    payload = await api.login(tenant_a.emails["viewer"], PASSWORD)
    await api.ok("mutation { logout { ok } }", token=payload["accessToken"])
    assert await api.code(ME, token=payload["accessToken"]) == "UNAUTHENTICATED"
    assert await api.code(REFRESH, {"r": payload["refreshToken"]}) == "UNAUTHENTICATED"


async def test_sessions_listed_and_revoked(api: Api, tenant_a: TenantUsers) -> None:
    one = await api.login(tenant_a.emails["viewer"], PASSWORD)
    two = await api.login(tenant_a.emails["viewer"], PASSWORD)
    sessions = (await api.ok("{ sessions { id current ip userAgent } }", token=one["accessToken"]))["sessions"]
    current = [s for s in sessions if s["current"]]
    assert len(current) == 1 and len(sessions) >= 2
    seen_by_two = (await api.ok("{ sessions { id current } }", token=two["accessToken"]))["sessions"]
    second = next(s["id"] for s in seen_by_two if s["current"])
    assert second != current[0]["id"] and second in {s["id"] for s in sessions}
    await api.ok("mutation($i:ID!){ revokeSession(id:$i){ ok } }", {"i": second}, one["accessToken"])
    still = [s["id"] for s in (await api.ok("{ sessions { id } }", token=one["accessToken"]))["sessions"]]
    assert second not in still and current[0]["id"] in still
    assert await api.code(ME, token=two["accessToken"]) == "UNAUTHENTICATED"
    assert await api.code(REFRESH, {"r": two["refreshToken"]}) == "UNAUTHENTICATED"
    assert (await api.ok(ME, token=one["accessToken"]))["me"]["id"] == tenant_a.user_ids["viewer"]
    assert (await api.ok(REFRESH, {"r": one["refreshToken"]}))["refreshToken"]["accessToken"]


async def test_api_tokens_shown_once_accepted_both_ways_and_revocable(api: Api, tenant_a: TenantUsers) -> None:
    token = tenant_a.tokens["operator"]
    created = (
        await api.ok('mutation { createApiToken(name:"ci") { value token { id prefix lastUsedAt } } }', token=token)
    )["createApiToken"]
    value = created["value"]
    assert value.startswith("fgt_") and created["token"]["lastUsedAt"] is None
    listed = (await api.ok("{ apiTokens { id name prefix lastUsedAt } }", token=token))["apiTokens"]
    assert all("value" not in t for t in listed)
    assert (await api.ok(ME, token=value))["me"]["id"] == tenant_a.user_ids["operator"]
    by_header = await api.run(ME, headers={"X-API-Key": value})
    assert by_header["data"]["me"]["id"] == tenant_a.user_ids["operator"]
    listed = (await api.ok("{ apiTokens { id lastUsedAt } }", token=token))["apiTokens"]
    assert next(t for t in listed if t["id"] == created["token"]["id"])["lastUsedAt"] is not None
    await api.ok("mutation($i:ID!){ revokeApiToken(id:$i){ ok } }", {"i": created["token"]["id"]}, token)
    assert await api.code(ME, token=value) == "UNAUTHENTICATED"


async def test_first_login_must_change_password(api: Api, provider_token: str) -> None:
    created = (
        await api.ok(CREATE_TENANT, {"input": {"name": "Gate Co", "adminEmail": "admin@gate.test"}}, provider_token)
    )["createTenant"]
    assert created["adminUser"]["mustChangePassword"] is True
    payload = await api.login("admin@gate.test", created["initialPassword"])
    token = payload["accessToken"]
    assert payload["mustChangePassword"] is True
    assert (await api.ok(ME, token=token))["me"]["email"] == "admin@gate.test"
    tenant_id = created["tenant"]["id"]
    error = await api.error("query($t:ID!){ users(tenantId:$t){ totalCount } }", {"t": tenant_id}, token)
    assert error["extensions"]["code"] == "FORBIDDEN" and "password change required" in error["message"]
    weak = await api.error(
        'mutation($o:String!){ changePassword(oldPassword:$o,newPassword:"short"){ ok } }',
        {"o": created["initialPassword"]},
        token,
    )
    assert weak["extensions"]["code"] == "BAD_USER_INPUT"
    assert weak["extensions"]["details"][0]["field"] == "newPassword"
    await api.ok(
        "mutation($o:String!,$n:String!){ changePassword(oldPassword:$o,newPassword:$n){ ok } }",
        {"o": created["initialPassword"], "n": PASSWORD},
        token,
    )
    users = await api.ok("query($t:ID!){ users(tenantId:$t){ totalCount } }", {"t": tenant_id}, token)
    assert users["users"]["totalCount"] == 1
    # emails are unique per tenant: a tenant's admin may share the provider admin's address
    xylo = await api.ok(CREATE_TENANT, {"input": {"name": "Xylo Ltd", "adminEmail": PROVIDER_EMAIL}}, provider_token)
    assert xylo["createTenant"]["adminUser"]["email"] == PROVIDER_EMAIL
    signed_in = await api.login(PROVIDER_EMAIL, PROVIDER_PASSWORD)  # without a tenant: the provider admin
    assert (await api.ok(ME, token=signed_in["accessToken"]))["me"]["role"] == "super_admin"


async def test_password_policy_of_the_tenant_applies(api: Api, tenant_a: TenantUsers, provider_token: str) -> None:
    await api.ok(
        "mutation($i:ID!,$s:JSON!){ updateTenant(id:$i,input:{settings:$s}){ id } }",
        {"i": tenant_a.id, "s": {"passwordPolicy": {"minLength": 14, "requireSymbols": True}}},
        provider_token,
    )
    error = await api.error(
        CREATE_USER,
        {
            "t": tenant_a.id,
            "input": {"email": "p@policy.test", "name": "P", "role": "viewer", "password": "abcdefghij12"},
        },
        tenant_a.tokens["tenant_admin"],
    )
    messages = {d["message"] for d in error["extensions"]["details"]}
    assert messages == {"must be at least 14 characters", "must contain a symbol"}
    await api.ok(
        "mutation($i:ID!,$s:JSON!){ updateTenant(id:$i,input:{settings:$s}){ id } }",
        {"i": tenant_a.id, "s": {}},
        provider_token,
    )


async def test_password_reset_token_flow(api: Api, tenant_b: TenantUsers) -> None:
    reset = (
        await api.ok(
            "mutation($t:ID!,$u:ID!){ resetUserPassword(tenantId:$t,id:$u){ resetToken expiresAt } }",
            {"t": tenant_b.id, "u": tenant_b.user_ids["viewer"]},
            tenant_b.tokens["tenant_admin"],
        )
    )["resetUserPassword"]
    assert await api.code(ME, token=tenant_b.tokens["viewer"]) == "UNAUTHENTICATED"
    done = "mutation($k:String!,$p:String!){ completePasswordReset(token:$k,newPassword:$p){ ok } }"
    await api.ok(done, {"k": reset["resetToken"], "p": "a-brand-new-password-7"})
    assert await api.code(done, {"k": reset["resetToken"], "p": "another-new-password-8"}) == "BAD_USER_INPUT"
    tenant_b.tokens["viewer"] = (await api.login(tenant_b.emails["viewer"], "a-brand-new-password-7"))["accessToken"]


async def test_login_by_username_too(api: Api, tenant_b: TenantUsers) -> None:
    await api.ok(
        CREATE_USER,
        {
            "t": tenant_b.id,
            "input": {
                "email": "handle@b.test",
                "name": "Handle",
                "role": "viewer",
                "password": PASSWORD,
                "username": "the-handle",
            },
        },
        tenant_b.tokens["tenant_admin"],
    )
    payload = await api.login("The-Handle", PASSWORD)
    assert payload["user"]["email"] == "handle@b.test"

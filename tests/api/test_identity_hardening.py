"""Identity under pressure: racing refreshes and guesses, emails per tenant, unique values taken
concurrently, CSV cells that could run as formulas, per-cluster role references, resets and API tokens."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from app.auth import passwords
from app.db.models import Tenant, User
from app.db.session import Database
from app.errors import Conflict
from app.ids import new_id
from app.services import Services
from kubesim.fleet import Fleet, start_fleet
from tests.api.conftest import PROVIDER_EMAIL
from tests.support.api import CREATE_USER, PASSWORD, Api, TenantUsers, make_tenant

ME = "{ me { id email tenantId } }"
REFRESH = "mutation($r:String!){ refreshToken(refreshToken:$r){ accessToken refreshToken } }"
LOGIN = "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken user { id } } }"
LOGIN_IN = (
    "mutation($e:String!,$p:String!,$t:String){ login(email:$e,password:$p,tenant:$t){ accessToken user { id } } }"
)
PROFILE = "mutation($e:String!){ updateProfile(input:{email:$e}){ id email } }"
REGISTER = "mutation($t:ID!,$in:RegisterClusterInput!){ registerCluster(tenantId:$t,input:$in){ id } }"
SET_CLUSTER_ROLE = """mutation($t:ID!,$u:ID!,$c:ID!,$r:String){
  setClusterRole(tenantId:$t,userId:$u,clusterId:$c,role:$r){ clusterRoles { clusterId role } } }"""
RESET = "mutation($t:ID!,$u:ID!,$k:Boolean){ resetUserPassword(tenantId:$t,id:$u,revokeApiTokens:$k){ resetToken } }"
RESET_DEFAULT = "mutation($t:ID!,$u:ID!){ resetUserPassword(tenantId:$t,id:$u){ resetToken } }"
COMPLETE = "mutation($k:String!,$n:String!){ completePasswordReset(token:$k,newPassword:$n){ ok } }"
API_TOKEN = 'mutation { createApiToken(name:"ci") { value } }'
AUDIT = """query($a:String!){ auditLogs(filter:{action:$a}, first:50){ nodes { targetId changes userAgent } } }"""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube() -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile="small", seed=17) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ours(api: Api, provider_token: str) -> TenantUsers:
    return await make_tenant(api, provider_token, roles=("operator", "viewer"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def theirs(api: Api, provider_token: str) -> TenantUsers:
    return await make_tenant(api, provider_token, roles=("operator", "viewer"))


def _person(email: str, role: str = "viewer") -> dict[str, Any]:
    return {"email": email, "name": "Someone", "role": role, "password": PASSWORD}


async def _new_user(api: Api, tenant: TenantUsers, role: str = "viewer") -> tuple[str, str]:
    email = f"{uuid.uuid4().hex[:8]}@{tenant.slug}.test"
    created = await api.ok(CREATE_USER, {"t": tenant.id, "input": _person(email, role)}, tenant.tokens["tenant_admin"])
    return created["createUser"]["id"], email


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """What a response says, without its cost accounting (the same for any login)."""
    return {key: body.get(key) for key in ("data", "errors")}


async def _audit(api: Api, tenant: TenantUsers, action: str, target_id: str) -> list[dict[str, Any]]:
    rows = (await api.ok(AUDIT, {"a": action}, tenant.tokens["tenant_admin"]))["auditLogs"]["nodes"]
    return [row for row in rows if row["targetId"] == target_id]


# Refresh-token rotation


async def test_concurrent_refreshes_of_one_token_let_one_win_and_revoke_the_family(api: Api, ours: TenantUsers) -> None:
    first = await api.login(ours.emails["viewer"], PASSWORD)
    bodies = await asyncio.gather(*(api.run(REFRESH, {"r": first["refreshToken"]}) for _ in range(8)))
    winners = [body["data"]["refreshToken"] for body in bodies if not body.get("errors")]
    codes = [body["errors"][0]["extensions"]["code"] for body in bodies if body.get("errors")]
    assert len(winners) == 1, bodies
    assert codes == ["UNAUTHENTICATED"] * 7
    # the losers presented a spent token: the whole family is revoked, the winner's new pair included
    assert await api.code(REFRESH, {"r": winners[0]["refreshToken"]}) == "UNAUTHENTICATED"
    assert await api.code(ME, token=winners[0]["accessToken"]) == "UNAUTHENTICATED"
    assert await api.code(ME, token=first["accessToken"]) == "UNAUTHENTICATED"


# Emails, scoped per tenant


async def test_create_user_conflicts_only_within_the_tenant(api: Api, ours: TenantUsers, theirs: TenantUsers) -> None:
    admin = ours.tokens["tenant_admin"]
    own = await api.error(CREATE_USER, {"t": ours.id, "input": _person(ours.emails["viewer"].upper())}, admin)
    assert own["extensions"]["code"] == "CONFLICT"
    for email in (theirs.emails["operator"], PROVIDER_EMAIL, f"free-{uuid.uuid4().hex[:6]}@x.test"):
        created = await api.ok(CREATE_USER, {"t": ours.id, "input": _person(email)}, admin)
        assert created["createUser"]["email"] == email


async def test_update_profile_conflicts_only_within_the_tenant(
    api: Api, ours: TenantUsers, theirs: TenantUsers
) -> None:
    _, email = await _new_user(api, theirs)
    token = (await api.login(email, PASSWORD))["accessToken"]
    own = await api.error(PROFILE, {"e": theirs.emails["operator"]}, token)
    assert own["extensions"]["code"] == "CONFLICT"
    for taken_elsewhere in (ours.emails["viewer"], PROVIDER_EMAIL.upper()):
        changed = await api.ok(PROFILE, {"e": taken_elsewhere}, token)
        assert changed["updateProfile"]["email"] == taken_elsewhere.lower()


async def test_an_email_of_two_tenants_signs_in_to_the_account_its_password_opens(
    api: Api, ours: TenantUsers, theirs: TenantUsers
) -> None:
    email = f"twice-{uuid.uuid4().hex[:8]}@shared.test"
    ids, passwords = {}, {ours.id: PASSWORD, theirs.id: "another-horse-battery-7"}
    for tenant in (ours, theirs):
        person = {**_person(email), "password": passwords[tenant.id]}
        created = await api.ok(CREATE_USER, {"t": tenant.id, "input": person}, tenant.tokens["tenant_admin"])
        ids[tenant.id] = created["createUser"]["id"]
    for tenant in (ours, theirs):  # without a tenant: the account whose password it is
        signed_in = await api.ok(LOGIN, {"e": email, "p": passwords[tenant.id]})
        assert signed_in["login"]["user"]["id"] == ids[tenant.id]
    unknown = answer(await api.run(LOGIN, {"e": f"nobody-{uuid.uuid4().hex[:8]}@shared.test", "p": PASSWORD + "x"}))
    wrong = answer(await api.run(LOGIN, {"e": email, "p": PASSWORD + "x"}))
    assert wrong == unknown and unknown["errors"][0]["message"] == "invalid email or password"
    by_slug = await api.ok(LOGIN_IN, {"e": email, "p": PASSWORD, "t": ours.slug})
    assert by_slug["login"]["user"]["id"] == ids[ours.id]
    by_id = await api.ok(LOGIN_IN, {"e": email.upper(), "p": passwords[theirs.id], "t": theirs.id})
    assert by_id["login"]["user"]["id"] == ids[theirs.id]
    elsewhere = answer(await api.run(LOGIN_IN, {"e": ours.emails["viewer"], "p": PASSWORD, "t": theirs.slug}))
    nowhere = answer(await api.run(LOGIN_IN, {"e": ours.emails["viewer"], "p": PASSWORD, "t": "no-such-tenant"}))
    assert elsewhere == nowhere and nowhere["errors"][0]["message"] == "invalid email or password"
    # an email registered once still signs in without a tenant, as it always has
    assert (await api.login(ours.emails["operator"], PASSWORD))["accessToken"]


async def test_a_later_account_with_the_same_email_does_not_stand_in_the_way(
    api: Api, ours: TenantUsers, theirs: TenantUsers
) -> None:
    """Another tenant's admin making an account with your email changes nothing about your sign-in,
    and learns nothing: their own account signs in alike whether or not the email was taken."""
    taken, free = ours.emails["operator"], f"free-{uuid.uuid4().hex[:8]}@shared.test"
    for email in (taken, free):
        person = {**_person(email), "password": "intruder-battery-horse-3"}
        await api.ok(CREATE_USER, {"t": theirs.id, "input": person}, theirs.tokens["tenant_admin"])
    assert (await api.login(taken, PASSWORD))["user"]["tenantId"] == ours.id
    answers = [answer(await api.run(LOGIN, {"e": e, "p": "intruder-battery-horse-3"})) for e in (taken, free)]
    assert all(a["errors"] is None for a in answers)


# Unique values taken concurrently: CONFLICT, from one place


async def test_a_unique_value_taken_at_commit_is_a_conflict(db: Database) -> None:
    slug = f"dup-{uuid.uuid4().hex[:8]}"

    def tenant() -> Tenant:
        return Tenant(id=new_id("tenant"), name="Dup", slug=slug, admin_email="admin@dup.test")

    async with db.transaction() as session:
        session.add(tenant())
    with pytest.raises(Conflict, match="^another tenant already has this slug$"):
        async with db.transaction() as session:
            session.add(tenant())
    with pytest.raises(Conflict, match="^another tenant already has this slug$"):
        async with db.session() as session:
            session.add(tenant())
            await session.commit()


async def test_provider_users_share_one_namespace_despite_their_null_tenant(db: Database) -> None:
    email = f"staff-{uuid.uuid4().hex[:8]}@provider.test"

    def staff() -> User:
        return User(id=new_id("user"), tenant_id=None, email=email, name="Staff", role="super_admin", password_hash="x")

    async with db.transaction() as session:
        session.add(staff())
    with pytest.raises(Conflict, match="^another user already has this email$"):
        async with db.transaction() as session:
            session.add(staff())


async def test_concurrent_registrations_of_one_cluster_name_answer_conflict(
    api: Api, provider_token: str, kube: Fleet
) -> None:
    tenant = await make_tenant(api, provider_token, roles=())
    variables = {"t": tenant.id, "in": {"name": "racing", "kubeconfig": kube.kubeconfigs["cluster-0"].read_text()}}
    bodies = await asyncio.gather(*(api.run(REGISTER, variables, tenant.tokens["tenant_admin"]) for _ in range(6)))
    codes = sorted(body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK" for body in bodies)
    assert codes == ["CONFLICT"] * 5 + ["OK"], bodies
    messages = {body["errors"][0]["message"] for body in bodies if body.get("errors")}
    checked_first = "a cluster named 'racing' already exists in this tenant"
    assert messages <= {checked_first, "another cluster already has this name"}


# Lockout


async def test_concurrent_guesses_are_checked_at_most_threshold_times_then_refused_as_locked(
    api: Api, services: Services, ours: TenantUsers
) -> None:
    user_id, email = await _new_user(api, ours)
    before = passwords.checks.accounts
    bodies = await asyncio.gather(*(api.run(LOGIN, {"e": email, "p": f"wrong-guess-{i}"}) for i in range(40)))
    checked = passwords.checks.accounts - before
    assert 1 <= checked <= services.settings.lockout_threshold
    unknown = answer(await api.run(LOGIN, {"e": f"nobody-{uuid.uuid4().hex[:8]}@{ours.slug}.test", "p": "x"}))
    assert unknown["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    # each checked guess is told it is wrong, as an unknown email is; the others, that the account is locked
    locked = [answer(body) for body in bodies if answer(body) != unknown]
    assert len(bodies) - len(locked) == checked
    assert locked and all(a == locked[0] for a in locked)
    assert locked[0]["errors"][0]["extensions"]["code"] == "ACCOUNT_LOCKED"
    # locked now: even the right password gets the same refusal, and no check
    before = passwords.checks.accounts
    assert answer(await api.run(LOGIN, {"e": email, "p": PASSWORD})) == locked[0]
    assert passwords.checks.accounts == before
    user = await api.ok(
        "query($t:ID!,$u:ID!){ user(tenantId:$t,id:$u){ locked } }",
        {"t": ours.id, "u": user_id},
        ours.tokens["tenant_admin"],
    )
    assert user["user"]["locked"] is True


async def test_a_locked_account_unlocked_by_its_admin_signs_in(api: Api, ours: TenantUsers) -> None:
    user_id, email = await _new_user(api, ours)
    await asyncio.gather(*(api.run(LOGIN, {"e": email, "p": f"wrong-guess-{i}"}) for i in range(10)))
    assert (await api.error(LOGIN, {"e": email, "p": PASSWORD}))["extensions"]["code"] == "ACCOUNT_LOCKED"
    await api.ok(
        "mutation($t:ID!,$u:ID!){ unlockUser(tenantId:$t,id:$u){ locked } }",
        {"t": ours.id, "u": user_id},
        ours.tokens["tenant_admin"],
    )
    assert (await api.login(email, PASSWORD))["accessToken"]


async def test_a_locked_account_says_until_when_whatever_the_password(
    api: Api, services: Services, ours: TenantUsers
) -> None:
    user_id, email = await _new_user(api, ours)
    threshold, window = services.settings.lockout_threshold, timedelta(minutes=services.settings.lockout_minutes)
    started = datetime.now(UTC)
    for i in range(threshold):  # the guesses that lock it are checked, and wrong
        assert (await api.error(LOGIN, {"e": email, "p": f"wrong-guess-{i}"}))["extensions"] == {
            "code": "UNAUTHENTICATED"
        }
    locked_by = datetime.now(UTC)
    attempts = [
        (LOGIN, {"e": email, "p": PASSWORD}),
        (LOGIN, {"e": email, "p": "wrong-again-1"}),
        (LOGIN_IN, {"e": email, "p": PASSWORD, "t": ours.slug}),
    ]
    refusals = [await api.error(query, variables) for query, variables in attempts]
    assert all((r["message"], r["extensions"]) == (refusals[0]["message"], refusals[0]["extensions"]) for r in refusals)
    assert refusals[0]["extensions"]["code"] == "ACCOUNT_LOCKED" and "locked" in refusals[0]["message"]
    unlocks_at = datetime.fromisoformat(refusals[0]["extensions"]["unlocksAt"])
    assert started + window <= unlocks_at <= locked_by + window
    causes = [row["changes"].get("cause") for row in await _audit(api, ours, "auth.login_failed", user_id)]
    assert sorted(causes) == ["locked"] * len(attempts) + ["wrong password"] * threshold


# Audit export


async def test_audit_export_neutralises_cells_that_would_run_as_formulas(api: Api, ours: TenantUsers) -> None:
    _, email = await _new_user(api, ours)
    agents = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"]
    for agent in agents:
        await api.post(LOGIN, {"e": email, "p": "wrong-password-1"}, headers={"User-Agent": agent})
    exported = await api.ok(
        '{ exportAuditLogs(filter:{action:"auth.login*"}) }', token=ours.tokens["tenant_admin"]
    )
    rows = list(csv.DictReader(io.StringIO(exported["exportAuditLogs"])))
    for agent in agents:
        assert any(row["user_agent"] == "'" + agent for row in rows), agent
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)


# Per-cluster roles


async def test_set_cluster_role_refuses_clusters_outside_the_tenant(
    api: Api, ours: TenantUsers, theirs: TenantUsers, kube: Fleet
) -> None:
    kubeconfig = kube.kubeconfigs["cluster-0"].read_text()
    admin, viewer = ours.tokens["tenant_admin"], ours.user_ids["viewer"]
    own = (await api.ok(REGISTER, {"t": ours.id, "in": {"name": "own", "kubeconfig": kubeconfig}}, admin))
    foreign = await api.ok(
        REGISTER, {"t": theirs.id, "in": {"name": "foreign", "kubeconfig": kubeconfig}}, theirs.tokens["tenant_admin"]
    )
    own_id = own["registerCluster"]["id"]
    for cluster_id in (foreign["registerCluster"]["id"], new_id("cluster")):
        error = await api.error(SET_CLUSTER_ROLE, {"t": ours.id, "u": viewer, "c": cluster_id, "r": "operator"}, admin)
        assert error["extensions"]["code"] == "NOT_FOUND"
        assert error["message"] == f"cluster '{cluster_id}' not found"
    roles = await api.ok("query($t:ID!,$u:ID!){ user(tenantId:$t,id:$u){ clusterRoles { clusterId } } }",
                         {"t": ours.id, "u": viewer}, admin)
    assert roles["user"]["clusterRoles"] == []
    unknown_role = await api.error(SET_CLUSTER_ROLE, {"t": ours.id, "u": viewer, "c": own_id, "r": "wizard"}, admin)
    assert unknown_role["extensions"]["code"] == "BAD_USER_INPUT"
    granted = await api.ok(SET_CLUSTER_ROLE, {"t": ours.id, "u": viewer, "c": own_id, "r": "operator"}, admin)
    assert granted["setClusterRole"]["clusterRoles"] == [{"clusterId": own_id, "role": "operator"}]
    await api.ok("mutation($i:ID!){ removeCluster(id:$i){ ok } }", {"i": own_id}, admin)
    taken_back = await api.ok(SET_CLUSTER_ROLE, {"t": ours.id, "u": viewer, "c": own_id, "r": None}, admin)
    assert taken_back["setClusterRole"]["clusterRoles"] == []
    gone = await api.error(SET_CLUSTER_ROLE, {"t": ours.id, "u": viewer, "c": own_id, "r": "operator"}, admin)
    assert gone["extensions"]["code"] == "NOT_FOUND"


# Password resets and API tokens


async def test_an_admin_reset_ends_the_users_api_tokens(api: Api, ours: TenantUsers) -> None:
    user_id, email = await _new_user(api, ours)
    token = (await api.login(email, PASSWORD))["accessToken"]
    values = [(await api.ok(API_TOKEN, token=token))["createApiToken"]["value"] for _ in range(2)]
    assert (await api.ok(ME, token=values[0]))["me"]["id"] == user_id
    await api.ok(RESET_DEFAULT, {"t": ours.id, "u": user_id}, ours.tokens["tenant_admin"])
    for value in values:
        assert await api.code(ME, token=value) == "UNAUTHENTICATED"
    rows = await _audit(api, ours, "user.password_reset_requested", user_id)
    assert [row["changes"]["revokedApiTokens"] for row in rows] == [2]


async def test_completing_a_reset_ends_api_tokens_made_meanwhile(api: Api, ours: TenantUsers) -> None:
    user_id, email = await _new_user(api, ours)
    issued = await api.ok(RESET, {"t": ours.id, "u": user_id, "k": True}, ours.tokens["tenant_admin"])
    token = (await api.login(email, PASSWORD))["accessToken"]
    value = (await api.ok(API_TOKEN, token=token))["createApiToken"]["value"]
    assert (await api.ok(ME, token=value))["me"]["id"] == user_id
    await api.ok(COMPLETE, {"k": issued["resetUserPassword"]["resetToken"], "n": "a-brand-new-password-7"})
    assert await api.code(ME, token=value) == "UNAUTHENTICATED"
    rows = await _audit(api, ours, "auth.password_reset", user_id)
    assert [row["changes"]["revokedApiTokens"] for row in rows] == [1]


async def test_an_admin_may_keep_the_api_tokens_through_a_reset(api: Api, ours: TenantUsers) -> None:
    user_id, email = await _new_user(api, ours)
    token = (await api.login(email, PASSWORD))["accessToken"]
    value = (await api.ok(API_TOKEN, token=token))["createApiToken"]["value"]
    issued = await api.ok(RESET, {"t": ours.id, "u": user_id, "k": False}, ours.tokens["tenant_admin"])
    await api.ok(COMPLETE, {"k": issued["resetUserPassword"]["resetToken"], "n": "a-brand-new-password-7"})
    assert (await api.ok(ME, token=value))["me"]["id"] == user_id
    requested = await _audit(api, ours, "user.password_reset_requested", user_id)
    completed = await _audit(api, ours, "auth.password_reset", user_id)
    assert [row["changes"]["revokedApiTokens"] for row in requested + completed] == [0, 0]

"""People by name where they act: the sign-in answer names the user, and an audit entry its actor
and tenant. Whoever reads the trail reads the actor's ID, email and names (what the entry already
tells), not the rest of the user; the entries of a page cost the statements of one. QAssure's
sign-in and audit rows (seed 003) give them, and its acts with nothing to give back answer
`{success, message}`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from sqlalchemy import event

from app.services import Services
from tests.support.api import CREATE_USER, PASSWORD, Api, TenantUsers, make_tenant

QASSURE = "/compat/qassure/api/v1"
LOGIN = """mutation($e:String!,$p:String!){ login(email:$e,password:$p){
  accessToken user { id name firstName lastName } } }"""
TRAIL = """query($u:ID,$n:Int){ auditLogs(filter:{userId:$u}, first:$n){ nodes {
  action actorId actorEmail actor { id email name firstName lastName } tenant { id name } } } }"""


@dataclass
class People:
    tenant: TenantUsers
    name: str  # the tenant's
    grace: str  # a user's ID
    grace_email: str
    reviewer: str  # a quality manager's token: reads the trail, not the users


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def people(api: Api, provider_token: str) -> People:
    tenant = await make_tenant(api, provider_token, roles=("quality_manager", "viewer"))
    admin = tenant.tokens["tenant_admin"]
    email = f"grace.{uuid.uuid4().hex[:6]}@{tenant.slug}.test"
    grace = {"email": email, "firstName": "Grace", "lastName": "Hopper", "role": "viewer", "password": PASSWORD}
    made = (await api.ok(CREATE_USER, {"t": tenant.id, "input": grace}, admin))["createUser"]
    token = (await api.login(email, PASSWORD))["accessToken"]
    await api.ok('mutation { updatePreferences(preferences:{theme:"dark"}) { id } }', token=token)
    found = await api.ok("query($i:ID!){ tenant(id:$i){ name } }", {"i": tenant.id}, admin)
    return People(tenant, found["tenant"]["name"], made["id"], email, tenant.tokens["quality_manager"])


async def test_signing_in_names_the_user(api: Api, people: People) -> None:
    signed = (await api.ok(LOGIN, {"e": people.grace_email, "p": PASSWORD}))["login"]
    assert signed["user"] == {"id": people.grace, "name": "Grace Hopper", "firstName": "Grace", "lastName": "Hopper"}


async def test_an_entry_names_its_actor_and_tenant_to_whoever_reads_the_trail(api: Api, people: People) -> None:
    entries = (await api.ok(TRAIL, {"u": people.grace, "n": 5}, people.reviewer))["auditLogs"]["nodes"]
    assert "profile.preferences_updated" in [e["action"] for e in entries]
    actor = {"id": people.grace, "email": people.grace_email, "name": "Grace Hopper", "firstName": "Grace",
             "lastName": "Hopper"}  # fmt: skip
    assert all(e["actor"] == actor and e["tenant"] == {"id": people.tenant.id, "name": people.name} for e in entries)
    user = "query($t:ID!,$u:ID!){ user(tenantId:$t,id:$u){ preferences } }"
    assert await api.code(user, {"t": people.tenant.id, "u": people.grace}, people.reviewer) == "FORBIDDEN"


async def test_provider_staff_show_as_the_entry_records_them(api: Api, people: People) -> None:
    """The tenant's creation was the provider's act: its reader gets the recorded ID and email,
    and no names, since provider staff are no users of the tenant."""
    admin = people.tenant.tokens["tenant_admin"]
    made = await api.ok('{ auditLogs(filter:{action:"tenant.created"}){ nodes { actorId actorEmail actor { '
                        "id email name firstName lastName } tenant { id } } } }", token=admin)  # fmt: skip
    [entry] = made["auditLogs"]["nodes"]
    assert entry["actor"] == {"id": entry["actorId"], "email": entry["actorEmail"], "name": None, "firstName": None,
                              "lastName": None}  # fmt: skip
    assert entry["tenant"] == {"id": people.tenant.id}


@contextmanager
def statements(services: Services) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _fewest_statements(api: Api, services: Services, size: int, token: str) -> int:
    """The statements of one page: the fewest of three runs, so nothing running beside it counts."""
    counts = []
    for _ in range(3):
        with statements(services) as seen:
            nodes = (await api.ok(TRAIL, {"u": None, "n": size}, token))["auditLogs"]["nodes"]
        assert len(nodes) == size
        counts.append(len(seen))
    return min(counts)


async def test_a_page_of_entries_costs_the_statements_of_one(api: Api, services: Services, people: People) -> None:
    token = people.tenant.tokens["tenant_admin"]
    page = (await api.ok(TRAIL, {"u": None, "n": 8}, token))["auditLogs"]["nodes"]
    assert len({e["actorId"] for e in page}) >= 2  # the page names several people
    assert await _fewest_statements(api, services, 8, token) == await _fewest_statements(api, services, 1, token)


# QAssure's rows


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_qassure_sign_in_and_audit_name_people(api: Api, people: People) -> None:
    http = api.http
    signed = await http.post(f"{QASSURE}/auth/login", json={"email": people.grace_email, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    user = signed.json()["data"]["user"]
    assert user == {"id": people.grace, "email": people.grace_email, "first_name": "Grace", "last_name": "Hopper"}
    out = await http.post(f"{QASSURE}/auth/logout", json={}, headers=_bearer(signed.json()["data"]["access_token"]))
    assert out.status_code == 200 and out.json() == {"success": True, "message": "Signed out"}

    listed = await http.get(f"{QASSURE}/audit-logs", params={"limit": 100}, headers=_bearer(people.reviewer))
    assert listed.status_code == 200, listed.text
    mine = [e for e in listed.json()["data"] if e["user_id"] == people.grace]
    assert mine and all(
        e["user"] == {"id": people.grace, "email": people.grace_email, "first_name": "Grace", "last_name": "Hopper"}
        and e["tenant"] == {"id": people.tenant.id, "name": people.name}
        for e in mine
    )
    one = await http.get(f"{QASSURE}/audit-logs/{listed.json()['data'][0]['id']}", headers=_bearer(people.reviewer))
    assert one.status_code == 200 and one.json()["data"]["tenant"]["name"] == people.name

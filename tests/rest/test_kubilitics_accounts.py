"""Kubilitics's account paths beyond their documented answers: a locked account answers 423 and
shows as locked until an admin unlocks it, roles go by their Kubilitics names both ways, a
DELETE without `X-Confirm-Destructive: true` is refused before anything happens, the audit log
comes as a CSV file when asked, and `/health` under the prefix is Kubilitics's, not the app's."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx

from tests.rest.samples.kubilitics.accounts import CONFIRM, new_user
from tests.rest.world import World

PREFIX = "/compat/kubilitics"


async def call(
    world: World, method: str, path: str, role: str | None = "tenant_admin", **options: Any
) -> httpx.Response:
    headers = dict(options.pop("headers", {}))
    if role is not None:
        headers["Authorization"] = f"Bearer {world.token(role)}"
    return await world.api.http.request(method, PREFIX + path, headers=headers, **options)


async def test_a_locked_account_answers_423_until_an_admin_unlocks_it(world: World) -> None:
    user_id, email = await new_user(world)
    wrong = {"username": email, "password": "not-the-password-1"}
    statuses = [(await call(world, "POST", "/api/v1/auth/login", None, json=wrong)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    locked = await call(world, "POST", "/api/v1/auth/login", None, json={"username": email, "password": world.password})
    assert locked.status_code == 423, locked.text
    assert locked.json()["code"] == "ACCOUNT_LOCKED" and locked.json()["error"]

    shown = (await call(world, "GET", f"/api/v1/users/{user_id}")).json()
    assert shown["locked"] is True and "locked_until" not in shown  # locked, until a time GraphQL does not tell

    assert (await call(world, "POST", f"/api/v1/users/{user_id}/unlock")).json() == {"message": "User unlocked"}
    shown = (await call(world, "GET", f"/api/v1/users/{user_id}")).json()
    assert shown["locked"] is False and shown["locked_until"] is None
    signed = await call(world, "POST", "/api/v1/auth/login", None, json={"username": email, "password": world.password})
    assert signed.status_code == 200 and signed.json()["token_type"] == "Bearer"
    assert 0 < signed.json()["expires_in"] <= 24 * 3600


async def test_roles_go_by_their_kubilitics_names(world: World) -> None:
    email = f"admin-{uuid.uuid4().hex[:10]}@{world.tenant.slug}.test"
    created = await call(
        world, "POST", "/api/v1/users", json={"username": email, "password": world.password, "role": "admin"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "admin" and created.json()["username"] == email
    stored = await world.gql("query($t:ID!,$i:ID!){ user(tenantId:$t, id:$i){ role email username } }",
                             {"t": world.tenant.id, "i": created.json()["id"]})  # fmt: skip
    assert stored["user"] == {"role": "tenant_admin", "email": email, "username": None}

    user_id, _ = await new_user(world)
    given = await call(
        world,
        "POST",
        f"/api/v1/users/{user_id}/cluster-permissions",
        json={"cluster_id": world.cluster_id, "role": "admin"},
    )
    assert given.json() == {"cluster_id": world.cluster_id, "role": "admin"}
    listed = (await call(world, "GET", f"/api/v1/users/{user_id}/cluster-permissions")).json()
    assert listed == [{"cluster_id": world.cluster_id, "role": "admin"}]
    me = (await call(world, "GET", "/api/v1/auth/me")).json()
    assert me["role"] == "admin" and me["username"] == world.tenant.emails["tenant_admin"]
    assert (await call(world, "GET", "/api/v1/auth/me", "developer")).json()["role"] == "developer"


async def test_a_password_is_not_set_by_patching_a_user(world: World) -> None:
    user_id, _ = await new_user(world)
    refused = await call(world, "PATCH", f"/api/v1/users/{user_id}", json={"password": "another-password-42"})
    assert refused.status_code == 400, refused.text
    assert [d["field"] for d in refused.json()["details"]] == ["body.password"]


async def test_a_delete_needs_the_confirmation_header(world: World) -> None:
    user_id, _ = await new_user(world)
    for headers in ({}, {"X-Confirm-Destructive": "false"}):
        refused = await call(world, "DELETE", f"/api/v1/users/{user_id}", headers=headers)
        assert refused.status_code == 400, refused.text
        assert [d["field"] for d in refused.json()["details"]] == ["header.X-Confirm-Destructive"]
    assert (await call(world, "GET", f"/api/v1/users/{user_id}")).status_code == 200
    deleted = await call(world, "DELETE", f"/api/v1/users/{user_id}", headers=CONFIRM)
    assert deleted.json() == {"message": "User deleted"}
    assert (await call(world, "GET", f"/api/v1/users/{user_id}")).status_code == 404


async def test_users_page_by_limit_and_offset(world: World) -> None:
    everyone = (await call(world, "GET", "/api/v1/users", params={"limit": 100})).json()
    second = (await call(world, "GET", "/api/v1/users", params={"limit": 1, "offset": 1})).json()
    assert len(everyone) >= 2 and second == everyone[1:2]


async def test_the_audit_log_in_kubilitics_words_and_as_csv(world: World) -> None:
    user_id, _ = await new_user(world)
    await call(world, "POST", f"/api/v1/users/{user_id}/unlock")
    query = {"action": "user.unlocked", "user_id": world.tenant.user_ids["tenant_admin"]}
    entries = (await call(world, "GET", "/api/v1/audit-log", params=query)).json()
    entry = next(e for e in entries if e["resource_name"] == user_id)
    assert entry["resource_kind"] == "user" and entry["cluster_id"] is None
    assert entry["status_code"] == 200 and entry["username"] == world.tenant.emails["tenant_admin"]

    exported = await call(world, "GET", "/api/v1/audit-log", params={**query, "format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["id"] for row in rows} == {e["id"] for e in entries}


async def test_health_under_the_prefix_is_kubilitics_s(world: World) -> None:
    health = (await call(world, "GET", "/health", None)).json()
    assert health["status"] == "healthy" and health["service"] == "fleetgraph"
    assert {"Pod", "Service", "Deployment"} <= set(health["topology_kinds"])
    assert "topology_kinds" not in (await world.api.http.get("/health")).json()
    assert (await call(world, "GET", "/capabilities", None)).status_code == 401
    kinds = (await call(world, "GET", "/capabilities", "viewer")).json()["topology_kinds"]
    assert kinds == health["topology_kinds"]

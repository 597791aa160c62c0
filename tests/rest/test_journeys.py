"""Each dialect's journey as its old client makes it, over plain HTTP: sign in with the
document's own request, list clusters (QAssure: tenants) and read one, create and delete a user,
page a list, and meet a 404, a 403 and, on an app with the documented limits on, a 429."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.rest.world import World

STRONG = "journey-Password-42!"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_cks_journey(world: World) -> None:
    http, t = world.api.http, world.tenant.id
    signed = await http.post(
        "/api/auth/login", json={"email": world.tenant.emails["tenant_admin"], "password": world.password}
    )
    assert signed.status_code == 200 and signed.json()["success"] is True
    token = signed.json()["data"]["accessToken"]
    assert isinstance(signed.json()["data"]["expiresAt"], int)
    admin = _bearer(token)
    clusters = (await http.get(f"/api/tenants/{t}/clusters", headers=admin)).json()["data"]
    assert world.cluster_id in {c["id"] for c in clusters["clusters"]} and clusters["total"] >= 1
    one = await http.get(f"/api/tenants/{t}/clusters/{world.cluster_id}", headers=admin)
    assert one.status_code == 200 and one.json()["data"]["id"] == world.cluster_id
    email = f"journey-{uuid.uuid4().hex[:8]}@{world.tenant.slug}.test"
    body = {"email": email, "name": "Jo Urney", "role": "viewer", "password": STRONG}
    created = await http.post(f"/api/tenants/{t}/users", json=body, headers=admin)
    assert created.status_code == 200, created.text
    user_id = created.json()["data"]["id"]
    page = (await http.get(f"/api/tenants/{t}/users", params={"page": 2, "pageSize": 2}, headers=admin)).json()["data"]
    assert page["page"] == 2 and page["pageSize"] == 2 and len(page["users"]) <= 2 and page["total"] >= 5
    deleted = await http.delete(f"/api/tenants/{t}/users/{user_id}", headers=admin)
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    missing = await http.get(f"/api/tenants/{t}/users/{user_id}", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    refused = await http.post(f"/api/tenants/{t}/users", json=body, headers=_bearer(world.token("viewer")))
    assert refused.status_code == 403 and refused.json() == {"success": False, "error": refused.json()["error"]}


async def test_kubilitics_journey(world: World) -> None:
    http = world.api.http
    signed = await http.post(
        "/api/v1/auth/login", json={"username": world.tenant.emails["tenant_admin"], "password": world.password}
    )
    assert signed.status_code == 200, signed.text
    admin = _bearer(signed.json()["access_token"])
    clusters = (await http.get("/api/v1/clusters", headers=admin)).json()
    assert world.cluster_id in {c["id"] for c in clusters}
    one = await http.get(f"/api/v1/clusters/{world.cluster_id}", headers=admin)
    assert one.status_code == 200 and one.json()["id"] == world.cluster_id
    username = f"journey-{uuid.uuid4().hex[:8]}@{world.tenant.slug}.test"
    created = await http.post(
        "/api/v1/users", json={"username": username, "password": STRONG, "role": "viewer"}, headers=admin
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    first = (await http.get("/api/v1/users", params={"limit": 2}, headers=admin)).json()
    assert len(first["items"] if isinstance(first, dict) and "items" in first else first) <= 2
    unconfirmed = await http.delete(f"/api/v1/users/{user_id}", headers=admin)
    assert unconfirmed.status_code == 400 and "error" in unconfirmed.json()
    deleted = await http.delete(f"/api/v1/users/{user_id}", headers={**admin, "X-Confirm-Destructive": "true"})
    assert deleted.status_code == 200, deleted.text
    missing = await http.get(f"/api/v1/users/{user_id}", headers=admin)
    assert missing.status_code == 404 and set(missing.json()) >= {"error"}
    refused = await http.post("/api/v1/users", json={"username": username, "password": STRONG, "role": "viewer"},
                              headers=_bearer(world.token("viewer")))  # fmt: skip
    assert refused.status_code == 403 and isinstance(refused.json()["error"], str)


async def test_qassure_journey(world: World) -> None:
    http, base = world.api.http, "/compat/qassure/api/v1"
    signed = await http.post(
        f"{base}/auth/login", json={"email": world.tenant.emails["tenant_admin"], "password": world.password}
    )
    assert signed.status_code == 200 and signed.json()["success"] is True, signed.text
    admin = _bearer(signed.json()["data"]["access_token"])
    tenant = await http.get(f"{base}/tenants/{world.tenant.id}", headers=admin)
    assert tenant.status_code == 200 and tenant.json()["data"]["id"] == world.tenant.id
    email = f"journey-{uuid.uuid4().hex[:8]}@{world.tenant.slug}.test"
    body = {"email": email, "password": STRONG, "first_name": "Jo", "last_name": "Urney", "tenant_id": world.tenant.id,
            "role_id": "rol_viewer", "status": "active", "auth_provider": "local"}  # fmt: skip
    created = await http.post(f"{base}/users", json=body, headers=admin)
    assert created.status_code == 200, created.text
    user_id = created.json()["data"]["id"]
    params: Any = {"page": 1, "limit": 2, "orderBy[]": ["email", "desc"]}
    page = (await http.get(f"{base}/users", params=params, headers=admin)).json()
    assert page["pagination"]["limit"] == 2 and page["pagination"]["total"] >= 5 and page["pagination"]["hasMore"]
    emails = [u["email"] for u in page["data"]]
    assert emails == sorted(emails, reverse=True)
    unsortable = await http.get(f"{base}/users", params={"orderBy[]": ["password_hash", "asc"]}, headers=admin)
    assert unsortable.status_code == 400 and unsortable.json()["success"] is False
    deleted = await http.delete(f"{base}/users/{user_id}", headers=admin)
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    missing = await http.get(f"{base}/users/{user_id}", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    invalid = await http.post(f"{base}/users", json={"email": 5}, headers=admin)
    assert invalid.status_code == 400 and invalid.json()["error"] == "Validation failed" and invalid.json()["details"]
    refused = await http.post(f"{base}/users", json=body, headers=_bearer(world.token("viewer")))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"


async def test_provisioner_journey(world: World) -> None:
    http, base = world.api.http, "/compat/provisioner/api/v1"
    form = {"username": world.tenant.emails["tenant_admin"], "password": world.password}
    signed = await http.post(f"{base}/auth/login", data=form)  # OAuth2's password form
    assert signed.status_code == 200, signed.text
    admin = _bearer(signed.json()["access_token"])
    clusters = (await http.get(f"{base}/clusters", params={"page": 1, "page_size": 1}, headers=admin)).json()
    assert clusters["page_size"] == 1 and clusters["total"] >= 1 and len(clusters["data"]) == 1
    assert clusters["total_pages"] == clusters["total"]
    one = await http.get(f"{base}/clusters/{world.cluster_id}", headers=admin)
    assert one.status_code == 200 and one.json()["id"] == world.cluster_id
    body = {
        "email": f"journey-{uuid.uuid4().hex[:8]}@prov.test",
        "password": STRONG,
        "full_name": "Jo Urney",
        "role": "viewer",
    }
    created = await http.post(f"{base}/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    deleted = await http.delete(f"{base}/users/{created.json()['id']}", headers=admin)
    assert deleted.status_code == 204 and deleted.content == b""
    missing = await http.get(f"{base}/clusters/cls_01missing0000000000000000", headers=admin)
    assert missing.status_code == 404 and isinstance(missing.json()["detail"], str)
    invalid = await http.post(f"{base}/users", json={"email": []}, headers=admin)
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"][0] == "body"
    refused = await http.post(f"{base}/users", json=body, headers=_bearer(world.token("viewer")))
    assert refused.status_code == 403 and "detail" in refused.json()


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/api/tenants/{t}/api-reference", lambda b: b["success"] is False and b["error"]["code"] == "RATE_LIMITED"),
        ("/compat/kubilitics/api/v1/auth/me", lambda b: b["error"].startswith("Rate limit exceeded")),
        (
            "/compat/qassure/api/v1/tenants/{t}",
            lambda b: b["success"] is False and b["error"]["code"] == "RATE_LIMITED",
        ),
        ("/compat/provisioner/api/v1/auth/me", lambda b: b["detail"].startswith("Rate limit exceeded")),
    ],
)
async def test_each_dialect_answers_429_in_its_shape(
    world: World, limited: httpx.AsyncClient, path: str, shape: Any
) -> None:
    url, headers = path.format(t=world.tenant.id), _bearer(world.token("tenant_admin"))
    first = await limited.get(url, headers=headers)
    remaining = int(first.headers["X-RateLimit-Remaining"])
    for _ in range(remaining):
        assert (await limited.get(url, headers=headers)).status_code == 200
    refused = await limited.get(url, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert shape(refused.json()), refused.json()

"""Where each dialect answers: its own prefix, the bare `/api/v1` for the chosen one (and for a
path only one document has), and each prefix's unknown paths, wrong methods and bad bodies
answered in the dialect's JSON, never as text or a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.rest.dialect import Dialect
from app.rest.kubilitics.dialect import Kubilitics
from app.rest.provisioner.dialect import Provisioner
from app.rest.qassure.dialect import QAssure
from app.rest.routing import Mounted, placements
from app.rest.rows import Row
from tests.rest.world import World


def _mounted(dialect: Dialect, *paths: str) -> Mounted:
    rows = [Row("GET", path, "x.graphql", ("X",), "x", "x") for path in paths]
    return Mounted(executor=_Stub(dialect), rows=rows, compat=True)  # type: ignore[arg-type]


class _Stub:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect


@pytest.mark.parametrize("chosen", ["kubilitics", "qassure", "provisioner"])
def test_the_chosen_dialect_answers_a_shared_path_and_each_answers_its_own(chosen: str) -> None:
    mounted = [
        _mounted(Kubilitics(), "/api/v1/clusters/{clusterId}", "/api/v1/projects", "/health"),
        _mounted(QAssure(), "/api/v1/tenants", "/api/v1/clusters/{id}"),
        _mounted(Provisioner(), "/api/v1/clusters/{cluster_id}", "/api/v1/jobs"),
    ]
    served = {(p.prefix, p.mounted.dialect.name, p.row.path) for p in placements(mounted, chosen)}
    bare_cluster = {d for prefix, d, path in served if prefix == "" and path.startswith("/api/v1/clusters/")}
    assert bare_cluster == {chosen}
    assert ("", "kubilitics", "/api/v1/projects") in served
    assert ("", "qassure", "/api/v1/tenants") in served
    assert ("", "provisioner", "/api/v1/jobs") in served
    assert ("", "kubilitics", "/health") not in served  # the app's own /health
    for dialect in ("kubilitics", "qassure", "provisioner"):
        assert any(prefix == f"/compat/{dialect}" for prefix, d, _ in served if d == dialect)


async def test_unknown_paths_answer_each_dialects_json_404(api_http: httpx.AsyncClient) -> None:
    cases = {
        "/api/nothing/here": {"success": False, "error": {"code": "NOT_FOUND"}},
        "/api/v1/nothing": {"code": "NOT_FOUND"},
        "/compat/kubilitics/api/v1/nothing": {"code": "NOT_FOUND"},
        "/compat/qassure/api/v1/nothing": {"success": False, "error": {"code": "NOT_FOUND"}},
        "/compat/provisioner/api/v1/nothing": {},
    }
    for path, expected in cases.items():
        response = await api_http.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json"), path
        body = response.json()
        for key, value in expected.items():
            assert body[key] == value if not isinstance(value, dict) else body[key]["code"] == value["code"], body
    assert "detail" in (await api_http.get("/compat/provisioner/api/v1/nothing")).json()
    assert "error" in (await api_http.get("/api/v1/nothing")).json()


async def test_a_wrong_method_answers_405_with_allow(api_http: httpx.AsyncClient) -> None:
    response = await api_http.put("/api/provider/tenants")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_bad_bodies_answer_400_with_details(api_http: httpx.AsyncClient, provider_token: str) -> None:
    headers = {"Authorization": f"Bearer {provider_token}"}
    broken = await api_http.post("/api/provider/tenants", content=b"{not json", headers=headers)
    assert broken.status_code == 400
    assert broken.json()["error"]["details"][0]["path"] == "body"
    listed = await api_http.post("/api/provider/tenants", json=[1, 2], headers=headers)
    assert listed.status_code == 400 and listed.json()["error"]["details"][0]["path"] == "body"
    missing = await api_http.post("/api/provider/tenants", json={"name": "x"}, headers=headers)
    assert missing.status_code == 400
    assert [d["path"] for d in missing.json()["error"]["details"]] == ["body.adminEmail"]
    form = await api_http.post("/api/provider/tenants", data={"name": "x"}, headers=headers)
    assert form.status_code == 415 and form.json()["success"] is False
    paged = await api_http.get("/api/provider/tenants", params={"pageSize": "1000"}, headers=headers)
    assert paged.status_code == 400 and paged.json()["error"]["details"][0]["path"] == "query.pageSize"


@pytest.fixture
async def api_http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield http


async def test_every_rest_answer_has_rate_limit_and_trace_headers_and_429_in_dialect(
    limited: httpx.AsyncClient, provider_token: str
) -> None:
    headers = {"Authorization": f"Bearer {provider_token}"}
    first = await limited.get("/api/provider/tenants", headers=headers)
    assert first.status_code == 200
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-ID", "X-Trace-ID"):
        assert first.headers.get(name), name
    limit = int(first.headers["X-RateLimit-Limit"])
    remaining = int(first.headers["X-RateLimit-Remaining"])
    statuses = [(await limited.get("/api/provider/tenants", headers=headers)).status_code for _ in range(remaining)]
    assert statuses == [200] * remaining
    refused = await limited.get("/api/provider/tenants", headers=headers)
    assert refused.status_code == 429, (limit, refused.text)
    unknown = await limited.get("/api/no/such/path", headers=headers)  # counted like any other path
    assert unknown.status_code == 429 and unknown.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) > 0 and refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.json() == {
        "success": False,
        "error": {"code": "RATE_LIMITED", "message": refused.json()["error"]["message"]},
    }


async def test_every_credential_works_on_rest(world: World) -> None:
    """A sign-in's JWT, an API token as a bearer, and an API token in X-API-Key."""
    created = await world.gql('mutation{ createApiToken(name:"rest"){ value } }', role="viewer")
    token = created["createApiToken"]["value"]
    path = f"/api/tenants/{world.tenant.id}/api-reference"
    for headers in (
        {"Authorization": f"Bearer {world.token('viewer')}"},
        {"Authorization": f"Bearer {token}"},
        {"X-API-Key": token},
    ):
        response = await world.api.http.get(path, headers=headers)
        assert response.status_code == 200, (headers.keys(), response.text[:300])
        assert response.json()["data"]["openapi"] == "3.1.0"
    refused = await world.api.http.get(path, headers={"X-API-Key": token + "x"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_the_chosen_dialect_answers_the_bare_api_v1(limited: httpx.AsyncClient, world: World) -> None:
    """The limited app is served with FLEETGRAPH_REST_V1_DIALECT=qassure."""
    body = {"email": world.tenant.emails["viewer"], "password": world.password}
    bare = await limited.post("/api/v1/auth/login", json=body)
    assert bare.status_code == 200 and bare.json()["success"] is True and "access_token" in bare.json()["data"]
    kubilitics = await limited.post(
        "/compat/kubilitics/api/v1/auth/login", json={"username": body["email"], "password": body["password"]}
    )
    assert kubilitics.status_code == 200 and "success" not in kubilitics.json()
    only_kubilitics = await limited.get("/capabilities", headers={"Authorization": f"Bearer {world.token('viewer')}"})
    assert only_kubilitics.status_code == 200 and "topology_kinds" in only_kubilitics.json(), only_kubilitics.text


async def test_a_form_that_cannot_be_read_is_a_400_naming_the_body(api_http: httpx.AsyncClient) -> None:
    response = await api_http.post(
        "/compat/provisioner/api/v1/auth/login",
        content=b"username=a&password=b",
        headers={"Content-Type": "multipart/form-data"},  # no boundary
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body"]

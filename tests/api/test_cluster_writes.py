"""Writes to a cluster through GraphQL: namespaces, workloads, and patches or deletions of any kind.

Each change is checked in kubesim over HTTP, in the audit trail, and in kubesim's record of the
impersonation headers; each is refused to a viewer (FORBIDDEN) and to another tenant's admin
(NOT_FOUND) without anything written to the cluster.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.api import Api, TenantUsers
from tests.support.cluster_writes import (
    CREATE_NS,
    CREATE_WORKLOAD,
    Setup,
    assert_impersonated,
    audited,
    cluster_setup,
    deployment,
    eventually,
    make_namespace,
    refused,
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def setup(api: Api, provider_token: str, tenant_b: TenantUsers, database_url: str) -> AsyncIterator[Setup]:
    """A cluster of this module's own, per database backend."""
    async with cluster_setup(api, provider_token, tenant_b, seed=31) as s:
        yield s


async def test_create_namespace_with_quota(api: Api, setup: Setup) -> None:
    s = setup
    variables = {
        "c": s.cluster_id,
        "in": {
            "name": "team-a",
            "labels": {"team": "a"},
            "annotations": {"owner": "ops"},
            "quota": {"cpu": "4", "memory": "8Gi", "pods": 20},
        },
    }
    await refused(api, s, CREATE_NS, variables)
    assert await s.get("/api/v1/namespaces/team-a") is None
    created = (await api.ok(CREATE_NS, variables, s.operator))["createNamespace"]
    assert created["name"] == "team-a" and created["labels"]["team"] == "a"
    assert created["annotations"] == {"owner": "ops"}
    namespace = await s.get("/api/v1/namespaces/team-a")
    assert namespace and namespace["metadata"]["labels"]["team"] == "a"
    quota = await s.get("/api/v1/namespaces/team-a/resourcequotas/default-quota")
    assert quota and quota["spec"]["hard"] == {"requests.cpu": "4", "requests.memory": "8Gi", "pods": "20"}
    row = await audited(api, s, "namespace.created", f"{s.cluster_id}/Namespace//team-a")
    assert row["changes"]["quota"]["pods"] == "20"
    assert_impersonated(s, "POST", "/api/v1/namespaces")
    assert_impersonated(s, "POST", "/api/v1/namespaces/team-a/resourcequotas")
    again = await api.error(CREATE_NS, variables, s.operator)
    assert again["extensions"]["code"] == "CONFLICT" and "team-a" in again["message"]
    bad = await api.error(CREATE_NS, {"c": s.cluster_id, "in": {"name": "q", "quota": {"cpu": "lots"}}}, s.operator)
    assert bad["extensions"]["details"][0]["field"] == "quota.cpu"
    assert await s.get("/api/v1/namespaces/q") is None


async def test_update_namespace_and_its_quota(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-b")
    await api.ok(
        'mutation($c:ID!){ updateNamespace(clusterId:$c,name:"team-b",input:{labels:{a:"1",b:"2"}}){ name } }',
        {"c": s.cluster_id},
        s.operator,
    )
    update = """mutation($c:ID!,$in:UpdateNamespaceInput!){ updateNamespace(clusterId:$c,name:"team-b",input:$in){
      labels } }"""
    variables = {"c": s.cluster_id, "in": {"labels": {"a": None, "c": "3"}}}
    await refused(api, s, update, variables)
    labels = (await api.ok(update, variables, s.operator))["updateNamespace"]["labels"]
    assert labels.get("b") == "2" and labels.get("c") == "3" and "a" not in labels
    stored = await s.get("/api/v1/namespaces/team-b")
    assert stored and "a" not in stored["metadata"]["labels"]
    await audited(api, s, "namespace.updated", f"{s.cluster_id}/Namespace//team-b")
    assert_impersonated(s, "PATCH", "/api/v1/namespaces/team-b")

    quota = """mutation($c:ID!,$q:NamespaceQuotaInput!){ updateNamespaceQuota(clusterId:$c,name:"team-b",quota:$q){
      kind name raw } }"""
    await refused(api, s, quota, {"c": s.cluster_id, "q": {"pods": 5}})
    assert await s.get("/api/v1/namespaces/team-b/resourcequotas/default-quota") is None
    first = (await api.ok(quota, {"c": s.cluster_id, "q": {"pods": 5}}, s.operator))["updateNamespaceQuota"]
    assert first["kind"] == "ResourceQuota" and first["raw"]["spec"]["hard"] == {"pods": "5"}
    await api.ok(quota, {"c": s.cluster_id, "q": {"limitsCpu": "2"}}, s.operator)
    stored = await s.get("/api/v1/namespaces/team-b/resourcequotas/default-quota")
    assert stored and stored["spec"]["hard"] == {"pods": "5", "limits.cpu": "2"}
    row = await audited(api, s, "namespace.quota_updated", f"{s.cluster_id}/ResourceQuota/team-b/default-quota")
    assert row["changes"]["after"]["limits.cpu"] == "2"
    assert_impersonated(s, "PATCH", "/api/v1/namespaces/team-b/resourcequotas/default-quota")


async def test_create_workload(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-w")
    variables = {"c": s.cluster_id, "n": "team-w", "m": deployment("web")}
    await refused(api, s, CREATE_WORKLOAD, variables)
    created = (await api.ok(CREATE_WORKLOAD, variables, s.operator))["createWorkload"]
    assert created == {
        "kind": "Deployment",
        "name": "web",
        "namespace": "team-w",
        "replicas": 1,
        "images": ["nginx:1.25"],
    }
    assert await s.get("/apis/apps/v1/namespaces/team-w/deployments/web")
    await audited(api, s, "workload.created", f"{s.cluster_id}/Deployment/team-w/web")
    assert_impersonated(s, "POST", "/apis/apps/v1/namespaces/team-w/deployments")


async def test_create_workload_refuses_what_kubernetes_refuses(api: Api, setup: Setup) -> None:
    s = setup
    variables = {"c": s.cluster_id, "n": "team-w", "m": deployment("web")}

    broken = deployment("broken")
    broken["spec"]["template"]["spec"]["containers"] = []
    invalid = await api.error(CREATE_WORKLOAD, {**variables, "m": broken}, s.operator)
    assert invalid["extensions"]["code"] == "BAD_USER_INPUT"
    assert {d["field"] for d in invalid["extensions"]["details"]} == {"spec.template.spec.containers"}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}}
    wrong = await api.error(CREATE_WORKLOAD, {**variables, "m": service}, s.operator)
    assert wrong["extensions"]["details"][0]["field"] == "manifest.kind"
    assert await api.code(CREATE_WORKLOAD, variables, s.operator) == "CONFLICT"


async def test_update_scale_delete_workload(api: Api, setup: Setup) -> None:
    s = setup

    update = """mutation($c:ID!,$p:JSON!){ updateWorkload(clusterId:$c,kind:"deployment",namespace:"team-w",name:"web",
      patch:$p){ labels images } }"""
    patch = {
        "metadata": {"labels": {"tier": "front"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}},
    }
    await refused(api, s, update, {"c": s.cluster_id, "p": patch})
    updated = (await api.ok(update, {"c": s.cluster_id, "p": patch}, s.operator))["updateWorkload"]
    assert updated["labels"]["tier"] == "front" and updated["images"] == ["nginx:1.26"]
    await audited(api, s, "workload.updated", f"{s.cluster_id}/Deployment/team-w/web")

    scale = """mutation($c:ID!,$r:Int!){ scaleWorkload(clusterId:$c,kind:"Deployment",namespace:"team-w",name:"web",
      replicas:$r){ replicas } }"""
    await refused(api, s, scale, {"c": s.cluster_id, "r": 3})
    assert (await api.ok(scale, {"c": s.cluster_id, "r": 3}, s.operator))["scaleWorkload"]["replicas"] == 3
    stored = await s.get("/apis/apps/v1/namespaces/team-w/deployments/web")
    assert stored and stored["spec"]["replicas"] == 3
    row = await audited(api, s, "workload.scaled", f"{s.cluster_id}/Deployment/team-w/web")
    assert row["changes"]["replicas"] == [1, 3]
    assert_impersonated(s, "PATCH", "/apis/apps/v1/namespaces/team-w/deployments/web/scale")
    assert await api.code(scale, {"c": s.cluster_id, "r": -1}, s.operator) == "BAD_USER_INPUT"

    delete = """mutation($c:ID!){ deleteWorkload(clusterId:$c,kind:"Deployment",namespace:"team-w",name:"web"){
      kind name uid } }"""
    await refused(api, s, delete, {"c": s.cluster_id})
    deleted = (await api.ok(delete, {"c": s.cluster_id}, s.operator))["deleteWorkload"]
    assert deleted["kind"] == "Deployment" and deleted["name"] == "web" and deleted["uid"]
    assert await s.get("/apis/apps/v1/namespaces/team-w/deployments/web") is None
    await audited(api, s, "workload.deleted", f"{s.cluster_id}/Deployment/team-w/web")
    assert_impersonated(s, "DELETE", "/apis/apps/v1/namespaces/team-w/deployments/web")


async def test_scale_namespace_parks_every_workload(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-s")
    for name, replicas in (("one", 2), ("two", 1), ("idle", 0)):
        await api.ok(
            CREATE_WORKLOAD, {"c": s.cluster_id, "n": "team-s", "m": deployment(name, replicas=replicas)}, s.operator
        )
    scale = """mutation($c:ID!,$r:Int!){ scaleNamespace(clusterId:$c,name:"team-s",replicas:$r){
      kind name previousReplicas replicas } }"""
    await refused(api, s, scale, {"c": s.cluster_id, "r": 0})
    changed = (await api.ok(scale, {"c": s.cluster_id, "r": 0}, s.operator))["scaleNamespace"]
    assert sorted((c["name"], c["previousReplicas"], c["replicas"]) for c in changed) == [("one", 2, 0), ("two", 1, 0)]
    listed = await s.get("/apis/apps/v1/namespaces/team-s/deployments")
    assert listed and {d["metadata"]["name"]: d["spec"]["replicas"] for d in listed["items"]} == {
        "one": 0,
        "two": 0,
        "idle": 0,
    }
    row = await audited(api, s, "namespace.scaled", f"{s.cluster_id}/Namespace//team-s")
    assert {w["name"] for w in row["changes"]["workloads"]} == {"one", "two"}
    assert_impersonated(s, "PATCH", "/apis/apps/v1/namespaces/team-s/deployments/one/scale")
    assert (await api.ok(scale, {"c": s.cluster_id, "r": 0}, s.operator))["scaleNamespace"] == []


PATCH = """mutation($c:ID!,$k:String!,$n:String,$name:String!,$p:JSON!,$t:PatchType!){ patchResource(clusterId:$c,
  kind:$k,namespace:$n,name:$name,patch:$p,patchType:$t){ kind name labels raw } }"""
DELETE = """mutation($c:ID!,$k:String!,$n:String,$name:String!,$ok:Boolean!){ deleteResource(clusterId:$c,kind:$k,
  namespace:$n,name:$name,confirm:$ok){ kind name pending } }"""


async def test_patch_any_resource(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-p")
    await s.http.post("/api/v1/namespaces/team-p/configmaps", json={"metadata": {"name": "conf"}, "data": {"a": "1"}})
    target = {"c": s.cluster_id, "k": "cm", "n": "team-p", "name": "conf"}
    merge = {**target, "p": {"data": {"b": "2"}}, "t": "MERGE"}
    await refused(api, s, PATCH, merge)
    assert (await s.get("/api/v1/namespaces/team-p/configmaps/conf") or {}).get("data") == {"a": "1"}
    result = (await api.ok(PATCH, merge, s.operator))["patchResource"]
    assert result["kind"] == "ConfigMap" and result["raw"]["data"] == {"a": "1", "b": "2"}
    json_patch = {**target, "p": [{"op": "remove", "path": "/data/a"}], "t": "JSON"}
    assert (await api.ok(PATCH, json_patch, s.operator))["patchResource"]["raw"]["data"] == {"b": "2"}
    row = await audited(api, s, "resource.patched", f"{s.cluster_id}/ConfigMap/team-p/conf")
    assert row["changes"]["patchType"] in ("merge", "json")
    assert_impersonated(s, "PATCH", "/api/v1/namespaces/team-p/configmaps/conf")
    wrong = await api.error(PATCH, {**target, "p": {"data": {}}, "t": "JSON"}, s.operator)
    assert wrong["extensions"]["details"][0]["field"] == "patch"

    await s.http.post("/api/v1/namespaces/team-p/secrets", json={"metadata": {"name": "key"}, "data": {"k": "YQ=="}})
    secret = {**target, "k": "Secret", "name": "key", "p": {"data": {"k": "Yg=="}}, "t": "STRATEGIC"}
    patched = (await api.ok(PATCH, secret, s.operator))["patchResource"]["raw"]
    assert "data" not in patched and patched["dataKeys"] == ["k"]
    row = await audited(api, s, "resource.patched", f"{s.cluster_id}/Secret/team-p/key")
    assert "Yg==" not in str(row["changes"])


async def test_delete_any_resource_needs_confirmation(api: Api, setup: Setup) -> None:
    s = setup
    await s.http.post("/api/v1/namespaces/team-p/configmaps", json={"metadata": {"name": "conf"}, "data": {"a": "1"}})
    delete = {"c": s.cluster_id, "k": "cm", "n": "team-p", "name": "conf", "ok": False}
    assert await api.code(DELETE, delete, s.operator) == "BAD_USER_INPUT"
    await refused(api, s, DELETE, {**delete, "ok": True})
    assert await s.get("/api/v1/namespaces/team-p/configmaps/conf")
    gone = (await api.ok(DELETE, {**delete, "ok": True}, s.operator))["deleteResource"]
    assert gone == {"kind": "ConfigMap", "name": "conf", "pending": False}
    assert await s.get("/api/v1/namespaces/team-p/configmaps/conf") is None
    await audited(api, s, "resource.deleted", f"{s.cluster_id}/ConfigMap/team-p/conf")
    assert_impersonated(s, "DELETE", "/api/v1/namespaces/team-p/configmaps/conf")
    assert await api.code(DELETE, {**delete, "ok": True}, s.operator) == "NOT_FOUND"


async def test_delete_namespace_needs_confirmation(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-d")
    delete = """mutation($c:ID!,$n:String!,$ok:Boolean!){ deleteNamespace(clusterId:$c,name:$n,confirm:$ok){
      kind name pending } }"""
    unconfirmed = await api.error(delete, {"c": s.cluster_id, "n": "team-d", "ok": False}, s.operator)
    assert unconfirmed["extensions"]["details"][0]["field"] == "confirm"
    assert await api.code(delete, {"c": s.cluster_id, "n": "kube-system", "ok": True}, s.operator) == "BAD_USER_INPUT"
    await refused(api, s, delete, {"c": s.cluster_id, "n": "team-d", "ok": True})
    assert await s.get("/api/v1/namespaces/team-d")
    deleted = (await api.ok(delete, {"c": s.cluster_id, "n": "team-d", "ok": True}, s.operator))["deleteNamespace"]
    assert deleted["kind"] == "Namespace" and deleted["name"] == "team-d"

    async def gone_or_terminating() -> bool:
        current = await s.get("/api/v1/namespaces/team-d")
        return current is None or current["status"]["phase"] == "Terminating"

    assert await eventually(gone_or_terminating)
    await audited(api, s, "namespace.deleted", f"{s.cluster_id}/Namespace//team-d")
    assert_impersonated(s, "DELETE", "/api/v1/namespaces/team-d")


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

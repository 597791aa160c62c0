"""Clusters registered from kubesim kubeconfigs, read live through the watch-fed caches."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.services import Services
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.waiting import watches_open

REGISTER = """mutation($t:ID!,$in:RegisterClusterInput!){ registerCluster(tenantId:$t,input:$in){
  id name status provider version serverUrl tenantId } }"""
DASHBOARD = """query($i:ID!){ cluster(id:$i){ id name
  summary { nodes readyNodes namespaces pods runningPods deployments services }
  nodes(first:100) { nodes { name ready roles } } namespaces(first:100) { nodes { name phase } }
  workloads(first:100) { nodes { kind name namespace replicas readyReplicas status } }
  pods(namespace:"default", first:100) { nodes { name phase ready } } } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube(database_url: str) -> AsyncIterator[Fleet]:
    """The module's clusters, per database backend: the tests change them."""
    async with start_fleet(2, profile="small", seed=11, control=True) as fleet:
        yield fleet


def kubeconfig(fleet: Fleet, name: str) -> str:
    return fleet.kubeconfigs[name].read_text()


def list_calls(fleet: Fleet, name: str) -> dict[str, int]:
    return {k: v for k, v in fleet.cluster(name).control.counters.items() if v}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def registered(api: Api, provider_token: str, kube: Fleet) -> tuple[TenantUsers, list[str]]:
    tenant = await make_tenant(api, provider_token, roles=("operator", "viewer"), maxClusters=2)
    ids = []
    for name in ("cluster-0", "cluster-1"):
        data = await api.ok(
            REGISTER,
            {
                "t": tenant.id,
                "in": {
                    "name": name,
                    "kubeconfig": kubeconfig(kube, name),
                    "region": "eu-west-1",
                    "tags": {"env": "test"},
                },
            },
            tenant.tokens["tenant_admin"],
        )
        ids.append(data["registerCluster"]["id"])
    return tenant, ids


async def test_register_detects_version_and_provider(registered: tuple[TenantUsers, list[str]], api: Api) -> None:
    tenant, ids = registered
    listed = await api.ok(
        "query($t:ID!){ clusters(tenantId:$t){ totalCount nodes { id name provider status version region tags } } }",
        {"t": tenant.id},
        tenant.tokens["viewer"],
    )
    clusters = listed["clusters"]["nodes"]
    assert [c["id"] for c in clusters] == ids
    assert all(c["provider"] == "kubesim" and c["status"] == "connected" for c in clusters)
    assert all(c["version"].startswith("v1.") and c["tags"] == {"env": "test"} for c in clusters)


async def test_register_rules(registered: tuple[TenantUsers, list[str]], api: Api, kube: Fleet) -> None:
    tenant, _ = registered
    admin = tenant.tokens["tenant_admin"]
    full = await api.error(
        REGISTER, {"t": tenant.id, "in": {"name": "third", "kubeconfig": kubeconfig(kube, "cluster-0")}}, admin
    )
    assert full["extensions"]["code"] == "CONFLICT" and "limit of 2 clusters" in full["message"]
    bad_name = await api.error(REGISTER, {"t": tenant.id, "in": {"name": "Bad_Name", "kubeconfig": "x"}}, admin)
    assert bad_name["extensions"]["details"][0]["field"] == "name"
    bad_yaml = await api.error(
        REGISTER, {"t": tenant.id, "in": {"name": "ok", "kubeconfig": "clusters: [\n  - {"}}, admin
    )
    assert bad_yaml["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad_yaml["extensions"]["details"][0]["field"] == "kubeconfig"
    viewer = await api.error(
        REGISTER, {"t": tenant.id, "in": {"name": "v", "kubeconfig": "x"}}, tenant.tokens["viewer"]
    )
    assert viewer["extensions"]["code"] == "FORBIDDEN"


async def test_unreachable_cluster_is_refused_at_registration(api: Api, provider_token: str, kube: Fleet) -> None:
    tenant = await make_tenant(api, provider_token, roles=())
    dead = kubeconfig(kube, "cluster-0").replace(kube.server_url("cluster-0"), "http://127.0.0.1:9")
    encoded = base64.b64encode(dead.encode()).decode()
    error = await api.error(
        REGISTER, {"t": tenant.id, "in": {"name": "dead", "kubeconfig": encoded}}, tenant.tokens["tenant_admin"]
    )
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE" and "127.0.0.1:9" in error["message"]
    listed = await api.ok(
        "query($t:ID!){ clusters(tenantId:$t){ totalCount } }", {"t": tenant.id}, tenant.tokens["tenant_admin"]
    )
    assert listed["clusters"]["totalCount"] == 0


async def test_cold_dashboard_lists_once_per_kind_and_warm_costs_nothing(
    registered: tuple[TenantUsers, list[str]], api: Api, kube: Fleet, services: Services
) -> None:
    tenant, ids = registered
    control = kube.cluster("cluster-1").control
    control.counters.clear()
    cold = (await api.ok(DASHBOARD, {"i": ids[1]}, tenant.tokens["viewer"]))["cluster"]
    calls = list_calls(kube, "cluster-1")
    lists = {k: v for k, v in calls.items() if k.startswith("list ")}
    assert lists and all(v == 1 for v in lists.values()), calls
    assert not [k for k in calls if k.startswith("get ")], calls
    assert cold["summary"]["nodes"] == len(cold["nodes"]["nodes"]) >= 2
    assert cold["summary"]["pods"] >= cold["summary"]["runningPods"] > 0
    assert {w["kind"] for w in cold["workloads"]["nodes"]} >= {"Deployment", "StatefulSet"}
    await watches_open(services.gateway, ids[1])  # only they may have called the cluster since
    control.counters.clear()
    warm = (await api.ok(DASHBOARD, {"i": ids[1]}, tenant.tokens["viewer"]))["cluster"]
    assert {k: v for k, v in control.counters.items() if not k.startswith("watch ")} == {}
    assert warm["summary"] == cold["summary"]


async def test_a_change_in_the_cluster_shows_in_the_next_query(
    registered: tuple[TenantUsers, list[str]], api: Api, kube: Fleet
) -> None:
    tenant, ids = registered
    query = "query($i:ID!){ cluster(id:$i){ namespaces(first:100) { nodes { name } } } }"
    listed = (await api.ok(query, {"i": ids[0]}, tenant.tokens["viewer"]))["cluster"]["namespaces"]["nodes"]
    before = {n["name"] for n in listed}
    cluster = kube.cluster("cluster-0")
    async with httpx.AsyncClient(
        base_url=kube.server_url("cluster-0"), headers={"Authorization": f"Bearer {cluster.token}"}
    ) as http:
        created = await http.post(
            "/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh-ns"}}
        )
        assert created.status_code == 201, created.text
    after: set[str] = set()
    for _ in range(50):
        data = await api.ok(query, {"i": ids[0]}, tenant.tokens["viewer"])
        after = {n["name"] for n in data["cluster"]["namespaces"]["nodes"]}
        if "fresh-ns" in after:
            break
        await asyncio.sleep(0.05)
    assert after == before | {"fresh-ns"}


async def test_other_tenants_and_weak_roles(
    registered: tuple[TenantUsers, list[str]], api: Api, tenant_b: TenantUsers
) -> None:
    tenant, ids = registered
    query = "query($i:ID!){ cluster(id:$i){ id } }"
    assert await api.code(query, {"i": ids[0]}, tenant_b.tokens["tenant_admin"]) == "NOT_FOUND"
    assert await api.code(query, {"i": "cls_doesnotexist"}, tenant_b.tokens["tenant_admin"]) == "NOT_FOUND"
    kubeconfig_query = "query($i:ID!){ kubeconfig(clusterId:$i) }"
    assert await api.code(kubeconfig_query, {"i": ids[0]}, tenant.tokens["operator"]) == "FORBIDDEN"
    assert await api.code(kubeconfig_query, {"i": ids[0]}, tenant_b.tokens["tenant_admin"]) == "NOT_FOUND"
    text = (await api.ok(kubeconfig_query, {"i": ids[0]}, tenant.tokens["tenant_admin"]))["kubeconfig"]
    assert "current-context: cluster-0" in text
    update = 'mutation($i:ID!){ updateCluster(id:$i, input:{region:"x"}){ id } }'
    assert await api.code(update, {"i": ids[0]}, tenant.tokens["viewer"]) == "FORBIDDEN"
    assert await api.code(update, {"i": ids[0]}, tenant_b.tokens["tenant_admin"]) == "NOT_FOUND"


async def test_per_cluster_role_override_applies(registered: tuple[TenantUsers, list[str]], api: Api) -> None:
    tenant, ids = registered
    set_role = (
        "mutation($t:ID!,$u:ID!,$c:ID!,$r:String){ setClusterRole(tenantId:$t,userId:$u,clusterId:$c,role:$r){ id } }"
    )
    variables: dict[str, Any] = {"t": tenant.id, "u": tenant.user_ids["viewer"], "c": ids[0], "r": "tenant_admin"}
    await api.ok(set_role, variables, tenant.tokens["tenant_admin"])
    update = 'mutation($i:ID!){ updateCluster(id:$i, input:{description:"by the viewer"}){ description } }'
    done = await api.ok(update, {"i": ids[0]}, tenant.tokens["viewer"])
    assert done["updateCluster"]["description"] == "by the viewer"
    assert await api.code(update, {"i": ids[1]}, tenant.tokens["viewer"]) == "FORBIDDEN"
    await api.ok(set_role, {**variables, "r": None}, tenant.tokens["tenant_admin"])
    assert await api.code(update, {"i": ids[0]}, tenant.tokens["viewer"]) == "FORBIDDEN"


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


FLEET_WORKLOADS = """query($t:ID!,$k:String){ workloads(tenantId:$t, kind:$k){
  items { clusterId kind name namespace status } errors { clusterId clusterName code message } } }"""


async def test_fleet_wide_reads_are_partial_when_a_cluster_is_down(
    registered: tuple[TenantUsers, list[str]], api: Api, kube: Fleet, services: Any
) -> None:
    tenant, ids = registered
    both = (await api.ok(FLEET_WORKLOADS, {"t": tenant.id, "k": None}, tenant.tokens["viewer"]))["workloads"]
    assert {w["clusterId"] for w in both["items"]} == set(ids) and both["errors"] == []
    namespaces = (
        await api.ok(
            "query($t:ID!){ namespaces(tenantId:$t){ items { clusterId name } errors { code } } }",
            {"t": tenant.id},
            tenant.tokens["viewer"],
        )
    )["namespaces"]
    assert {n["clusterId"] for n in namespaces["items"]} == set(ids)
    await kube.set_reachable("cluster-1", False)
    try:
        jobs: dict[str, Any] = {}
        for _ in range(40):  # warm caches notice the lost watch, then answer with the cluster's error
            jobs = (await api.ok(FLEET_WORKLOADS, {"t": tenant.id, "k": "Job"}, tenant.tokens["viewer"]))["workloads"]
            if jobs["errors"]:
                break
            await asyncio.sleep(0.25)
        assert {w["clusterId"] for w in jobs["items"]} <= {ids[0]}
        assert [(e["clusterId"], e["clusterName"], e["code"]) for e in jobs["errors"]] == [
            (ids[1], "cluster-1", "UPSTREAM_UNAVAILABLE")
        ]
        changes = await services.health.check_all()
        assert [(c.cluster_id, c.new) for c in changes if c.cluster_id in ids] == [(ids[1], "disconnected")]
        listed = await api.ok(
            "query($t:ID!){ clusters(tenantId:$t){ nodes { id status lastError } } }",
            {"t": tenant.id},
            tenant.tokens["viewer"],
        )
        status = {c["id"]: (c["status"], c["lastError"]) for c in listed["clusters"]["nodes"]}
        assert status[ids[0]] == ("connected", None)
        assert status[ids[1]][0] == "disconnected" and status[ids[1]][1]
    finally:
        await kube.set_reachable("cluster-1", True)
    recovered = []
    for _ in range(40):  # the cluster's circuit breaker lets a trial call through after its reset delay
        recovered += [(c.cluster_id, c.new) for c in await services.health.check_all() if c.cluster_id in ids]
        if recovered:
            break
        await asyncio.sleep(0.25)
    assert recovered == [(ids[1], "connected")]


async def test_secret_values_need_the_secrets_permission(registered: tuple[TenantUsers, list[str]], api: Api) -> None:
    tenant, ids = registered
    query = "query($i:ID!,$d:Boolean!){ cluster(id:$i){ secrets(includeData:$d, first:100){ nodes { name raw } } } }"
    plain = (await api.ok(query, {"i": ids[0], "d": False}, tenant.tokens["viewer"]))["cluster"]["secrets"]["nodes"]
    assert plain and all("data" not in s["raw"] and "dataKeys" in s["raw"] for s in plain)
    assert await api.code(query, {"i": ids[0], "d": True}, tenant.tokens["viewer"]) == "FORBIDDEN"
    full = (await api.ok(query, {"i": ids[0], "d": True}, tenant.tokens["operator"]))["cluster"]["secrets"]["nodes"]
    assert any("data" in s["raw"] for s in full)
    generic = await api.ok(
        'query($i:ID!){ cluster(id:$i){ resources(kind:"secrets", first:100){ nodes { raw } } } }', {"i": ids[0]},
        tenant.tokens["viewer"],
    )
    assert all("data" not in s["raw"] for s in generic["cluster"]["resources"]["nodes"])


async def test_logs_metrics_object_and_custom_resources(
    registered: tuple[TenantUsers, list[str]], api: Api, kube: Fleet
) -> None:
    tenant, ids = registered
    viewer = tenant.tokens["viewer"]
    pods = (
        await api.ok(
            'query($i:ID!){ cluster(id:$i){ pods(namespace:"shop", first:100){ nodes { name containers } } } }',
            {"i": ids[0]},
            viewer,
        )
    )["cluster"]["pods"]["nodes"]
    pod = next(p for p in pods if p["name"].startswith("web-"))
    logs = await api.ok(
        'query($i:ID!,$p:String!){ cluster(id:$i){ logs(namespace:"shop", pod:$p, tail:2) } }',
        {"i": ids[0], "p": pod["name"]},
        viewer,
    )
    assert len(logs["cluster"]["logs"].strip().splitlines()) == 2
    assert (
        await api.code(
            'query($i:ID!,$p:String!){ cluster(id:$i){ logs(namespace:"shop", pod:$p, tail:0) } }',
            {"i": ids[0], "p": pod["name"]},
            viewer,
        )
        == "BAD_USER_INPUT"
    )
    metrics = (
        await api.ok(
            "query($i:ID!){ cluster(id:$i){ metrics { cpuCores cpuCapacity memoryBytes "
            "nodes { name cpuCores } workloads { name namespace cpuCores } } } }",
            {"i": ids[0]},
            viewer,
        )
    )["cluster"]["metrics"]
    assert 0 < metrics["cpuCores"] < metrics["cpuCapacity"] and metrics["memoryBytes"] > 0
    assert any(w["name"] == "Deployment/web" and w["namespace"] == "shop" for w in metrics["workloads"])
    obj = await api.ok(
        'query($i:ID!){ kubeObject(clusterId:$i, kind:"deploy", namespace:"shop", name:"web"){ '
        "kind name namespace raw } }",
        {"i": ids[0]},
        viewer,
    )
    assert obj["kubeObject"]["kind"] == "Deployment" and obj["kubeObject"]["raw"]["spec"]["replicas"] >= 1
    missing = await api.error(
        'query($i:ID!){ kubeObject(clusterId:$i, kind:"deploy", namespace:"shop", name:"nope"){ name } }',
        {"i": ids[0]},
        viewer,
    )
    assert missing["extensions"]["code"] == "NOT_FOUND"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    cluster = kube.cluster("cluster-0")
    async with httpx.AsyncClient(
        base_url=kube.server_url("cluster-0"), headers={"Authorization": f"Bearer {cluster.token}"}
    ) as http:
        assert (await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)).status_code == 201
        widget = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w1", "namespace": "shop"},
            "spec": {"size": 3},
        }
        created = await http.post("/apis/example.com/v1/namespaces/shop/widgets", json=widget)
        assert created.status_code == 201, created.text
    found = await api.ok(
        'query($i:ID!){ cluster(id:$i){ customResources(crd:"widgets.example.com"){ nodes { name raw } } } }',
        {"i": ids[0]},
        viewer,
    )
    widgets = found["cluster"]["customResources"]["nodes"]
    assert [(w["name"], w["raw"]["spec"]["size"]) for w in widgets] == [("w1", 3)]


async def test_overview_adds_up(registered: tuple[TenantUsers, list[str]], api: Api) -> None:
    tenant, ids = registered
    query = """query($i:ID!){ cluster(id:$i){ summary { nodes readyNodes namespaces pods }
      overview { health nodes readyNodes namespaces podsByPhase { name count } workloadsByStatus { name count }
                 cpuCapacity cpuRequested memoryCapacity memoryRequested warnings { kind } } } }"""
    cluster = (await api.ok(query, {"i": ids[0]}, tenant.tokens["viewer"]))["cluster"]
    summary, overview = cluster["summary"], cluster["overview"]
    assert overview["health"] == "healthy"
    assert (overview["nodes"], overview["readyNodes"]) == (summary["nodes"], summary["readyNodes"])
    assert overview["namespaces"] == summary["namespaces"]
    assert sum(p["count"] for p in overview["podsByPhase"]) == summary["pods"]
    assert {w["name"] for w in overview["workloadsByStatus"]} <= {"running", "progressing", "completed", "scaled-down"}
    assert 0 < overview["cpuRequested"] < overview["cpuCapacity"]
    assert 0 < overview["memoryRequested"] < overview["memoryCapacity"]
    assert all(w["kind"] == "Event" for w in overview["warnings"])


async def test_a_slow_cluster_times_out_alone(registered: tuple[TenantUsers, list[str]], api: Api, kube: Fleet) -> None:
    tenant, ids = registered
    query = """query($a:ID!,$b:ID!){ a: cluster(id:$a){ resources(kind:"limitranges"){ nodes { name } } }
                                     b: cluster(id:$b){ resources(kind:"limitranges"){ nodes { name } } } }"""
    control = kube.cluster("cluster-1").control
    control.latency = 3.0  # longer than the 2 s per-call timeout of these tests
    try:
        started = asyncio.get_running_loop().time()
        body = await api.run(query, {"a": ids[0], "b": ids[1]}, tenant.tokens["viewer"])
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        control.latency = 0.0
    assert body.get("data"), body
    assert body["data"]["a"] is not None and isinstance(body["data"]["a"]["resources"]["nodes"], list)
    assert body["data"]["b"] == {"resources": None}
    [error] = body["errors"]
    assert error["path"] == ["b", "resources"] and error["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    assert elapsed < 6, elapsed


async def test_root_resources_with_field_and_label_selectors(
    registered: tuple[TenantUsers, list[str]], api: Api
) -> None:
    tenant, ids = registered
    query = """query($i:ID!,$f:String,$l:String){ resources(clusterId:$i, kind:"po", namespace:"shop",
                fieldSelector:$f, labelSelector:$l){ name raw } }"""
    running = await api.ok(query, {"i": ids[0], "f": "status.phase=Running", "l": None}, tenant.tokens["viewer"])
    assert running["resources"] and all(p["raw"]["status"]["phase"] == "Running" for p in running["resources"])
    node = running["resources"][0]["raw"]["spec"]["nodeName"]
    on_node = await api.ok(
        query, {"i": ids[0], "f": f"spec.nodeName={node},status.phase!=Failed", "l": "app"}, tenant.tokens["viewer"]
    )
    assert on_node["resources"]
    assert all(
        p["raw"]["spec"]["nodeName"] == node and "app" in p["raw"]["metadata"]["labels"] for p in on_node["resources"]
    )
    bad = await api.error(query, {"i": ids[0], "f": "spec.containers=x", "l": None}, tenant.tokens["viewer"])
    assert bad["extensions"]["code"] == "BAD_USER_INPUT" and bad["extensions"]["details"][0]["field"] == "fieldSelector"

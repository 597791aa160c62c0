"""Kubernetes names, namespaces, kinds and replica counts are refused before they reach a cluster.

Every argument that names a Kubernetes object goes through one set of rules; a bad one answers
BAD_USER_INPUT naming the argument in `extensions.details`, and kubesim sees no write at all.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.support.api import Api, TenantUsers
from tests.support.cluster_writes import CLUSTER, CREATE_WORKLOAD, Setup, cluster_setup, deployment, make_namespace

NS = "team-n"
MAX_REPLICAS = 1000  # the documented maximum
BAD_NAMES = {
    "empty": "",
    "nul": "web\x00",
    "dot-dot": "../x",
    "shell": "; rm -rf / #$(id)",
    "too-long": "a" * 254,
    "upper-case": "Web",
}
CRONJOB = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "nightly"},
    "spec": {
        "schedule": "0 3 * * *",
        "suspend": True,
        "jobTemplate": {
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "task", "image": "busybox"}]}
                }
            }
        },
    },
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def setup(api: Api, provider_token: str, tenant_b: TenantUsers, database_url: str) -> AsyncIterator[Setup]:
    """A cluster with a namespace holding two Deployments, a CronJob and two ConfigMaps."""
    async with cluster_setup(api, provider_token, tenant_b, seed=33) as s:
        await make_namespace(api, s, NS)
        for workload in (deployment("web"), deployment("api"), CRONJOB):
            await api.ok(CREATE_WORKLOAD, {"c": s.cluster_id, "n": NS, "m": workload}, s.operator)
        for name in ("conf", "other"):
            await s.http.post(f"/api/v1/namespaces/{NS}/configmaps", json={"metadata": {"name": name}})
        yield s


async def names_in(s: Setup, path: str) -> set[str]:
    listed = await s.get(path)
    assert listed is not None
    return {item["metadata"]["name"] for item in listed["items"]}


async def assert_refused(api: Api, s: Setup, query: str, variables: dict[str, Any], field: str) -> None:
    """BAD_USER_INPUT naming `field`; the cluster saw no write, nor any request made for the caller."""
    before, asked = s.writes(), len(s.fleet.cluster(CLUSTER).control.impersonations)
    error = await api.error(query, {"c": s.cluster_id, **variables}, s.operator)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", (query, variables, error)
    fields = {d["field"] for d in error["extensions"].get("details", [])}
    assert field in fields, (query, variables, error)
    assert s.writes() == before
    assert s.fleet.cluster(CLUSTER).control.impersonations[asked:] == []


DELETE_WORKLOAD = """mutation($c:ID!,$n:String!,$name:String!){ deleteWorkload(clusterId:$c,kind:"Deployment",
  namespace:$n,name:$name){ kind name } }"""
DELETE_RESOURCE = """mutation($c:ID!,$k:String!,$n:String,$name:String!){ deleteResource(clusterId:$c,kind:$k,
  namespace:$n,name:$name,confirm:true){ kind name } }"""


async def test_an_empty_name_deletes_nothing(api: Api, setup: Setup) -> None:
    s = setup
    deployments = f"/apis/apps/v1/namespaces/{NS}/deployments"
    configmaps = f"/api/v1/namespaces/{NS}/configmaps"
    assert await names_in(s, deployments) == {"web", "api"}
    kept_configmaps = await names_in(s, configmaps)
    assert {"conf", "other"} <= kept_configmaps

    await assert_refused(api, s, DELETE_WORKLOAD, {"n": NS, "name": ""}, "name")
    await assert_refused(api, s, DELETE_RESOURCE, {"k": "ConfigMap", "n": NS, "name": ""}, "name")
    await assert_refused(api, s, DELETE_RESOURCE, {"k": "Namespace", "n": None, "name": ""}, "name")

    assert await names_in(s, deployments) == {"web", "api"}
    assert await names_in(s, configmaps) == kept_configmaps
    assert NS in await names_in(s, "/api/v1/namespaces")


WORKLOAD_OPERATIONS = {
    "deleteWorkload": DELETE_WORKLOAD,
    "updateWorkload": """mutation($c:ID!,$n:String!,$name:String!){ updateWorkload(clusterId:$c,kind:"Deployment",
      namespace:$n,name:$name,patch:{metadata:{labels:{a:"b"}}}){ name } }""",
    "scaleWorkload": """mutation($c:ID!,$n:String!,$name:String!){ scaleWorkload(clusterId:$c,kind:"Deployment",
      namespace:$n,name:$name,replicas:2){ name } }""",
    "rollbackDeployment": """mutation($c:ID!,$n:String!,$name:String!){ rollbackDeployment(clusterId:$c,
      namespace:$n,name:$name){ name } }""",
    "restartDeployment": """mutation($c:ID!,$n:String!,$name:String!){ restartDeployment(clusterId:$c,
      namespace:$n,name:$name){ name } }""",
    "triggerCronJob": """mutation($c:ID!,$n:String!,$name:String!){ triggerCronJob(clusterId:$c,
      namespace:$n,name:$name){ name } }""",
    "retryJob": """mutation($c:ID!,$n:String!,$name:String!){ retryJob(clusterId:$c,namespace:$n,name:$name){
      name } }""",
    "rolloutHistory": """query($c:ID!,$n:String!,$name:String!){ rolloutHistory(clusterId:$c,namespace:$n,
      name:$name){ revision } }""",
    "logs": """query($c:ID!,$n:String!,$name:String!){ cluster(id:$c){ logs(namespace:$n,pod:$name) } }""",
}
RESOURCE_OPERATIONS = {
    "patchResource": """mutation($c:ID!,$k:String!,$n:String,$name:String!){ patchResource(clusterId:$c,kind:$k,
      namespace:$n,name:$name,patch:{metadata:{labels:{a:"b"}}}){ name } }""",
    "deleteResource": DELETE_RESOURCE,
    "kubeObject": """query($c:ID!,$k:String!,$n:String,$name:String!){ kubeObject(clusterId:$c,kind:$k,
      namespace:$n,name:$name){ name } }""",
}
NAMESPACE_OPERATIONS = {
    "createNamespace": """mutation($c:ID!,$name:String!){ createNamespace(clusterId:$c,input:{name:$name}){
      name } }""",
    "updateNamespace": """mutation($c:ID!,$name:String!){ updateNamespace(clusterId:$c,name:$name,
      input:{labels:{a:"b"}}){ name } }""",
    "deleteNamespace": """mutation($c:ID!,$name:String!){ deleteNamespace(clusterId:$c,name:$name,confirm:true){
      name } }""",
    "updateNamespaceQuota": """mutation($c:ID!,$name:String!){ updateNamespaceQuota(clusterId:$c,name:$name,
      quota:{pods:5}){ name } }""",
    "scaleNamespace": """mutation($c:ID!,$name:String!){ scaleNamespace(clusterId:$c,name:$name,replicas:0){
      name } }""",
}
NODE_OPERATIONS = {
    "drainNode": """mutation($c:ID!,$name:String!){ drainNode(clusterId:$c,node:$name){ id } }""",
    "removeNode": """mutation($c:ID!,$name:String!){ removeNode(clusterId:$c,node:$name){ id } }""",
}
KIND_QUERIES = {
    **RESOURCE_OPERATIONS,
    "resources": """query($c:ID!,$k:String!,$n:String){ resources(clusterId:$c,kind:$k,namespace:$n){ name } }""",
}
NAMESPACE_FILTERS = {
    "resources": KIND_QUERIES["resources"],
    "workloads": """query($c:ID!,$n:String){ cluster(id:$c){ workloads(namespace:$n){ nodes { name } } } }""",
}
APPLY = """mutation($c:ID!,$y:String!,$n:String){ applyManifest(clusterId:$c,yaml:$y,namespace:$n){ name } }"""
NAME_FIELDS = {"logs": "pod"}
bad_names = pytest.mark.parametrize("bad", list(BAD_NAMES.values()), ids=list(BAD_NAMES))


@bad_names
async def test_bad_workload_names_and_namespaces(api: Api, setup: Setup, bad: str) -> None:
    for operation, query in WORKLOAD_OPERATIONS.items():
        await assert_refused(api, setup, query, {"n": NS, "name": bad}, NAME_FIELDS.get(operation, "name"))
        await assert_refused(api, setup, query, {"n": bad, "name": "web"}, "namespace")
    await assert_refused(api, setup, CREATE_WORKLOAD, {"n": bad, "m": deployment("fresh")}, "namespace")
    named = {**deployment("fresh"), "metadata": {"name": bad}}
    await assert_refused(api, setup, CREATE_WORKLOAD, {"n": NS, "m": named}, "manifest.metadata.name")


@bad_names
async def test_bad_resource_names_namespaces_and_kinds(api: Api, setup: Setup, bad: str) -> None:
    for query in RESOURCE_OPERATIONS.values():
        await assert_refused(api, setup, query, {"k": "ConfigMap", "n": NS, "name": bad}, "name")
        await assert_refused(api, setup, query, {"k": "ConfigMap", "n": bad, "name": "conf"}, "namespace")
    for query in KIND_QUERIES.values():
        await assert_refused(api, setup, query, {"k": bad, "n": NS, "name": "conf"}, "kind")
    for query in NAMESPACE_FILTERS.values():
        await assert_refused(api, setup, query, {"k": "ConfigMap", "n": bad}, "namespace")


@bad_names
async def test_bad_namespace_names(api: Api, setup: Setup, bad: str) -> None:
    for query in NAMESPACE_OPERATIONS.values():
        await assert_refused(api, setup, query, {"name": bad}, "name")


@bad_names
async def test_bad_node_names(api: Api, setup: Setup, bad: str) -> None:
    for query in NODE_OPERATIONS.values():
        await assert_refused(api, setup, query, {"name": bad}, "node")


@bad_names
async def test_bad_names_in_a_manifest(api: Api, setup: Setup, bad: str) -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": bad}}
    await assert_refused(api, setup, APPLY, {"y": json.dumps(config_map), "n": NS}, "yaml")
    if bad:  # an empty metadata.namespace is no namespace, as kubectl reads it
        placed = {**config_map, "metadata": {"name": "placed", "namespace": bad}}
        await assert_refused(api, setup, APPLY, {"y": json.dumps(placed), "n": NS}, "yaml")
    unplaced = {**config_map, "metadata": {"name": "unplaced"}}
    await assert_refused(api, setup, APPLY, {"y": json.dumps(unplaced), "n": bad}, "namespace")


async def test_names_kubernetes_allows_are_accepted(api: Api, setup: Setup) -> None:
    s = setup
    dotted = {"k": "ConfigMap", "n": NS, "name": "app.settings-v2"}
    await s.http.post(f"/api/v1/namespaces/{NS}/configmaps", json={"metadata": {"name": dotted["name"]}})
    patched = await api.ok(RESOURCE_OPERATIONS["patchResource"], {"c": s.cluster_id, **dotted}, s.operator)
    assert patched["patchResource"]["name"] == "app.settings-v2"
    longest = "a" * 253
    await s.http.post(f"/api/v1/namespaces/{NS}/configmaps", json={"metadata": {"name": longest}})
    found = await api.ok(RESOURCE_OPERATIONS["kubeObject"], {"c": s.cluster_id, **dotted, "name": longest}, s.operator)
    assert found["kubeObject"]["name"] == longest


SCALE = """mutation($c:ID!,$r:Int!){ scaleWorkload(clusterId:$c,kind:"Deployment",namespace:"team-n",name:"web",
  replicas:$r){ replicas } }"""
SCALE_NAMESPACE = """mutation($c:ID!,$r:Int!){ scaleNamespace(clusterId:$c,name:"team-n",replicas:$r){ name } }"""
UPDATE = """mutation($c:ID!,$p:JSON!){ updateWorkload(clusterId:$c,kind:"Deployment",namespace:"team-n",name:"web",
  patch:$p){ replicas } }"""
PATCH = """mutation($c:ID!,$p:JSON!){ patchResource(clusterId:$c,kind:"deploy",namespace:"team-n",name:"web",
  patch:$p){ name } }"""


@pytest.mark.parametrize("replicas", [-1, MAX_REPLICAS + 1, 2**31 - 1])
async def test_replicas_are_bounded(api: Api, setup: Setup, replicas: int) -> None:
    s = setup
    await assert_refused(api, s, SCALE, {"r": replicas}, "replicas")
    await assert_refused(api, s, SCALE_NAMESPACE, {"r": replicas}, "replicas")
    await assert_refused(api, s, UPDATE, {"p": {"spec": {"replicas": replicas}}}, "patch.spec.replicas")
    await assert_refused(api, s, PATCH, {"p": {"spec": {"replicas": replicas}}}, "patch.spec.replicas")
    created = deployment("many", replicas=replicas)
    await assert_refused(api, s, CREATE_WORKLOAD, {"n": NS, "m": created}, "manifest.spec.replicas")
    await assert_refused(api, s, APPLY, {"y": json.dumps({**created, "metadata": {"name": "many"}}), "n": NS}, "yaml")
    stored = await s.get(f"/apis/apps/v1/namespaces/{NS}/deployments/web")
    assert stored and stored["spec"]["replicas"] == 1


async def test_replicas_within_bounds_still_scale(api: Api, setup: Setup) -> None:
    s = setup
    await assert_refused(api, s, UPDATE, {"p": {"spec": {"replicas": "3"}}}, "patch.spec.replicas")
    assert (await api.ok(SCALE, {"c": s.cluster_id, "r": 0}, s.operator))["scaleWorkload"]["replicas"] == 0
    assert (await api.ok(UPDATE, {"c": s.cluster_id, "p": {"spec": {"replicas": 1}}}, s.operator))[
        "updateWorkload"
    ]["replicas"] == 1


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

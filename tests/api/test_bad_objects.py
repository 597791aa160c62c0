"""Objects Fleetgraph does not expect never take a tenant down.

A cluster can hold what its API would refuse today: a Deployment whose `spec.replicas` is a string
(through a merge patch an older apiserver accepted), null or string labels, a Pod without status,
a Service whose ports are a string, a Node whose conditions are not a list, a custom resource with
fields its CRD does not know, a 200 KB annotation. They are put straight into a kubesim cluster's
store, past its validation, before the cluster is registered (so the first LIST serves them). Then
every read of the tenant answers: no INTERNAL, every good object there, the odd ones with what
could be read, and `errors` naming cluster, kind, namespace, name and field.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.k8s.reading import Notes
from app.services import Services
from app.topology import build
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from kubesim.resources import ResourceType
from kubesim.store import ClusterState
from resolvers import insights, insights_lb, insights_search
from resolvers.node_pools import live_pools
from resolvers.overview import overview
from schema.kube import KubeNode, KubeObject, Pod, Workload
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.server import serving

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CLUSTER = "cluster-0"
ANNOTATION = "x" * 200_000
CRD = {
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
        }}}],
    },
}  # fmt: skip


def resource(state: ClusterState, group: str, version: str, plural: str) -> ResourceType:
    rt = state.resources.get(group, version, plural)
    assert rt is not None, plural
    return rt


def plant(state: ClusterState, group: str, version: str, plural: str, obj: dict[str, Any]) -> None:
    """Store `obj` as a cluster can come to hold it: past the type checks its API makes today."""
    rt = resource(state, group, version, plural)
    meta = obj["metadata"]
    meta.setdefault("uid", str(uuid.uuid4()))
    meta.setdefault("creationTimestamp", "2026-01-05T10:00:00Z")
    state._commit("ADDED", rt, {"apiVersion": rt.api_version, "kind": rt.kind, **obj})


def odd_objects(state: ClusterState) -> None:
    containers = [{"name": "app", "image": "nginx:1"}]
    template = {"metadata": {"labels": {"app": "broken"}}, "spec": {"containers": containers}}
    plant(state, "apps", "v1", "deployments", {
        "metadata": {"name": "broken", "namespace": "shop", "labels": None, "generation": 1},
        "spec": {"replicas": "many", "selector": {"matchLabels": {"app": "broken"}}, "template": template},
        "status": {"readyReplicas": 1, "observedGeneration": 1},
    })  # fmt: skip
    node = state.scan(resource(state, "", "v1", "nodes"))[0]["metadata"]["name"]
    plant(state, "", "v1", "pods", {
        "metadata": {"name": "lonely", "namespace": "shop", "labels": "app=lonely"},
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": "busybox"}]},
    })  # fmt: skip
    plant(state, "", "v1", "services", {
        "metadata": {"name": "odd", "namespace": "shop"},
        "spec": {"type": "LoadBalancer", "ports": "x", "selector": {"app": "broken"}},
        "status": {"loadBalancer": {"ingress": "nowhere"}},
    })  # fmt: skip
    plant(state, "", "v1", "nodes", {
        "metadata": {"name": "odd-node", "labels": {"agentpool": "odd"}},
        "spec": {}, "status": {"conditions": "Ready", "allocatable": {"cpu": ["4"]}, "addresses": "10.0.0.9"},
    })  # fmt: skip
    plant(state, "", "v1", "configmaps", {
        "metadata": {"name": "huge", "namespace": "shop", "annotations": {"note": ANNOTATION}}, "data": {"k": "v"},
    })  # fmt: skip
    state.create(resource(state, "apiextensions.k8s.io", "v1", "customresourcedefinitions"), CRD)
    plant(state, "example.com", "v1", "gadgets", {
        "metadata": {"name": "g1", "namespace": "shop"}, "spec": {"size": "big", "colour": {"deep": [1, {}]}},
    })  # fmt: skip


@dataclass
class Odd:
    api: Api
    tenant: TenantUsers
    cluster_id: str
    fleet: Fleet

    @property
    def token(self) -> str:
        return self.tenant.tokens["viewer"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def odd(services: Services, provider_token: str) -> AsyncIterator[Odd]:
    """A small-profile cluster holding odd objects, per database backend, registered to a new tenant.
    The controllers stay off: what the cluster holds is what the test put there. The app has the
    default upstream timeout: a cold topology lists 26 kinds, more than the shared app's 2 s allow
    at the default pace of upstream calls."""
    settings = services.settings.model_copy(update={"k8s_timeout_seconds": 10.0})
    app = create_app(settings, Services.from_settings(settings))
    async with (
        start_fleet(1, profile="small", seed=31, controllers=False) as fleet,
        serving(app) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        odd_objects(fleet.cluster(CLUSTER).state)
        api = Api(http)
        tenant = await make_tenant(api, provider_token, roles=("viewer",), maxClusters=1)
        yield Odd(api, tenant, await register_cluster(api, tenant, fleet, "odd-cluster"), fleet)


def stored(odd: Odd, group: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
    state = odd.fleet.cluster(CLUSTER).state
    rt = next(r for r in state.resources.all() if r.group == group and r.plural == plural)
    return state.scan(rt, namespace)


def names(objects: list[dict[str, Any]]) -> set[str]:
    return {o["metadata"]["name"] for o in objects}


def entries(errors: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(e["kind"], e["namespace"], e["name"], e["field"]) for e in errors}


async def run(odd: Odd, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer, which must have no error at all (an INTERNAL would be one)."""
    body = await odd.api.run(query, {"i": odd.cluster_id, "t": odd.tenant.id, **(variables or {})}, odd.token)
    assert not body.get("errors"), body["errors"]
    data: dict[str, Any] = body["data"]
    return data


ERRORS = "errors { clusterId clusterName code message kind namespace name field }"


async def test_the_tenants_workloads_serve_every_object_and_name_what_could_not_be_read(odd: Odd) -> None:
    items = "items { clusterId kind name namespace replicas status images labels }"
    query = f"query($t:ID!){{ workloads(tenantId:$t){{ {items} {ERRORS} }} }}"
    found = (await run(odd, query))["workloads"]
    expected = {("Deployment", n) for n in names(stored(odd, "apps", "deployments"))}
    expected |= {("StatefulSet", n) for n in names(stored(odd, "apps", "statefulsets"))}
    expected |= {("DaemonSet", n) for n in names(stored(odd, "apps", "daemonsets"))}
    expected |= {("CronJob", n) for n in names(stored(odd, "batch", "cronjobs"))}
    assert {(w["kind"], w["name"]) for w in found["items"]} == expected
    [broken] = [w for w in found["items"] if w["name"] == "broken"]
    assert broken == {"clusterId": odd.cluster_id, "kind": "Deployment", "name": "broken", "namespace": "shop",
                      "replicas": 1, "status": "running", "images": ["nginx:1"], "labels": {}}
    [error] = found["errors"]
    assert error == {"clusterId": odd.cluster_id, "clusterName": "odd-cluster", "code": "UNREADABLE_FIELD",
                     "message": "spec.replicas is a string, not an integer", "kind": "Deployment",
                     "namespace": "shop", "name": "broken", "field": "spec.replicas"}


async def test_summary_and_overview_count_what_they_can_read(odd: Odd) -> None:
    query = f"""query($i:ID!){{ cluster(id:$i){{ summary {{ nodes readyNodes pods runningPods deployments {ERRORS} }}
      overview {{ nodes readyNodes podsByPhase {{ name count }} workloadsByStatus {{ name count }} cpuCapacity
                  {ERRORS} }} }} }}"""
    cluster = (await run(odd, query))["cluster"]
    nodes, pods = stored(odd, "", "nodes"), stored(odd, "", "pods")
    summary, view = cluster["summary"], cluster["overview"]
    assert (summary["nodes"], summary["readyNodes"], summary["pods"]) == (len(nodes), len(nodes) - 1, len(pods))
    assert summary["deployments"] == len(stored(odd, "apps", "deployments"))
    assert entries(summary["errors"]) == {("Node", None, "odd-node", "status.conditions")}
    assert (view["nodes"], view["readyNodes"]) == (len(nodes), len(nodes) - 1)
    assert {"name": "Unknown", "count": 1} in view["podsByPhase"]
    assert sum(c["count"] for c in view["podsByPhase"]) == len(pods)
    assert view["cpuCapacity"] > 0
    assert entries(view["errors"]) == {
        ("Node", None, "odd-node", "status.conditions"),
        ("Node", None, "odd-node", "status.allocatable.cpu"),
        ("Deployment", "shop", "broken", "spec.replicas"),
    }
    assert all(e["clusterName"] == "odd-cluster" and e["code"] == "UNREADABLE_FIELD" for e in view["errors"])


async def test_the_clusters_lists_serve_the_odd_objects_with_what_could_be_read(odd: Odd) -> None:
    query = f"""query($i:ID!){{ cluster(id:$i){{
      pods(namespace:"shop", first:100) {{ totalCount nodes {{ name phase ready containers labels }} {ERRORS} }}
      workloads(namespace:"shop", first:100) {{ nodes {{ kind name replicas }} {ERRORS} }}
      nodes(first:100) {{ nodes {{ name ready internalIp pool }} {ERRORS} }}
      services(namespace:"shop", first:100) {{ nodes {{ name raw }} {ERRORS} }}
      configMaps(namespace:"shop", first:100) {{ nodes {{ name annotations }} }}
      customResources(crd:"gadgets.example.com") {{ nodes {{ name raw }} {ERRORS} }}
      nodePools {{ name nodeCount readyNodes }} }} }}"""
    cluster = (await run(odd, query))["cluster"]
    pods = cluster["pods"]
    assert {p["name"] for p in pods["nodes"]} == names(stored(odd, "", "pods", "shop")) and pods["totalCount"] > 1
    assert {"name": "lonely", "phase": "Unknown", "ready": "0/1", "containers": ["main"], "labels": {}} in pods["nodes"]
    assert entries(pods["errors"]) == {("Pod", "shop", "lonely", "metadata.labels")}
    assert pods["errors"][0]["message"] == "metadata.labels is a string, not an object"
    workloads = cluster["workloads"]
    assert {"kind": "Deployment", "name": "broken", "replicas": 1} in workloads["nodes"]
    assert entries(workloads["errors"]) == {("Deployment", "shop", "broken", "spec.replicas")}
    nodes = cluster["nodes"]
    assert {"name": "odd-node", "ready": False, "internalIp": None, "pool": "odd"} in nodes["nodes"]
    assert entries(nodes["errors"]) == {("Node", None, "odd-node", "status.conditions"),
                                        ("Node", None, "odd-node", "status.addresses")}
    assert {s["name"] for s in cluster["services"]["nodes"]} == names(stored(odd, "", "services", "shop"))
    assert [s["raw"]["spec"]["ports"] for s in cluster["services"]["nodes"] if s["name"] == "odd"] == ["x"]
    [huge] = [c for c in cluster["configMaps"]["nodes"] if c["name"] == "huge"]
    assert huge["annotations"] == {"note": ANNOTATION}
    [gadget] = cluster["customResources"]["nodes"]
    assert gadget["name"] == "g1" and gadget["raw"]["spec"] == {"size": "big", "colour": {"deep": [1, {}]}}
    pools = {p["name"]: p for p in cluster["nodePools"]}
    assert pools["odd"] == {"name": "odd", "nodeCount": 1, "readyNodes": 0}
    assert sum(p["nodeCount"] for p in pools.values()) == len(stored(odd, "", "nodes"))


TOPOLOGY = "nodes { id kind name status } " + ERRORS


async def test_the_topology_and_its_exports_show_the_odd_objects(odd: Odd) -> None:
    query = f"""query($i:ID!){{ topology(clusterId:$i){{ {TOPOLOGY} }}
      cluster(id:$i){{ topology(namespace:"shop"){{ {TOPOLOGY} }} }} }}"""
    data = await run(odd, query)
    graph = {n["id"]: n for n in data["topology"]["nodes"]}
    for kind, group, plural in (("Deployment", "apps", "deployments"), ("Pod", "", "pods"),
                                ("Service", "", "services")):
        assert {f"{kind}/shop/{n}" for n in names(stored(odd, group, plural, "shop"))} <= set(graph)
    assert graph["Deployment/shop/broken"]["status"] == "unknown"
    assert graph["Node//odd-node"]["status"] == "unknown"
    assert entries(data["topology"]["errors"]) == {
        ("Deployment", "shop", "broken", "spec.replicas"),
        ("Pod", "shop", "lonely", "metadata.labels"),
        ("Node", None, "odd-node", "status.conditions"),
    }
    shop = data["cluster"]["topology"]  # odd-node runs nothing of shop's: it is not in the graph, nor its error
    assert "Node//odd-node" not in {n["id"] for n in shop["nodes"]}
    assert entries(shop["errors"]) == {("Deployment", "shop", "broken", "spec.replicas"),
                                       ("Pod", "shop", "lonely", "metadata.labels")}
    export = 'query($i:ID!,$f:TopologyFormat!){ topologyExport(clusterId:$i, format:$f){ content ' + ERRORS + " } }"
    for fmt in ("JSON", "SVG", "PNG", "DRAWIO", "GRAPHML"):
        exported = (await run(odd, export, {"f": fmt}))["topologyExport"]
        assert exported["content"], fmt
        assert entries(exported["errors"]) == entries(data["topology"]["errors"]), fmt
    as_json = json.loads((await run(odd, export, {"f": "JSON"}))["topologyExport"]["content"])
    assert {n["id"] for n in as_json["nodes"]} == set(graph)
    assert {(e["kind"], e["name"], e["field"]) for e in as_json["errors"]} == {
        (k, n, f) for k, _, n, f in entries(data["topology"]["errors"])
    }


async def test_insights_answer_over_the_odd_objects(odd: Odd) -> None:
    query = """query($i:ID!){ cluster(id:$i){ insights {
      serviceEndpoints(namespace:"shop", name:"odd") { type source endpoints { ip } }
      consumers(kind:"ConfigMap", namespace:"shop", name:"huge") { consumers { name } }
      storageClassUsage { name }
      namespaceCounts(namespace:"shop") { pods deployments services configMaps }
      serviceAccountTokens(namespace:"shop") { name pods }
      loadBalancer { provider services { name ports { port } ingressIps pending } }
      odd: search(query:"odd") { results { kind name } }
      lonely: search(query:"lonely") { results { kind name } } } } }"""
    found = (await run(odd, query))["cluster"]["insights"]
    assert found["serviceEndpoints"]["type"] == "LoadBalancer"
    counts = found["namespaceCounts"][0]
    assert counts["pods"] == len(stored(odd, "", "pods", "shop"))
    assert counts["deployments"] == len(stored(odd, "apps", "deployments", "shop"))
    assert {"name": "odd", "ports": [], "ingressIps": [], "pending": True} in found["loadBalancer"]["services"]
    assert {(r["kind"], r["name"]) for r in found["odd"]["results"]} == {("Service", "odd"), ("Node", "odd-node")}
    assert [(r["kind"], r["name"]) for r in found["lonely"]["results"]] == [("Pod", "lonely")]


# ---- every reader, over any JSON at all ---------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "Node", "Service",
         "Namespace", "Ingress", "PersistentVolumeClaim", "NetworkPolicy", "PodDisruptionBudget", "EndpointSlice",
         "RoleBinding", "ServiceAccount", "HorizontalPodAutoscaler", "Event")
CONTAINER = {"name": "c", "image": "i", "resources": {"requests": {"cpu": "1", "memory": "1Mi"}},
             "env": [{"name": "e", "valueFrom": {"configMapKeyRef": {"name": "c"}}}]}
SKELETON = {  # every path Fleetgraph reads, with a value of its expected type, for the readers to go deep
    "metadata": {"name": "x", "namespace": "ns", "labels": {"app": "x"}, "generation": 2,
                 "ownerReferences": [{"kind": "ReplicaSet", "name": "x", "controller": True}]},
    "spec": {"replicas": 2, "completions": 1, "suspend": False, "selector": {"matchLabels": {"app": "x"}},
             "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["x"]}]},
             "template": {"spec": {"containers": [CONTAINER]}}, "containers": [CONTAINER], "nodeName": "n",
             "volumes": [{"configMap": {"name": "c"}, "projected": {"sources": [{"secret": {"name": "s"}}]}}],
             "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}], "unschedulable": False,
             "rules": [{"http": {"paths": [{"backend": {"service": {"name": "x"}}}]}}], "tls": [{"secretName": "t"}]},
    "status": {"phase": "Running", "replicas": 2, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 2,
               "observedGeneration": 1, "desiredNumberScheduled": 2, "numberReady": 1, "succeeded": 0, "failed": 1,
               "conditions": [{"type": "Ready", "status": "True"}, {"type": "Available", "status": "False"}],
               "containerStatuses": [{"ready": True, "restartCount": 1, "state": {"waiting": {"reason": "x"}}}],
               "allocatable": {"cpu": "2", "memory": "1Gi"}, "addresses": [{"type": "InternalIP", "address": "a"}]},
    "subjects": [{"kind": "ServiceAccount", "name": "x"}], "imagePullSecrets": [{"name": "p"}],
}


def _paths(value: dict[str, Any], prefix: str = "") -> list[str]:
    found = []
    for key, inner in value.items():
        path = f"{prefix}{key}"
        found.append(path)
        if isinstance(inner, dict):
            found += _paths(inner, f"{path}.")
    return found


PATHS = tuple(_paths(SKELETON))


@st.composite
def odd_object(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """An object of a known kind, well formed but for JSON of any type at a few of the paths Fleetgraph reads."""
    kind = draw(st.sampled_from(KINDS))
    obj: dict[str, Any] = {"kind": kind, **json.loads(json.dumps(SKELETON))}
    for path in draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=3)):
        *parents, last = path.split(".")
        target = obj
        for part in parents:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[last] = draw(JSON)
    return kind, obj


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(odd_object(), min_size=1, max_size=6))
def test_no_reader_fails_on_any_json(objects: list[tuple[str, dict[str, Any]]]) -> None:
    notes = Notes()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for kind, obj in objects:
        by_kind.setdefault(kind, []).append(obj)
        KubeObject.of(obj, "cls_x", notes, kind)
        Workload.of(obj, "cls_x", notes, kind)
        Pod.of(obj, "cls_x", notes)
        KubeNode.of(obj, "cls_x", notes)
    every = [o for _, o in objects]
    overview(every, every, every, every, every, notes=notes)
    live_pools(every, notes)
    build(by_kind, notes=notes)
    build(by_kind, namespace="ns", notes=notes)
    insights.service_endpoints(every[0], every, every, every)
    insights.consumers("ConfigMap", "ns", "c", every, {"ReplicaSet": every})
    insights.storage_class_usage(every, every, every)
    insights.namespace_counts(["ns"], by_kind)
    insights.service_account_tokens(every, every, every)
    insights_lb.load_balancer({k: every for k in ("Namespace", "Deployment", "DaemonSet", "CustomResourceDefinition",
                                                 "Service", "Node")}, every)
    insights_search.search(by_kind, list(by_kind), "x")
    assert all(isinstance(e.field, str) and e.message for e in notes.entries())

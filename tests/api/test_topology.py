"""Topology over GraphQL on kubesim's `small` profile: the graph, the questions, exports, diffs."""

from __future__ import annotations

import asyncio
import base64
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import networkx as nx
import pytest_asyncio
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from app.services import Services
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import hold_cronjobs, register_cluster, scale_deployment
from tests.support.live import refusal
from tests.support.server import serving
from tests.support.waiting import watches_open

GRAPH = (
    "nodes { id kind name namespace status missing x y } edges { id source target type implicit }"
    " meta { nodeCount edgeCount layoutSeed }"
)
TOPOLOGY = f"query($c:ID!,$n:String,$d:Int){{ topology(clusterId:$c, namespace:$n, depth:$d){{ {GRAPH} }} }}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube(database_url: str) -> AsyncIterator[Fleet]:
    """The module's clusters, per database backend: the tests change them. The shop's CronJob is
    suspended, so its schedule (every 15 minutes of wall time) never adds a Job between two reads."""
    async with start_fleet(1, profile="small", seed=31, control=True) as fleet:
        await hold_cronjobs(fleet, "shop")
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def topo_app(services: Services) -> AsyncIterator[tuple[Api, str, Services]]:
    """An app with the default upstream timeout: a cold graph reads about 26 kinds, and at the default
    5 requests/s (burst 10) the last LIST waits about 3 s for its turn, beyond the shared app's 2 s."""
    settings = services.settings.model_copy(update={"k8s_timeout_seconds": 10.0})
    topo_services = Services.from_settings(settings)
    app = create_app(settings, topo_services)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Api(http), url, topo_services


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def topo_api(topo_app: tuple[Api, str, Services]) -> Api:
    return topo_app[0]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster(topo_api: Api, provider_token: str, kube: Fleet) -> tuple[TenantUsers, str]:
    tenant = await make_tenant(topo_api, provider_token, roles=("viewer", "operator"))
    return tenant, await register_cluster(topo_api, tenant, kube, "mapped")


def calls(fleet: Fleet) -> dict[str, int]:
    return {k: v for k, v in fleet.cluster("cluster-0").control.counters.items() if v and not k.startswith("watch ")}


async def test_cluster_topology_has_typed_edges_a_stable_layout_and_costs_one_list_per_kind(
    topo_app: tuple[Api, str, Services], cluster: tuple[TenantUsers, str], kube: Fleet
) -> None:
    topo_api, _, topo_services = topo_app
    tenant, cluster_id = cluster
    viewer = tenant.tokens["viewer"]
    kube.cluster("cluster-0").control.counters.clear()
    first = (await topo_api.ok(TOPOLOGY, {"c": cluster_id, "n": "shop"}, viewer))["topology"]
    cold = calls(kube)
    assert cold and all(k.startswith("list ") and v == 1 for k, v in cold.items()), cold
    await watches_open(topo_services.gateway, cluster_id)
    kube.cluster("cluster-0").control.counters.clear()
    second = (await topo_api.ok(TOPOLOGY, {"c": cluster_id, "n": "shop"}, viewer))["topology"]
    assert calls(kube) == {}, "a warm topology costs no upstream call"

    assert first["meta"]["nodeCount"] == len(first["nodes"]) > 10
    assert first["meta"]["edgeCount"] == len(first["edges"])
    positions = {n["id"]: (n["x"], n["y"]) for n in first["nodes"]}
    assert positions == {n["id"]: (n["x"], n["y"]) for n in second["nodes"]}, "same input, same coordinates"
    assert len(set(positions.values())) == len(positions), "no two objects at one place"
    types = {e["type"] for e in first["edges"]}
    assert {"owner", "selects", "schedules", "mounts", "env", "runs-as"} <= types, types
    kinds = {n["id"]: n["kind"] for n in first["nodes"]}
    for edge in first["edges"]:
        if edge["type"] == "selects":
            assert kinds[edge["target"]] == "Pod" and edge["implicit"] is True
        if edge["type"] == "schedules":
            assert kinds[edge["source"]] == "Pod" and kinds[edge["target"]] == "Node"
    in_namespace = [n for n in first["nodes"] if n["namespace"] is not None]
    assert in_namespace and all(n["namespace"] == "shop" for n in in_namespace)
    on_cluster = "query($c:ID!){ cluster(id:$c){ topology(namespace:\"shop\"){ meta { nodeCount edgeCount } } } }"
    same = (await topo_api.ok(on_cluster, {"c": cluster_id}, viewer))["cluster"]["topology"]["meta"]
    assert (same["nodeCount"], same["edgeCount"]) == (first["meta"]["nodeCount"], first["meta"]["edgeCount"])
    shallow = (await topo_api.ok(TOPOLOGY, {"c": cluster_id, "n": "shop", "d": 0}, viewer))["topology"]
    assert 0 < shallow["meta"]["nodeCount"] < first["meta"]["nodeCount"]


async def test_questions_on_the_graph(topo_api: Api, cluster: tuple[TenantUsers, str]) -> None:
    tenant, cluster_id = cluster
    viewer = tenant.tokens["viewer"]
    graph = (await topo_api.ok(TOPOLOGY, {"c": cluster_id, "n": "shop"}, viewer))["topology"]
    deployment = next(n for n in graph["nodes"] if n["kind"] == "Deployment")
    config = next(n for n in graph["nodes"] if n["kind"] == "ConfigMap" and n["name"].endswith("-config"))
    ref = {"kind": "ConfigMap", "namespace": "shop", "name": config["name"]}

    around = f"query($c:ID!,$o:ObjectRefInput!){{ resourceTopology(clusterId:$c, object:$o, depth:1){{ {GRAPH} }} }}"
    near = (await topo_api.ok(around, {"c": cluster_id, "o": ref}, viewer))["resourceTopology"]
    assert config["id"] in {n["id"] for n in near["nodes"]}
    assert {e["type"] for e in near["edges"]} <= {"mounts", "env"}

    blast = f"query($c:ID!,$o:ObjectRefInput!){{ blastRadius(clusterId:$c, object:$o){{ {GRAPH} }} }}"
    hit = (await topo_api.ok(blast, {"c": cluster_id, "o": ref}, viewer))["blastRadius"]
    assert any(n["kind"] == "Pod" for n in hit["nodes"]), "pods that mount the ConfigMap depend on it"

    path = f"""query($c:ID!,$a:ObjectRefInput!,$b:ObjectRefInput!){{
      dependencyPath(clusterId:$c, from:$a, to:$b){{ {GRAPH} }} }}"""
    deploy_ref = {"kind": "Deployment", "namespace": "shop", "name": deployment["name"]}
    found = (await topo_api.ok(path, {"c": cluster_id, "a": deploy_ref, "b": ref}, viewer))["dependencyPath"]
    assert found is not None and {deployment["id"], config["id"]} <= {n["id"] for n in found["nodes"]}

    missing = {"kind": "ConfigMap", "namespace": "shop", "name": "no-such-thing"}
    assert await topo_api.code(blast, {"c": cluster_id, "o": missing}, viewer) == "NOT_FOUND"
    assert (
        await topo_api.code(blast, {"c": cluster_id, "o": {"kind": "Gadget", "name": "x"}}, viewer) == "BAD_USER_INPUT"
    )
    assert await topo_api.code(TOPOLOGY, {"c": cluster_id, "n": "shop", "d": 99}, viewer) == "BAD_USER_INPUT"


async def test_orphans_exports_and_fleet_view(topo_api: Api, cluster: tuple[TenantUsers, str], kube: Fleet) -> None:
    tenant, cluster_id = cluster
    operator = tenant.tokens["operator"]
    unused = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "left-over", "namespace": "shop"}}
    await topo_api.ok(
        "mutation($c:ID!,$y:String!){ applyManifest(clusterId:$c, yaml:$y){ __typename } }",
        {"c": cluster_id, "y": json.dumps(unused)},
        operator,
    )
    orphans = 'query($c:ID!){ topologyOrphans(clusterId:$c, namespace:"shop"){ id kind name } }'
    for _ in range(50):
        found = (await topo_api.ok(orphans, {"c": cluster_id}, operator))["topologyOrphans"]
        if any(o["name"] == "left-over" for o in found):
            break
        await asyncio.sleep(0.1)
    assert {"kind": "ConfigMap", "name": "left-over"} in [{"kind": o["kind"], "name": o["name"]} for o in found]

    export = """query($c:ID!,$f:TopologyFormat!){ topologyExport(clusterId:$c, namespace:"shop", format:$f){
      contentType filename content } }"""
    files: dict[str, Any] = {}
    for fmt in ("JSON", "SVG", "PNG", "DRAWIO", "GRAPHML"):
        files[fmt] = (await topo_api.ok(export, {"c": cluster_id, "f": fmt}, operator))["topologyExport"]
    graph = json.loads(files["JSON"]["content"])
    svg = ET.fromstring(files["SVG"]["content"])
    assert svg.tag.endswith("svg")
    png = base64.b64decode(files["PNG"]["content"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == round(float(svg.get("width", "0")))
    drawio = ET.fromstring(files["DRAWIO"]["content"])
    vertices = [c for c in drawio.iter("mxCell") if c.get("vertex") == "1"]
    assert drawio.tag == "mxfile" and len(vertices) == graph["meta"]["nodeCount"]
    read_back = nx.parse_graphml(files["GRAPHML"]["content"])
    assert read_back.number_of_nodes() == graph["meta"]["nodeCount"]
    assert files["PNG"]["contentType"] == "image/png" and files["SVG"]["filename"].endswith(".svg")

    project = """query($t:ID!,$c:ID!){ projectTopology(tenantId:$t, namespaces:[{clusterId:$c, namespace:"shop"}]){
      nodes { id kind name namespace } edges { source target label } } }"""
    view = (await topo_api.ok(project, {"t": tenant.id, "c": cluster_id}, operator))["projectTopology"]
    kinds = {n["kind"] for n in view["nodes"]}
    assert {"Cluster", "Namespace", "Deployment", "Pod"} <= kinds, kinds
    namespace = next(n["id"] for n in view["nodes"] if n["kind"] == "Namespace")
    contained = {e["target"] for e in view["edges"] if e["source"] == namespace and e["label"] == "contains"}
    by_id = {n["id"]: n for n in view["nodes"]}
    assert contained and all(by_id[t]["namespace"] == "shop" for t in contained)
    assert not any(by_id[t]["kind"] == "Pod" for t in contained), "pods sit under their owners"

    fleet = "query($t:ID!){ fleetTopology(tenantId:$t){ nodes { kind name } meta { nodeCount } } }"
    view = (await topo_api.ok(fleet, {"t": tenant.id}, operator))["fleetTopology"]
    assert {"kind": "Cluster", "name": "mapped"} in view["nodes"]
    assert any(n["kind"] == "Namespace" and n["name"] == "shop" for n in view["nodes"])


async def test_snapshots_and_diffs(topo_api: Api, cluster: tuple[TenantUsers, str], kube: Fleet) -> None:
    tenant, cluster_id = cluster
    operator = tenant.tokens["operator"]
    save = 'mutation($c:ID!){ saveTopologySnapshot(clusterId:$c, namespace:"shop", name:"before"){ id nodeCount } }'
    saved = (await topo_api.ok(save, {"c": cluster_id}, operator))["saveTopologySnapshot"]
    assert saved["nodeCount"] > 0
    extra = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "added-later", "namespace": "shop"}}
    await topo_api.ok(
        "mutation($c:ID!,$y:String!){ applyManifest(clusterId:$c, yaml:$y){ __typename } }",
        {"c": cluster_id, "y": json.dumps(extra)},
        operator,
    )
    compare = """query($l:TopologySideInput!,$r:TopologySideInput!){ topologyDiff(left:$l, right:$r){
      nodesAdded nodesRemoved nodesChanged edgesAdded edgesRemoved } }"""
    for _ in range(50):
        sides = {"l": {"snapshotId": saved["id"]}, "r": {"clusterId": cluster_id, "namespace": "shop"}}
        changes = (await topo_api.ok(compare, sides, operator))["topologyDiff"]
        if "ConfigMap/shop/added-later" in changes["nodesAdded"]:
            break
        await asyncio.sleep(0.1)
    assert "ConfigMap/shop/added-later" in changes["nodesAdded"] and changes["nodesRemoved"] == []
    across = await topo_api.ok(
        compare,
        {"l": {"clusterId": cluster_id, "namespace": "shop"}, "r": {"clusterId": cluster_id, "namespace": "shop"}},
        operator,
    )
    assert all(v == [] for v in across["topologyDiff"].values()), "a namespace equals itself"
    other = await topo_api.ok(
        compare,
        {"l": {"clusterId": cluster_id, "namespace": "shop"}, "r": {"clusterId": cluster_id, "namespace": "default"}},
        operator,
    )
    assert other["topologyDiff"]["nodesRemoved"], "two namespaces compare by kind and name"
    listed = await topo_api.ok(
        "query($c:ID!){ topologySnapshots(clusterId:$c){ id name } }", {"c": cluster_id}, operator
    )
    assert [s["id"] for s in listed["topologySnapshots"]] == [saved["id"]]


EVENTS = """subscription($c:ID!){ topologyEvents(clusterId:$c, namespace:"shop", includeInitial:true){
  type id node { kind name namespace status } edge { type source target } } }"""


async def test_live_graph_events_from_watch_changes(
    topo_app: tuple[Api, str, Services], cluster: tuple[TenantUsers, str], kube: Fleet, tenant_b: TenantUsers
) -> None:
    api, url, _ = topo_app
    tenant, cluster_id = cluster
    viewer = tenant.tokens["viewer"]
    assert await refusal(url, tenant_b.tokens["tenant_admin"], EVENTS, {"c": cluster_id}) == "NOT_FOUND"
    transport = WebsocketsTransport(
        url=url.replace("http://", "ws://") + "/graphql", init_payload={"Authorization": f"Bearer {viewer}"}
    )
    received: list[dict[str, Any]] = []

    async def until(predicate: Any, stream: Any) -> dict[str, Any]:
        async for result in stream:
            received.append(result["topologyEvents"])
            if predicate(result["topologyEvents"]):
                return dict(result["topologyEvents"])
        raise AssertionError("stream ended")

    async with Client(transport=transport) as session:
        stream = session.subscribe(gql(EVENTS), variable_values={"c": cluster_id})
        first = asyncio.ensure_future(
            until(lambda e: e["type"] == "NODE_ADDED" and e["id"] == "ConfigMap/shop/live-one", stream)
        )
        # whether the stream starts before or after the change, the node arrives once: initial or live
        manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "live-one", "namespace": "shop"}}
        await api.ok(
            "mutation($c:ID!,$y:String!){ applyManifest(clusterId:$c, yaml:$y){ __typename } }",
            {"c": cluster_id, "y": json.dumps(manifest)},
            tenant.tokens["operator"],
        )
        added = await asyncio.wait_for(first, timeout=5)
        assert added["node"] == {"kind": "ConfigMap", "name": "live-one", "namespace": "shop", "status": "healthy"}
        await scale_deployment(kube, "web", 5)
        pod_edge = await asyncio.wait_for(
            until(lambda e: e["type"] == "EDGE_ADDED" and e["edge"]["type"] == "owner"
                  and e["edge"]["target"].startswith("Pod/shop/web-"), stream),
            timeout=5,
        )  # fmt: skip
        assert pod_edge["edge"]["source"].startswith("ReplicaSet/shop/web-")
        assert any(e["type"] == "NODE_ADDED" and e["id"] == pod_edge["edge"]["target"] for e in received)
    assert all(e["node"] is None or e["node"]["namespace"] in ("shop", None) for e in received)

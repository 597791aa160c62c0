from __future__ import annotations

import copy

from app.topology import build, diff, layout, to_json
from tests.topology.fixtures import Objects, small_profile


def test_identical_graphs_have_no_difference(objects: Objects) -> None:
    graph = build(objects)
    assert diff(graph, build(objects)) == {
        "nodes_added": [], "nodes_removed": [], "nodes_changed": [], "edges_added": [], "edges_removed": []}


def test_changes_between_two_graphs(objects: Objects) -> None:
    before = build(objects)
    changed = copy.deepcopy(objects)
    changed["ConfigMap"] = [o for o in changed["ConfigMap"] if o["metadata"]["name"] != "unused-config"]
    extra = {"metadata": {"name": "extra", "namespace": "lab"}, "spec": {"selector": {"app": "shaky"}}}
    changed["Service"].append(extra)
    toolbox = next(o for o in changed["Pod"] if o["metadata"]["name"] == "toolbox")
    toolbox["status"] = {"phase": "Failed"}
    result = diff(before, build(changed))
    assert result["nodes_added"] == ["Service/lab/extra"]
    assert result["nodes_removed"] == ["ConfigMap/lab/unused-config"]
    assert result["nodes_changed"] == [{"id": "Pod/lab/toolbox", "changes": {"status": ["degraded", "failed"]}}]
    assert result["edges_added"] == [f"selects:Service/lab/extra->Pod/lab/shaky-abc-{i}" for i in (1, 2, 3)]
    assert result["edges_removed"] == []


def test_snapshot_against_graph(objects: Objects) -> None:
    graph = build(objects)
    snapshot = to_json(graph, layout(graph), {"generatedAt": "2026-01-01T00:00:00Z"})
    assert diff(snapshot, graph)["nodes_changed"] == []
    assert diff(snapshot, graph) == diff(graph, graph)
    smaller = build({k: v for k, v in objects.items() if k != "Ingress"})
    result = diff(snapshot, smaller)
    assert "Ingress/shop/shop" in result["nodes_removed"]
    assert "routes:Ingress/shop/shop->Service/shop/web" in result["edges_removed"]


def test_two_namespaces_compared_by_kind_and_name() -> None:
    objects = small_profile()
    shop = build(objects, namespace="shop")
    payments = build(objects, namespace="payments")
    result = diff(shop, payments, ignore_namespace=True)
    assert "Deployment/web" in result["nodes_removed"] and "Deployment/checkout" in result["nodes_added"]
    assert "Secret/app-tls" not in result["nodes_added"] + result["nodes_removed"]  # both namespaces have one
    assert "mounts:Pod/db-0->PersistentVolumeClaim/data-db-0" in result["edges_removed"]
    assert "StorageClass/gp3" not in result["nodes_added"] + result["nodes_removed"]
    same = diff(shop, build(objects, namespace="shop"), ignore_namespace=True)
    assert same["nodes_added"] == same["nodes_removed"] == same["edges_added"] == []

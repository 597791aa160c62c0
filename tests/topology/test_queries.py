from __future__ import annotations

import networkx as nx
import pytest

from app.topology import blast_radius, build, dependency_path, fleet_view, orphans, subgraph
from tests.topology.fixtures import Objects


def test_subgraph_by_depth_and_direction(graph: nx.MultiDiGraph) -> None:
    out = subgraph(graph, "Deployment/lab/shaky", 2, "out")
    pods = {f"Pod/lab/shaky-abc-{i}" for i in (1, 2, 3)}
    assert set(out) == {"Deployment/lab/shaky", "ReplicaSet/lab/shaky-abc", *pods}
    assert out.number_of_edges() == 4
    incoming = subgraph(graph, "Deployment/lab/shaky", 1, "in")
    assert set(incoming) == {"Deployment/lab/shaky", "HorizontalPodAutoscaler/lab/shaky"}
    both = subgraph(graph, "Deployment/lab/shaky", 1, "both")
    assert set(both) == {"Deployment/lab/shaky", "HorizontalPodAutoscaler/lab/shaky", "ReplicaSet/lab/shaky-abc"}
    assert set(subgraph(graph, "Deployment/lab/shaky", 0)) == {"Deployment/lab/shaky"}
    assert both.nodes["Deployment/lab/shaky"]["status"] == "degraded"
    with pytest.raises(KeyError):
        subgraph(graph, "Pod/lab/nope", 1)


def test_blast_radius_of_a_configmap_reaches_workloads_services_and_ingress(graph: nx.MultiDiGraph) -> None:
    radius = set(blast_radius(graph, "ConfigMap/shop/web-config"))
    web_pods = {n for n in graph if n.startswith("Pod/shop/web-")}
    (replica_set,) = {n for n in graph if n.startswith("ReplicaSet/shop/web-")}
    assert web_pods | {replica_set, "Deployment/shop/web", "HorizontalPodAutoscaler/shop/web", "Service/shop/web",
                       "Ingress/shop/shop"} == radius
    assert "ConfigMap/shop/web-config" not in radius


def test_blast_radius_of_a_node_stops_at_workloads(graph: nx.MultiDiGraph) -> None:
    node = sorted(n for n in graph if n.startswith("Node//"))[0]
    radius = set(blast_radius(graph, node))
    on_node = {u for u, keys in graph.pred[node].items() if "schedules" in keys}
    elsewhere = {n for n in graph if n.startswith("Pod/") and n not in on_node}
    assert on_node <= radius
    assert not radius & elsewhere  # sibling pods on other nodes do not break
    owners = {u for p in on_node for u, keys in graph.pred[p].items() if "owner" in keys}
    assert owners and owners <= radius  # their workloads are degraded
    assert not any(n.startswith(("ConfigMap/", "Secret/")) for n in radius)


def test_blast_radius_of_a_deployment_includes_what_is_deleted_with_it(graph: nx.MultiDiGraph) -> None:
    radius = set(blast_radius(graph, "Deployment/lab/shaky"))
    assert {"ReplicaSet/lab/shaky-abc", "Pod/lab/shaky-abc-1", "Pod/lab/shaky-abc-3"} <= radius
    assert "PersistentVolumeClaim/lab/lab-data" not in radius  # what the pods use does not depend on them
    assert {"Service/lab/shaky", "Ingress/lab/lab", "HorizontalPodAutoscaler/lab/shaky",
            "PodDisruptionBudget/lab/shaky", "NetworkPolicy/lab/deny-all"} <= radius


def test_blast_radius_through_rbac(graph: nx.MultiDiGraph) -> None:
    radius = set(blast_radius(graph, "ClusterRole//viewer"))
    assert {"RoleBinding/lab/lab-view", "ClusterRoleBinding//viewers", "ServiceAccount/lab/shaky",
            "ServiceAccount/lab/toolbox", "User//alice@example.com", "Pod/lab/toolbox", "Pod/lab/shaky-abc-1",
            "Deployment/lab/shaky"} <= radius
    assert blast_radius(graph, "User//alice@example.com") == []
    assert "ClusterRole//viewer" not in blast_radius(graph, "RoleBinding/lab/lab-view")


def test_dependency_path_ignores_direction(graph: nx.MultiDiGraph) -> None:
    path = dependency_path(graph, "Ingress/lab/lab", "PersistentVolume//lab-pv")
    assert path is not None
    assert path["nodes"] == ["Ingress/lab/lab", "Service/lab/shaky", "Pod/lab/shaky-abc-1",
                             "PersistentVolumeClaim/lab/lab-data", "PersistentVolume//lab-pv"]
    assert [e["type"] for e in path["edges"]] == ["routes", "selects", "mounts", "binds"]
    back = dependency_path(graph, "PersistentVolume//lab-pv", "Ingress/lab/lab")
    assert back is not None and back["nodes"] == list(reversed(path["nodes"]))
    assert back["edges"][0] == {"id": "binds:PersistentVolumeClaim/lab/lab-data->PersistentVolume//lab-pv",
                                "source": "PersistentVolumeClaim/lab/lab-data", "target": "PersistentVolume//lab-pv",
                                "type": "binds", "label": "bound to", "implicit": False}
    assert dependency_path(graph, "Ingress/lab/lab", "Ingress/lab/lab") == {"nodes": ["Ingress/lab/lab"], "edges": []}
    lonely = build({"ConfigMap": [{"metadata": {"name": "a", "namespace": "n"}}],
                    "Secret": [{"metadata": {"name": "b", "namespace": "n"}}]})
    assert dependency_path(lonely, "ConfigMap/n/a", "Secret/n/b") is None


def test_orphans(graph: nx.MultiDiGraph, objects: Objects) -> None:
    found = orphans(graph)
    lab = [n for n in found if "/lab/" in n]
    assert lab == ["ConfigMap/lab/unused-config", "PersistentVolumeClaim/lab/scratch", "Secret/lab/unused-secret",
                   "Service/lab/ghost"]
    # the small profile: its Services all select pods, its volumes and config are all used
    assert [n for n in found if "/lab/" not in n] == []
    excluded_ones = ("ConfigMap/lab/kube-root-ca.crt", "Secret/lab/toolbox-token",
                     "Secret/lab/sh.helm.release.v1.lab.v1", "Service/default/kubernetes",
                     "ConfigMap/kube-public/cluster-info", "Secret/lab/missing-secret")
    for excluded in excluded_ones:
        assert excluded in graph and excluded not in found


def test_fleet_view() -> None:
    fleet = fleet_view([
        ("cls_1", "prod", ["default", {"metadata": {"name": "shop", "labels": {"team": "a"}},
                                       "status": {"phase": "Terminating"}}]),
        ("cls_2", "staging", []),
    ])
    assert set(fleet) == {"Cluster//cls_1", "Cluster//cls_2", "cls_1/Namespace//default", "cls_1/Namespace//shop"}
    assert fleet.nodes["Cluster//cls_1"]["name"] == "prod"
    assert fleet.nodes["Cluster//cls_1"]["status"] == "degraded"
    assert fleet.nodes["Cluster//cls_2"]["status"] == "unknown"
    assert fleet.nodes["cls_1/Namespace//shop"]["labels"] == {"team": "a"}
    assert sorted(v for _, v in fleet.out_edges("Cluster//cls_1")) == ["cls_1/Namespace//default",
                                                                       "cls_1/Namespace//shop"]

from __future__ import annotations

import json

import networkx as nx
import pytest

from app.topology import build
from app.topology.model import EDGE_TYPES
from tests.topology.fixtures import Objects, lab_objects, pod, small_profile


def edge(graph: nx.MultiDiGraph, source: str, target: str, type_: str) -> dict[str, object]:
    assert graph.has_edge(source, target, type_), f"no {type_} edge {source} -> {target}"
    return dict(graph[source][target][type_])


def targets(graph: nx.MultiDiGraph, source: str, type_: str) -> set[str]:
    return {v for v, keys in graph.succ[source].items() if type_ in keys}


def sources(graph: nx.MultiDiGraph, target: str, type_: str) -> set[str]:
    return {u for u, keys in graph.pred[target].items() if type_ in keys}


def pod_of(graph: nx.MultiDiGraph, namespace: str, prefix: str) -> str:
    return sorted(n for n in graph if n.startswith(f"Pod/{namespace}/{prefix}-"))[0]


def test_node_ids_and_attributes_come_from_the_mapping_key(graph: nx.MultiDiGraph) -> None:
    attrs = graph.nodes["Deployment/shop/web"]
    assert (attrs["kind"], attrs["name"], attrs["namespace"]) == ("Deployment", "web", "shop")
    assert attrs["labels"]["app"] == "web" and attrs["uid"] and attrs["status"] == "healthy"
    assert graph.nodes["StorageClass//gp3"]["namespace"] is None
    assert not any(n.startswith(("Event/", "ControllerRevision/")) for n in graph)


def test_the_small_profile_yields_every_edge_type_it_can(objects: Objects) -> None:
    graph = build(small_profile())
    types = {k for _, _, k in graph.edges(keys=True)}
    assert types == set(EDGE_TYPES) - {"pulls"}
    assert {k for _, _, k in build(objects).edges(keys=True)} == set(EDGE_TYPES)


def test_owner_edges_chain_deployment_replicaset_pod(graph: nx.MultiDiGraph) -> None:
    (replica_set,) = targets(graph, "Deployment/shop/web", "owner")
    pods = targets(graph, replica_set, "owner")
    assert len(pods) >= 2 and all(p.startswith("Pod/shop/web-") for p in pods)
    assert edge(graph, "Deployment/shop/web", replica_set, "owner") == {
        "type": "owner", "label": "owns", "implicit": False}
    assert targets(graph, "StatefulSet/shop/db", "owner") == {"Pod/shop/db-0", "Pod/shop/db-1"}


def test_service_selects_its_pods_and_only_them(graph: nx.MultiDiGraph) -> None:
    selected = targets(graph, "Service/shop/api", "selects")
    assert selected and all(p.startswith("Pod/shop/api-") for p in selected)
    assert edge(graph, "Service/shop/api", sorted(selected)[0], "selects")["implicit"] is True
    assert targets(graph, "Service/lab/shaky", "selects") == {f"Pod/lab/shaky-abc-{i}" for i in (1, 2, 3)}
    assert sources(graph, "Pod/other/impostor", "selects") == set()
    assert targets(graph, "Service/lab/ghost", "selects") == set()
    assert targets(graph, "Service/default/kubernetes", "selects") == set()


def test_network_policy_and_disruption_budget_select_pods(graph: nx.MultiDiGraph) -> None:
    assert targets(graph, "NetworkPolicy/shop/db-allow-api", "selects") == {"Pod/shop/db-0", "Pod/shop/db-1"}
    lab_pods = {n for n in graph if n.startswith("Pod/lab/")}
    assert targets(graph, "NetworkPolicy/lab/deny-all", "selects") == lab_pods  # empty podSelector: all pods
    assert targets(graph, "PodDisruptionBudget/lab/shaky", "selects") == {f"Pod/lab/shaky-abc-{i}" for i in (1, 2, 3)}
    assert edge(graph, "PodDisruptionBudget/lab/shaky", "Pod/lab/shaky-abc-1", "selects")["label"] == "protects"


def test_ingress_routes_to_services_including_the_default_backend(graph: nx.MultiDiGraph) -> None:
    assert targets(graph, "Ingress/shop/shop", "routes") == {"Service/shop/web", "Service/shop/api"}
    assert targets(graph, "Ingress/lab/lab", "routes") == {"Service/lab/shaky", "Service/lab/ghost"}
    assert edge(graph, "Ingress/shop/shop", "Service/shop/web", "routes")["implicit"] is True
    assert targets(graph, "Ingress/shop/shop", "tls") == {"Secret/shop/app-tls"}


def test_pods_mount_volumes_including_projected_sources(graph: nx.MultiDiGraph) -> None:
    web = pod_of(graph, "shop", "web")
    assert targets(graph, web, "mounts") == {"ConfigMap/shop/web-config", "Secret/shop/app-tls"}
    assert edge(graph, web, "Secret/shop/app-tls", "mounts")["implicit"] is True
    assert targets(graph, "Pod/shop/db-0", "mounts") == {"PersistentVolumeClaim/shop/data-db-0"}
    assert targets(graph, pod_of(graph, "shop", "api"), "mounts") == set()


def test_env_edges_from_env_from_value_from_and_init_containers(graph: nx.MultiDiGraph) -> None:
    api = pod_of(graph, "shop", "api")
    assert targets(graph, api, "env") == {
        "Secret/shop/db-credentials", "ConfigMap/shop/api-config", "Secret/shop/api-secrets"}
    assert targets(graph, pod_of(graph, "shop", "web"), "env") == {"ConfigMap/shop/web-config"}
    assert targets(graph, "Pod/lab/toolbox", "env") == {"ConfigMap/lab/init-config"}
    assert edge(graph, api, "ConfigMap/shop/api-config", "env")["implicit"] is True
    assert targets(graph, pod_of(graph, "monitoring", "grafana"), "env") == set()


def test_storage_bindings(graph: nx.MultiDiGraph) -> None:
    (volume,) = targets(graph, "PersistentVolumeClaim/shop/data-db-0", "binds") - {"StorageClass//gp3"}
    assert volume.startswith("PersistentVolume//pvc-")
    assert targets(graph, volume, "binds") == {"StorageClass//gp3"}
    assert "StorageClass//gp3" in targets(graph, "PersistentVolumeClaim/shop/data-db-0", "binds")
    assert targets(graph, "PersistentVolume//archive-0", "binds") == {"StorageClass//manual"}
    assert targets(graph, "PersistentVolumeClaim/lab/scratch", "binds") == {"StorageClass//manual"}
    assert edge(graph, "PersistentVolumeClaim/lab/lab-data", "PersistentVolume//lab-pv", "binds")["implicit"] is False


def test_schedules_scales_runs_as(graph: nx.MultiDiGraph) -> None:
    api = pod_of(graph, "shop", "api")
    (node,) = targets(graph, api, "schedules")
    assert node.startswith("Node//ip-10-") and edge(graph, api, node, "schedules")["implicit"] is False
    assert targets(graph, "Pod/lab/toolbox", "schedules") == set()  # pending: not scheduled
    assert targets(graph, "HorizontalPodAutoscaler/shop/web", "scales") == {"Deployment/shop/web"}
    assert targets(graph, api, "runs-as") == {"ServiceAccount/shop/api"}
    assert edge(graph, api, "ServiceAccount/shop/api", "runs-as")["implicit"] is True
    assert targets(graph, "Pod/lab/broken-r-1", "runs-as") == {"ServiceAccount/lab/default"}


def test_grants_from_role_bindings_and_cluster_role_bindings(graph: nx.MultiDiGraph) -> None:
    assert targets(graph, "RoleBinding/shop/api-reader", "grants") == {
        "Role/shop/api-reader", "ServiceAccount/shop/api"}
    assert targets(graph, "RoleBinding/lab/lab-view", "grants") == {"ClusterRole//viewer", "ServiceAccount/lab/shaky"}
    assert targets(graph, "ClusterRoleBinding//viewers", "grants") == {
        "ClusterRole//viewer", "ServiceAccount/lab/toolbox", "User//alice@example.com", "Group//auditors"}
    assert edge(graph, "ClusterRoleBinding//viewers", "User//alice@example.com", "grants")["label"] == "grants to"


def test_endpoints_and_endpoint_slices_hang_off_their_service(graph: nx.MultiDiGraph) -> None:
    found = targets(graph, "Service/shop/api", "endpoints")
    assert "Endpoints/shop/api" in found
    assert any(t.startswith("EndpointSlice/shop/api-") for t in found)
    assert targets(graph, "Service/lab/ghost", "endpoints") == set()


def test_missing_targets_become_placeholders(graph: nx.MultiDiGraph) -> None:
    for node in ("Secret/lab/missing-secret", "ServiceAccount/lab/toolbox", "User//alice@example.com"):
        attrs = graph.nodes[node]
        assert attrs["missing"] is True and attrs["status"] == "unknown" and attrs["uid"] is None
    assert graph.nodes["Secret/lab/registry-creds"]["missing"] is False
    assert sources(graph, "Secret/lab/missing-secret", "mounts") == {"Pod/lab/toolbox"}


def test_status_rolls_up_through_owners(graph: nx.MultiDiGraph) -> None:
    status = {n: graph.nodes[n]["status"] for n in graph}
    assert status["Pod/lab/shaky-abc-2"] == "failed"  # CrashLoopBackOff
    assert status["ReplicaSet/lab/shaky-abc"] == "degraded"
    assert status["Deployment/lab/shaky"] == "degraded"
    assert status["ReplicaSet/lab/broken-r"] == "failed" and status["Deployment/lab/broken"] == "failed"
    # the CronJob itself reports nothing wrong: its failed pod does, through the Job
    assert graph.nodes["CronJob/lab/nightly"]["own_status"] == "healthy"
    assert graph.nodes["Job/lab/nightly-1"]["own_status"] == "healthy"
    assert status["Job/lab/nightly-1"] == "failed" and status["CronJob/lab/nightly"] == "failed"
    assert status["Pod/lab/toolbox"] == "degraded" and status["PersistentVolumeClaim/lab/scratch"] == "degraded"
    assert status["Deployment/shop/web"] == "healthy" and status["Node//" + _a_node(graph)] == "healthy"


def _a_node(graph: nx.MultiDiGraph) -> str:
    return sorted(n for n in graph if n.startswith("Node//"))[0].split("//")[1]


def test_namespace_filter_keeps_the_namespace_and_the_cluster_objects_it_uses(objects: Objects) -> None:
    shop = build(objects, namespace="shop")
    namespaced = {attrs["namespace"] for _, attrs in shop.nodes(data=True)} - {None}
    assert namespaced == {"shop"}
    cluster_scoped = {n for n, ns in shop.nodes(data="namespace") if ns is None}
    assert "Namespace//shop" in cluster_scoped and "StorageClass//gp3" in cluster_scoped
    assert any(n.startswith("Node//") for n in cluster_scoped)
    assert not any(n.startswith("PersistentVolume//archive") for n in cluster_scoped)
    assert "StorageClass//manual" not in shop and "ClusterRole//viewer" not in shop
    lab = build(objects, namespace="lab")
    assert "ClusterRoleBinding//viewers" in lab and "User//alice@example.com" in lab
    assert "Pod/other/impostor" not in lab


def test_namespace_filter_without_namespace_objects() -> None:
    objects = {"Pod": [pod("a", {}, ns="lab", nodeName="n1"), pod("b", {}, ns="other")]}
    assert sorted(build(objects, namespace="lab")) == ["Node//n1", "Pod/lab/a", "ServiceAccount/lab/default"]


def test_kinds_filter_drops_other_kinds_and_references_to_them(objects: Objects) -> None:
    graph = build(objects, kinds={"Deployment", "ReplicaSet", "Pod", "Service"})
    assert {attrs["kind"] for _, attrs in graph.nodes(data=True)} == {"Deployment", "ReplicaSet", "Pod", "Service"}
    assert {k for _, _, k in graph.edges(keys=True)} == {"owner", "selects"}


def test_objects_are_not_mutated() -> None:
    objects = lab_objects()
    before = json.dumps(objects, sort_keys=True)
    build(objects)
    assert json.dumps(objects, sort_keys=True) == before


@pytest.mark.parametrize("kind", ["Pod", "Service", "Ingress", "RoleBinding", "PersistentVolumeClaim"])
def test_malformed_objects_do_not_break_the_build(kind: str) -> None:
    weird = {"metadata": {"name": "x", "namespace": "n", "ownerReferences": [{"kind": "ReplicaSet"}]},
             "spec": {"volumes": [None, {"projected": {"sources": [None]}}], "containers": [{"env": [{"name": "A"}]}],
                      "rules": [{"http": None}], "selector": "nope"}, "subjects": [{"kind": "User"}]}
    graph = build({kind: [weird]})
    assert f"{kind}/n/x" in graph

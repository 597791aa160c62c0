from __future__ import annotations

import copy
from typing import Any

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.topology import LiveTopology, build
from app.topology.model import edge_id
from tests.topology.fixtures import Objects, pod

Snapshot = tuple[dict[str, dict[str, Any]], dict[tuple[str, str, str], dict[str, Any]]]


def snapshot(graph: nx.MultiDiGraph) -> Snapshot:
    nodes = {n: dict(attrs) for n, attrs in graph.nodes(data=True)}
    edges = {(u, v, k): dict(attrs) for u, v, k, attrs in graph.edges(keys=True, data=True)}
    return nodes, edges


def test_starting_from_objects_equals_build(objects: Objects) -> None:
    assert snapshot(LiveTopology(objects).graph) == snapshot(build(objects))


def test_service_created_after_its_pods_selects_them() -> None:
    live = LiveTopology({"Pod": [pod("a", {"app": "x"}), pod("b", {"app": "x"}), pod("c", {"app": "y"})]})
    delta = live.apply("ADDED", "Service", {"metadata": {"name": "x", "namespace": "lab"},
                                            "spec": {"selector": {"app": "x"}}})
    assert delta.nodes_added == ("Service/lab/x",)
    assert delta.edges_added == ("selects:Service/lab/x->Pod/lab/a", "selects:Service/lab/x->Pod/lab/b")
    assert delta.nodes_removed == delta.edges_removed == ()


def test_configmap_created_after_the_pod_mounting_it_replaces_the_placeholder() -> None:
    mounting = pod("a", {}, volumes=[{"name": "c", "configMap": {"name": "conf"}}])
    live = LiveTopology({"Pod": [mounting]})
    assert live.graph.nodes["ConfigMap/lab/conf"]["missing"] is True
    delta = live.apply("ADDED", "ConfigMap", {"metadata": {"name": "conf", "namespace": "lab", "uid": "u1"}})
    assert delta.nodes_changed == ("ConfigMap/lab/conf",) and delta.nodes_added == ()
    assert delta.edges_added == delta.edges_removed == ()
    assert live.graph.nodes["ConfigMap/lab/conf"]["missing"] is False
    assert live.graph.has_edge("Pod/lab/a", "ConfigMap/lab/conf", "mounts")
    delta = live.apply("DELETED", "ConfigMap", {"metadata": {"name": "conf", "namespace": "lab"}})
    assert delta.nodes_changed == ("ConfigMap/lab/conf",) and live.graph.nodes["ConfigMap/lab/conf"]["missing"]
    delta = live.apply("DELETED", "Pod", mounting)
    assert set(delta.nodes_removed) == {"Pod/lab/a", "ConfigMap/lab/conf", "ServiceAccount/lab/default"}
    assert len(live.graph) == 0


def test_relabelled_pod_moves_between_services() -> None:
    services = [{"metadata": {"name": n, "namespace": "lab"}, "spec": {"selector": {"app": n}}} for n in ("x", "y")]
    live = LiveTopology({"Service": services, "Pod": [pod("a", {"app": "x"})]})
    delta = live.apply("MODIFIED", "Pod", pod("a", {"app": "y"}))
    assert delta.edges_removed == ("selects:Service/lab/x->Pod/lab/a",)
    assert delta.edges_added == ("selects:Service/lab/y->Pod/lab/a",)
    assert delta.nodes_changed == ("Pod/lab/a",)


def test_failing_pod_rolls_up_to_its_owners_and_back(objects: Objects) -> None:
    live = LiveTopology(objects)
    graph = live.graph
    replica_set = next(v for v, keys in graph.succ["Deployment/shop/web"].items() if "owner" in keys)
    pods = sorted(v for v, keys in graph.succ[replica_set].items() if "owner" in keys)
    original = {o["metadata"]["name"]: o for o in objects["Pod"] if o["metadata"]["namespace"] == "shop"}
    broken = {}
    for index, node in enumerate(pods):
        obj = copy.deepcopy(original[node.split("/")[-1]])
        obj["status"]["phase"] = "Failed"
        broken[node] = obj
        delta = live.apply("MODIFIED", "Pod", obj)
        expected = "failed" if index == len(pods) - 1 else "degraded"
        assert graph.nodes[replica_set]["status"] == expected
        assert graph.nodes["Deployment/shop/web"]["status"] == expected
        if index == 0:
            assert set(delta.nodes_changed) == {node, replica_set, "Deployment/shop/web"}
        assert delta.edges_added == delta.edges_removed == ()
    for node in pods:
        live.apply("MODIFIED", "Pod", original[node.split("/")[-1]])
    assert graph.nodes["Deployment/shop/web"]["status"] == "healthy"
    assert snapshot(graph) == snapshot(build(objects))


def test_ignored_kinds_and_unknown_deletes_change_nothing(objects: Objects) -> None:
    live = LiveTopology(objects)
    assert live.apply("ADDED", "Event", {"metadata": {"name": "e", "namespace": "lab"}}).empty
    assert live.apply("DELETED", "Pod", {"metadata": {"name": "nope", "namespace": "lab"}}).empty
    same = next(o for o in objects["Pod"] if o["metadata"]["namespace"] == "shop")
    assert live.apply("MODIFIED", "Pod", same).empty


# -- property: any series of events gives the graph a full build would ---------------------------

NAMESPACES = ("a", "b")
NAMES = ("x", "y")
names = st.sampled_from(NAMES)
maybe = st.one_of(st.none(), names)
label_sets = st.dictionaries(st.sampled_from(("app", "tier")), names, max_size=2)


def _selector() -> st.SearchStrategy[dict[str, Any]]:
    expression = st.fixed_dictionaries({
        "key": st.sampled_from(("app", "tier")), "operator": st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist")),
        "values": st.lists(names, max_size=2)})
    return st.fixed_dictionaries({}, optional={"matchLabels": label_sets, "matchExpressions": st.lists(expression,
                                                                                                       max_size=2)})


def _pod_body() -> st.SearchStrategy[dict[str, Any]]:
    owner = st.one_of(st.none(), st.tuples(st.sampled_from(("ReplicaSet", "ReplicaSet", "Job")), names))
    volume = st.one_of(
        st.builds(lambda n: {"name": "v", "configMap": {"name": n}}, names),
        st.builds(lambda n: {"name": "v", "secret": {"secretName": n}}, names),
        st.builds(lambda n: {"name": "v", "persistentVolumeClaim": {"claimName": n}}, names),
        st.builds(lambda n: {"name": "v", "projected": {"sources": [{"secret": {"name": n}}]}}, names),
    )
    env = st.one_of(
        st.builds(lambda n: {"envFrom": [{"configMapRef": {"name": n}}]}, names),
        st.builds(lambda n: {"env": [{"name": "E", "valueFrom": {"secretKeyRef": {"name": n, "key": "k"}}}]}, names),
    )
    return st.builds(
        lambda labels, state, owner, node, account, volumes, env: {
            "labels": labels, "state": state, "owner": owner, "spec": {
                **({"nodeName": node} if node else {}), **({"serviceAccountName": account} if account else {}),
                "volumes": volumes, "containers": [{"name": "main", **(env or {})}]}},
        label_sets, st.sampled_from(("ready", "crash", "failed", "pending")), owner, maybe, maybe,
        st.lists(volume, max_size=2), st.one_of(st.none(), env))


def _status(*phases: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(phases).map(lambda p: {"phase": p})


BODIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "Service": st.one_of(st.none(), label_sets).map(lambda s: {"spec": {"selector": s} if s is not None else {}}),
    "NetworkPolicy": _selector().map(lambda s: {"spec": {"podSelector": s}}),
    "PodDisruptionBudget": _selector().map(lambda s: {"spec": {"selector": s}}),
    "ReplicaSet": st.builds(lambda d, ready: {"owner": ("Deployment", d) if d else None, "spec": {"replicas": 2},
                                              "status": {"readyReplicas": ready}}, maybe, st.integers(0, 2)),
    "Deployment": st.builds(lambda ready: {"spec": {"replicas": 2}, "status": {"availableReplicas": ready}},
                            st.integers(0, 2)),
    "Job": st.builds(lambda c: {"owner": ("CronJob", c) if c else None, "status": {"active": 1}}, maybe),
    "CronJob": st.just({}),
    "ConfigMap": st.just({}),
    "Secret": st.just({}),
    "ServiceAccount": st.just({}),
    "PersistentVolumeClaim": st.builds(lambda pv, sc: {"spec": {"volumeName": pv, "storageClassName": sc}},
                                       maybe, maybe).map(lambda b: {"spec": {k: v for k, v in b["spec"].items() if v}}),
    "Ingress": st.lists(names, max_size=2).map(lambda ns: {"spec": {"rules": [{"http": {"paths": [
        {"backend": {"service": {"name": n}}} for n in ns]}}]}}),
    "HorizontalPodAutoscaler": names.map(lambda n: {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": n}}}),
    "RoleBinding": st.builds(lambda role, sa: {"roleRef": {"kind": role, "name": "x"},
                                               "subjects": [{"kind": "ServiceAccount", "name": sa}]},
                             st.sampled_from(("Role", "ClusterRole")), names),
    "Endpoints": st.just({}),
    "EndpointSlice": names.map(lambda n: {"labels": {"kubernetes.io/service-name": n}}),
    "PersistentVolume": st.builds(lambda sc, status: {"spec": {"storageClassName": sc} if sc else {}, "status": status},
                                  maybe, _status("Bound", "Released", "Failed")),
    "Node": st.sampled_from(("True", "False")).map(
        lambda r: {"status": {"conditions": [{"type": "Ready", "status": r}]}}),
    "StorageClass": st.just({}),
}
CLUSTER_SCOPED = {"PersistentVolume", "Node", "StorageClass"}
OWNER_CHAIN = {"Pod", "ReplicaSet", "Deployment", "Job", "CronJob"}


def make(kind: str, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    if kind == "Pod":
        owner = body["owner"]
        return pod(name, body["labels"], body["state"], ns=namespace, owner=owner, **body["spec"])
    meta: dict[str, Any] = {"name": name, "labels": body.get("labels", {})}
    if kind not in CLUSTER_SCOPED:
        meta["namespace"] = namespace
    if body.get("owner"):
        meta["ownerReferences"] = [{"kind": body["owner"][0], "name": body["owner"][1]}]
    return {"metadata": meta, **{k: v for k, v in body.items() if k not in ("labels", "owner")}}


@st.composite
def events(draw: st.DrawFn) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    series = []
    for _ in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(["Pod", "Pod", "Pod", "ReplicaSet", "Deployment", *BODIES]))
        namespace, name = draw(st.sampled_from(NAMESPACES)), draw(names)
        if kind in OWNER_CHAIN:  # mostly one namespace, so that owners and owned meet often
            namespace = draw(st.sampled_from((NAMESPACES[0], NAMESPACES[0], NAMESPACES[0], NAMESPACES[1])))
        body = draw(_pod_body() if kind == "Pod" else BODIES[kind]) if draw(st.integers(0, 4)) else None
        series.append((kind, namespace, name, body))
    return series


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_any_event_series_matches_a_full_build(series: list[tuple[str, str, str, dict[str, Any] | None]]) -> None:
    live = LiveTopology()
    current: dict[tuple[str, str, str], dict[str, Any]] = {}
    for kind, namespace, name, body in series:
        key = (kind, "" if kind in CLUSTER_SCOPED else namespace, name)
        before = snapshot(live.graph)
        if body is None:
            if key not in current:
                continue
            delta = live.apply("DELETED", kind, current.pop(key))
        else:
            obj = make(kind, namespace, name, body)
            delta = live.apply("MODIFIED" if key in current else "ADDED", kind, obj)
            current[key] = obj
        objects: Objects = {}
        for (k, _, _), obj in current.items():
            objects.setdefault(k, []).append(obj)
        after = snapshot(live.graph)
        assert after == snapshot(build(objects))
        assert_delta_matches(before, after, delta)


def assert_delta_matches(before: Snapshot, after: Snapshot, delta: Any) -> None:
    nodes_before, edges_before = before
    nodes_after, edges_after = after
    assert set(delta.nodes_added) == nodes_after.keys() - nodes_before.keys()
    assert set(delta.nodes_removed) == nodes_before.keys() - nodes_after.keys()
    changed = {n for n in nodes_before.keys() & nodes_after.keys() if nodes_before[n] != nodes_after[n]}
    assert set(delta.nodes_changed) == changed
    assert set(delta.edges_added) == {edge_id(*k) for k in edges_after.keys() - edges_before.keys()}
    assert set(delta.edges_removed) == {edge_id(*k) for k in edges_before.keys() - edges_after.keys()}

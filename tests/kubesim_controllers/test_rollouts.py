from __future__ import annotations

from kubesim import controllers
from kubesim.controllers.manager import ControllerManager
from kubesim.store import ClusterState
from tests.kubesim_controllers.conftest import make_deployment, owned_by, rt, settle


def _frozen(state: ClusterState) -> ControllerManager:
    """Controllers that run without simulated time passing, so lifecycles stop half-way."""
    state.clock.speed = 1e-9
    manager = ControllerManager(state, controllers.all_controllers())
    manager.attach()
    return manager


def _drain(manager: ControllerManager) -> None:
    while manager.process_one():
        pass


def _set_image(state: ClusterState, plural: str, name: str, image: str) -> None:
    current = state.get(rt(state, "apps", plural), "shop", name)
    current["spec"]["template"]["spec"]["containers"][0]["image"] = image
    state.update(rt(state, "apps", plural), current)


def _replicas(state: ClusterState, deploy: dict) -> dict[str, int]:
    return {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["spec"]["replicas"]
            for rs in owned_by(state, "apps", "replicasets", deploy)}


def test_rolling_update_respects_surge_and_unavailability(state: ClusterState) -> None:
    deploy = state.create(rt(state, "apps", "deployments"), make_deployment("web", replicas=4))
    settle(state)
    manager = _frozen(state)
    _set_image(state, "deployments", "web", "nginx:1.28")
    _drain(manager)
    # maxSurge 25% of 4 allows 5 pods in all; maxUnavailable 25% keeps 3 available: with the new pods
    # never becoming ready, the rollout stops at 3 old + 2 new, as the deployment controller does
    assert _replicas(state, deploy) == {"1": 3, "2": 2}
    assert len(state.list(rt(state, "", "pods"), "shop")) == 5
    status = state.get(rt(state, "apps", "deployments"), "shop", "web")["status"]
    progressing = next(c for c in status["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "ReplicaSetUpdated" and status["updatedReplicas"] == 2
    assert status["availableReplicas"] == 3
    manager.detach()
    settle(state)
    assert _replicas(state, deploy) == {"1": 0, "2": 4}


def test_recreate_scales_old_down_before_new_up(state: ClusterState) -> None:
    body = make_deployment("worker", replicas=2)
    body["spec"]["strategy"] = {"type": "Recreate"}
    deploy = state.create(rt(state, "apps", "deployments"), body)
    settle(state)
    _set_image(state, "deployments", "worker", "nginx:1.28")
    settle(state)
    assert _replicas(state, deploy) == {"1": 0, "2": 2}
    messages = [e["message"] for e in sorted(state.list(rt(state, "", "events"), "shop"),
                                             key=lambda e: int(e["metadata"]["resourceVersion"]))
                if e["reason"] == "ScalingReplicaSet"]
    down = next(i for i, m in enumerate(messages) if m.startswith("Scaled down") and m.endswith("to 0 from 2"))
    up = max(i for i, m in enumerate(messages) if m.startswith("Scaled up"))
    assert down < up


def test_deleted_pod_is_replaced(state: ClusterState) -> None:
    state.create(rt(state, "apps", "deployments"), make_deployment("web", replicas=2))
    settle(state)
    victim = state.list(rt(state, "", "pods"), "shop")[0]["metadata"]["name"]
    state.delete(rt(state, "", "pods"), "shop", victim)
    settle(state)
    names = [p["metadata"]["name"] for p in state.list(rt(state, "", "pods"), "shop")]
    assert len(names) == 2 and victim not in names


def test_statefulset_rolls_from_the_highest_ordinal(state: ClusterState) -> None:
    state.create(rt(state, "apps", "statefulsets"), {**make_deployment("db", replicas=3),
                                                     "metadata": {"name": "db", "namespace": "shop"}})
    settle(state)
    old = state.get(rt(state, "apps", "statefulsets"), "shop", "db")["status"]["updateRevision"]
    manager = _frozen(state)
    _set_image(state, "statefulsets", "db", "postgres:17")
    _drain(manager)
    revisions = {p["metadata"]["name"]: p["metadata"]["labels"]["controller-revision-hash"]
                 for p in state.list(rt(state, "", "pods"), "shop")}
    assert revisions["db-0"] == revisions["db-1"] == old and revisions["db-2"] != old
    manager.detach()
    settle(state)
    status = state.get(rt(state, "apps", "statefulsets"), "shop", "db")["status"]
    assert status["currentRevision"] == status["updateRevision"] != old and status["updatedReplicas"] == 3
    assert len(state.list(rt(state, "apps", "controllerrevisions"), "shop")) == 2


def test_daemonset_rolls_every_node_to_the_new_template(state: ClusterState) -> None:
    body = make_deployment("agent")
    del body["spec"]["replicas"]
    ds = state.create(rt(state, "apps", "daemonsets"), body)
    settle(state)
    _set_image(state, "daemonsets", "agent", "fluent-bit:4")
    settle(state)
    pods = owned_by(state, "", "pods", ds)
    assert len(pods) == 3 and {p["spec"]["containers"][0]["image"] for p in pods} == {"fluent-bit:4"}
    status = state.get(rt(state, "apps", "daemonsets"), "shop", "agent")["status"]
    assert status["updatedNumberScheduled"] == 3 and status["observedGeneration"] == 2

"""The disruption controller's PodDisruptionBudget status, computed as kube-controller-manager does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesim import controllers, nodepools
from kubesim.clock import Clock, format_time
from kubesim.resources import ResourceType
from kubesim.store import ClusterState

from .conftest import deployment, pod

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def rt(state: ClusterState, group: str, version: str, plural: str) -> ResourceType:
    found = state.resources.get(group, version, plural)
    assert found is not None
    return found


@pytest.fixture
def state() -> ClusterState:
    cluster = ClusterState("budgets", Clock(start=START))
    cluster.create(rt(cluster, "", "v1", "namespaces"), {"metadata": {"name": "default"}})
    nodepools.scale(cluster, nodepools.NodePool("pool-a"), 2, "v1.30.2")
    return cluster


def budget_status(state: ClusterState, name: str, **spec: Any) -> dict[str, Any]:
    pdbs = rt(state, "policy", "v1", "poddisruptionbudgets")
    if state.get(pdbs, "default", name) is None:
        state.create(pdbs, {"metadata": {"name": name, "namespace": "default"},
                            "spec": {"selector": {"matchLabels": {"app": name}}, **spec}})
    controllers.settle(state)
    found = state.get(pdbs, "default", name)
    assert found is not None
    return dict(found["status"])


def test_percentages_scale_with_the_owning_deployment(state: ClusterState) -> None:
    state.create(rt(state, "apps", "v1", "deployments"), deployment("web", replicas=4))
    status = budget_status(state, "web", maxUnavailable="25%")
    assert (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"]) == (4, 3, 4)
    assert status["disruptionsAllowed"] == 1 and status["observedGeneration"] == 1
    [condition] = status["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == ("DisruptionAllowed", "True",
                                                                             "SufficientPods")
    minimum = budget_status(state, "web-min", minAvailable="50%", selector={"matchLabels": {"app": "web"}})
    assert (minimum["desiredHealthy"], minimum["disruptionsAllowed"]) == (2, 2)


def test_pods_without_a_scalable_owner_fail_percentages_but_not_counts(state: ClusterState) -> None:
    pods = rt(state, "", "v1", "pods")
    for name in ("solo-1", "solo-2"):
        state.create(pods, pod(name, labels={"app": "solo"}))
    failed = budget_status(state, "solo", maxUnavailable=1)
    [condition] = failed["conditions"]
    assert failed["disruptionsAllowed"] == 0
    assert (condition["status"], condition["reason"]) == ("False", "SyncFailed")
    assert condition["message"] == 'found no controller ref for pod "solo-1"'
    counted = budget_status(state, "solo-count", minAvailable=1, selector={"matchLabels": {"app": "solo"}})
    assert (counted["expectedPods"], counted["currentHealthy"], counted["disruptionsAllowed"]) == (2, 2, 1)


def test_a_disrupted_pod_counts_again_once_its_eviction_times_out(state: ClusterState) -> None:
    state.create(rt(state, "apps", "v1", "deployments"), deployment("api", replicas=2))
    assert budget_status(state, "api", minAvailable=1)["disruptionsAllowed"] == 1
    pdbs = rt(state, "policy", "v1", "poddisruptionbudgets")
    victim = state.list(rt(state, "", "v1", "pods"), "default")[0]["metadata"]["name"]
    marked = state.get(pdbs, "default", "api")
    assert marked is not None
    marked["status"]["disruptedPods"] = {victim: format_time(state.clock.now())}
    state.update(pdbs, marked, subresource="status")
    held = budget_status(state, "api")
    assert (held["currentHealthy"], held["disruptionsAllowed"], list(held["disruptedPods"])) == (1, 0, [victim])
    state.clock.advance(121)
    released = budget_status(state, "api")
    assert (released["currentHealthy"], released["disruptionsAllowed"]) == (2, 1)
    assert "disruptedPods" not in released


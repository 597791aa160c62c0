from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesim import controllers
from kubesim.clock import Clock
from kubesim.resources import ResourceType
from kubesim.store import ClusterState

START = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
VERSIONS = {"": "v1", "apps": "v1", "batch": "v1", "discovery.k8s.io": "v1", "storage.k8s.io": "v1",
            "autoscaling": "v2"}


def rt(state: ClusterState, group: str, plural: str) -> ResourceType:
    found = state.resources.get(group, VERSIONS.get(group, "v1"), plural)
    assert found is not None
    return found


def settle(state: ClusterState) -> None:
    controllers.settle(state)


def make_deployment(name: str, replicas: int = 3, image: str = "nginx:1.27", ns: str = "shop",
                    cpu: str = "100m") -> dict[str, Any]:
    labels = {"app": name}
    container = {"name": "main", "image": image, "ports": [{"name": "http", "containerPort": 8080}],
                 "resources": {"requests": {"cpu": cpu, "memory": "64Mi"},
                               "limits": {"cpu": "500m", "memory": "128Mi"}}}
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def owned_by(state: ClusterState, group: str, plural: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
    uid = owner["metadata"]["uid"]
    return [o for o in state.list(rt(state, group, plural))
            if any(r["uid"] == uid for r in o["metadata"].get("ownerReferences") or [])]


@pytest.fixture
def state() -> ClusterState:
    cluster = ClusterState("test-cluster", Clock(speed=1.0, start=START))
    for name in ("default", "shop"):
        cluster.create(rt(cluster, "", "namespaces"), {"metadata": {"name": name}})
    for i in range(3):
        cluster.create(rt(cluster, "", "nodes"), {"metadata": {"name": f"node-{i}", "labels": {
            "node.kubernetes.io/instance-type": "m5.xlarge", "topology.kubernetes.io/zone": f"zone-{i}"}}})
    settle(cluster)
    return cluster

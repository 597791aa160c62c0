"""Fleet profiles: the objects a simulated cluster starts with.

``small`` is a realistic app stack over a few namespaces; ``large`` holds about 5,000 pods.
The same seed and index always give the same cluster; after loading, the controllers are run
to convergence so pods are already Running and Ready when the cluster is served.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from kubesim import controllers
from kubesim.profile_apps import Manifest, app_stack, monitoring
from kubesim.profile_system import system_objects

if TYPE_CHECKING:
    from kubesim.store import ClusterState

ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
LARGE_NAMESPACES = 40
LARGE_DEPLOYMENTS = 5
LARGE_REPLICAS = 25
LARGE_NODES = 55


def node(name: str, zone: str, instance_type: str) -> Manifest:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": instance_type,
        "topology.kubernetes.io/zone": zone,
        "topology.kubernetes.io/region": zone[:-1],
        "node-role.kubernetes.io/worker": "",
    }
    return ("", "v1", "nodes", {"metadata": {"name": name, "labels": labels}, "spec": {}})


def namespace(name: str, labels: dict[str, str] | None = None) -> Manifest:
    return ("", "v1", "namespaces", {"metadata": {"name": name, "labels": labels or {}}})


def small_manifests(cluster: str, seed: int, index: int) -> list[Manifest]:
    rng = random.Random(f"small:{seed}:{index}")
    count = rng.choice((2, 3))
    manifests = [
        node(
            f"ip-10-{index % 250}-{i}-{rng.randrange(2, 250)}.eu-west-1.compute.internal",
            ZONES[i % 3],
            rng.choice(("m5.xlarge", "m5.2xlarge")),
        )
        for i in range(count)
    ]
    manifests += [namespace(n) for n in ("default", "kube-system", "kube-public", "kube-node-lease")]
    manifests += [
        namespace("shop", {"team": "storefront"}),
        namespace("payments", {"team": "payments"}),
        namespace("monitoring", {"team": "platform"}),
    ]
    manifests += system_objects(cluster)
    manifests += app_stack("shop", cluster, rng, front="web", back="api", db="db", cron="report")
    manifests += app_stack(
        "payments", cluster, rng, front="checkout", back="ledger", db="ledger-db", cron="settlement"
    )
    manifests += monitoring(rng)
    return manifests


def large_manifests(cluster: str, seed: int, index: int) -> list[Manifest]:
    rng = random.Random(f"large:{seed}:{index}")
    manifests = [node(f"node-{i:03d}", ZONES[i % 3], "m5.4xlarge") for i in range(LARGE_NODES)]
    manifests += [namespace(n) for n in ("default", "kube-system", "kube-public", "kube-node-lease")]
    manifests += system_objects(cluster)
    for team in range(LARGE_NAMESPACES):
        name = f"team-{team:02d}"
        manifests.append(namespace(name, {"team": name}))
        for app in range(LARGE_DEPLOYMENTS):
            manifests += _bulk_app(name, f"svc-{app}", LARGE_REPLICAS, rng)
    return manifests


def _bulk_app(ns: str, name: str, replicas: int, rng: random.Random) -> list[Manifest]:
    labels = {"app": name, "app.kubernetes.io/part-of": ns}
    container = {
        "name": name,
        "image": f"ghcr.io/acme/{name}:1.{rng.randrange(0, 20)}.{rng.randrange(0, 9)}",
        "ports": [{"name": "http", "containerPort": 8080}],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        },
    }
    deploy = {
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }
    service = {
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    return [("apps", "v1", "deployments", deploy), ("", "v1", "services", service)]


def manifests_for(cluster: str, profile: str, seed: int, index: int) -> list[Manifest]:
    if profile == "small":
        return small_manifests(cluster, seed, index)
    if profile == "large":
        return large_manifests(cluster, seed, index)
    if profile == "empty":
        return [namespace(n) for n in ("default", "kube-system", "kube-public", "kube-node-lease")]
    raise ValueError(f"unknown profile {profile!r}: expected small, large or empty")


def create_all(state: ClusterState, manifests: list[Manifest]) -> None:
    for group, version, plural, body in manifests:
        rt = state.resources.get(group, version, plural)
        if rt is None:
            raise LookupError(f"{plural}.{group}/{version} is not served")
        meta = body.get("metadata") or {}
        if state.get(rt, meta.get("namespace"), meta.get("name", "")) is None:
            state.create(rt, body)


def load_profile(state: ClusterState, profile: str, seed: int, index: int, settle: bool = True) -> None:
    """Create the profile's objects in ``state`` and (by default) settle the cluster.

    Events are recorded while settling the small profile only: for the large one they would
    add tens of thousands of objects nobody looks at.
    """
    create_all(state, manifests_for(state.name, profile, seed, index))
    if settle:
        controllers.settle(state, record_events=profile != "large")

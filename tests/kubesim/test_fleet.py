"""Fleets: several clusters, their kubeconfigs, and determinism by seed."""

from __future__ import annotations

import yaml
from kubernetes_asyncio import client

from kubesim.fleet import Fleet, start_fleet

from .conftest import api_client


def _inventory(fleet: Fleet, name: str) -> list[tuple[str, str, str, str]]:
    """Every object but Events, whose names carry the time they were recorded, as in Kubernetes."""
    state = fleet.cluster(name).state
    return [(rt.kind, o["metadata"].get("namespace", ""), o["metadata"]["name"], o["metadata"]["uid"])
            for rt in state.resources.all() if rt.storage and rt.kind != "Event" for o in state.scan(rt)]


async def test_same_seed_same_fleet_and_separate_clusters() -> None:
    async with start_fleet(2, profile="small", seed=11, controllers=False) as first:
        one = {name: _inventory(first, name) for name in ("cluster-0", "cluster-1")}
        assert first.ports["cluster-0"] != first.ports["cluster-1"]
        config = yaml.safe_load(first.kubeconfigs["cluster-1"].read_text())
        assert config["clusters"][0]["cluster"]["server"] == first.server_url("cluster-1")
        assert config["users"][0]["user"]["token"] == first.cluster("cluster-1").token
        async with await api_client(first, "cluster-1") as api:
            names = {n.metadata.name for n in (await client.CoreV1Api(api).list_namespace()).items}
        assert "kube-system" in names
    async with start_fleet(2, profile="small", seed=11, controllers=False) as second:
        two = {name: _inventory(second, name) for name in ("cluster-0", "cluster-1")}
    assert one == two and len(one["cluster-0"]) > 20
    assert one["cluster-0"] != one["cluster-1"]

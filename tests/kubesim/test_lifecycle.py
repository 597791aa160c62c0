"""Cluster lifecycle through the control API: create, node pools, version changes, eviction and
disruption budgets, cordoned nodes, delete; and a control-only `python -m kubesim`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim.fleet import Fleet, start_fleet

from .conftest import deployment, http, pod

POOL = "kubesim.io/node-pool"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fleet() -> AsyncIterator[Fleet]:
    """No clusters at start, controllers on, simulated time 20x so pods start quickly."""
    async with start_fleet(0, profile=None, seed=3, control=True, speed=20.0) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bare() -> AsyncIterator[Fleet]:
    """One cluster without controllers: budgets are never processed and pods stay where they are put."""
    async with start_fleet(1, profile=None, seed=4, controllers=False) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def control(fleet: Fleet) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{fleet.control_port}", timeout=60) as opened:
        yield opened


async def create(control: httpx.AsyncClient, name: str, pools: list[dict[str, Any]],
                 version: str = "1.30.2", profile: str | None = None) -> dict[str, Any]:
    response = await control.post("/clusters", json={"name": name, "version": version, "nodePools": pools,
                                                     "profile": profile})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def api_from(kubeconfig: str) -> client.ApiClient:
    configuration = client.Configuration()
    await config.load_kube_config_from_dict(yaml.safe_load(kubeconfig), client_configuration=configuration)
    return client.ApiClient(configuration)


async def until(check: Callable[[], Awaitable[Any]], what: str, attempts: int = 600) -> Any:
    for _ in range(attempts):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def pods_of(core: client.CoreV1Api, app: str) -> list[Any]:
    return list((await core.list_namespaced_pod("default", label_selector=f"app={app}")).items)


def raw_body(obj: dict[str, Any]) -> Any:
    """kubernetes-asyncio sends a plain dict as it is, in place of its model classes."""
    return obj


def ready(item: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in item.status.conditions or [])


async def all_ready(core: client.CoreV1Api, app: str, count: int) -> list[Any]:
    async def check() -> list[Any]:
        found = await pods_of(core, app)
        return found if len(found) == count and all(ready(p) for p in found) else []

    return list(await until(check, f"{count} ready pods of {app}"))


async def test_create_serves_a_cluster_with_its_node_pools(control: httpx.AsyncClient, fleet: Fleet) -> None:
    pools = [{"name": "pool-a", "count": 3, "instanceType": "m5.large", "labels": {"team": "web"}},
             {"name": "gpu", "count": 1, "instanceType": "r5.2xlarge",
              "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]}]
    reply = await create(control, "prod-1", pools)
    assert reply["name"] == "prod-1" and reply["version"] == "1.30.2"
    kubeconfig = yaml.safe_load(reply["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == reply["server"] == fleet.server_url("prod-1")
    async with await api_from(reply["kubeconfig"]) as api:
        core = client.CoreV1Api(api)
        nodes = (await core.list_node(label_selector=f"{POOL}=pool-a")).items
        assert [n.metadata.name for n in nodes] == ["prod-1-pool-a-0", "prod-1-pool-a-1", "prod-1-pool-a-2"]
        for node in nodes:
            labels = node.metadata.labels
            assert labels["node.kubernetes.io/instance-type"] == "m5.large" and labels["team"] == "web"
            assert labels["kubernetes.io/hostname"] == node.metadata.name
            assert ready(node) and node.status.node_info.kubelet_version == "v1.30.2"
            assert node.status.capacity["cpu"] == "2" and node.status.allocatable["pods"] == "110"
        [gpu] = (await core.list_node(label_selector=f"{POOL}=gpu")).items
        assert gpu.spec.taints[0].key == "gpu" and gpu.spec.taints[0].effect == "NoSchedule"
        version = await client.VersionApi(api).get_code()
        assert (version.git_version, version.major, version.minor) == ("v1.30.2", "1", "30")
    listed = {c["name"]: c for c in (await control.get("/clusters")).json()["clusters"]}
    assert listed["prod-1"]["version"] == "1.30.2"
    assert {p["name"]: p["count"] for p in listed["prod-1"]["nodePools"]} == {"gpu": 1, "pool-a": 3}
    again = await control.post("/clusters", json={"name": "prod-1", "version": "1.30.2", "nodePools": []})
    assert again.status_code == 409
    assert again.json()["kind"] == "Status" and again.json()["reason"] == "AlreadyExists"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "Bad_Name", "version": "1.30.2"}, "name"),
    ({"name": "ok", "version": "1.30"}, "version"),
    ({"name": "ok", "version": "1.30.2", "nodePools": [{"name": "a", "count": -1}]}, "nodePools[0].count"),
    ({"name": "ok", "version": "1.30.2", "nodePools": [{"name": "a", "count": 1, "taints": [{"key": "x"}]}]},
     "nodePools[0].taints[0].effect"),
    ({"name": "ok", "version": "1.30.2", "profile": "huge"}, "profile"),
])
async def test_bad_bodies_are_refused(control: httpx.AsyncClient, body: dict[str, Any], field: str) -> None:
    response = await control.post("/clusters", json=body)
    assert response.status_code == 422
    status = response.json()
    assert status["reason"] == "Invalid" and field in [c["field"] for c in status["details"]["causes"]]
    assert "ok" not in [c["name"] for c in (await control.get("/clusters")).json()["clusters"]]


async def test_scaling_pools_moves_pods_to_remaining_nodes(control: httpx.AsyncClient) -> None:
    reply = await create(control, "scale-1", [{"name": "pool-a", "count": 3}])
    async with await api_from(reply["kubeconfig"]) as api:
        core = client.CoreV1Api(api)
        await client.AppsV1Api(api).create_namespaced_deployment("default", raw_body(deployment("web", replicas=6)))
        before = await all_ready(core, "web", 6)
        assert {p.spec.node_name for p in before} == {f"scale-1-pool-a-{i}" for i in range(3)}
        down = await control.post("/clusters/scale-1/node-pools/pool-a/scale", json={"count": 1})
        assert down.json()["nodes"] == ["scale-1-pool-a-0"]
        after = await all_ready(core, "web", 6)
        assert {p.spec.node_name for p in after} == {"scale-1-pool-a-0"}
        moved = {p.metadata.name for p in before if p.spec.node_name != "scale-1-pool-a-0"}
        assert moved and not moved & {p.metadata.name for p in after}
        added = await control.post("/clusters/scale-1/node-pools/burst/scale", json={"count": 2})
        assert added.json()["nodes"] == ["scale-1-burst-0", "scale-1-burst-1"]
        up = await control.post("/clusters/scale-1/node-pools/pool-a/scale", json={"count": 2})
        assert up.json()["nodes"] == ["scale-1-pool-a-0", "scale-1-pool-a-1"]
        names = [n.metadata.name for n in (await core.list_node()).items]
        assert sorted(names) == ["scale-1-burst-0", "scale-1-burst-1", "scale-1-pool-a-0", "scale-1-pool-a-1"]
    bad = await control.post("/clusters/scale-1/node-pools/pool-a/scale", json={"count": -2})
    assert bad.status_code == 422
    missing = await control.post("/clusters/nope/node-pools/pool-a/scale", json={"count": 1})
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"


async def test_version_change_reaches_api_server_and_kubelets(control: httpx.AsyncClient, fleet: Fleet) -> None:
    await create(control, "upgrade-1", [{"name": "pool-a", "count": 2}])
    async with http(fleet, "upgrade-1") as raw:
        listed = (await raw.get("/api/v1/nodes")).json()
        rv = listed["metadata"]["resourceVersion"]
        async with raw.stream("GET", "/api/v1/nodes", params={"watch": "1", "resourceVersion": rv}) as stream:
            changed = await control.post("/clusters/upgrade-1/version", json={"version": "1.31.0"})
            assert changed.status_code == 200 and changed.json()["version"] == "1.31.0"
            seen: dict[str, str] = {}
            lines = stream.aiter_lines()
            while len(seen) < 2 or set(seen.values()) != {"v1.31.0"}:
                event = json.loads(await asyncio.wait_for(anext(lines), 10))
                assert event["type"] == "MODIFIED"
                seen[event["object"]["metadata"]["name"]] = event["object"]["status"]["nodeInfo"]["kubeletVersion"]
        assert seen == {"upgrade-1-pool-a-0": "v1.31.0", "upgrade-1-pool-a-1": "v1.31.0"}
        version = (await raw.get("/version")).json()
        assert (version["gitVersion"], version["minor"]) == ("v1.31.0", "31")
    added = await control.post("/clusters/upgrade-1/node-pools/pool-b/scale", json={"count": 1})
    async with http(fleet, "upgrade-1") as raw:
        node = (await raw.get(f"/api/v1/nodes/{added.json()['nodes'][0]}")).json()
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.31.0"
    assert (await control.post("/clusters/upgrade-1/version", json={"version": "latest"})).status_code == 422
    listed_versions = {c["name"]: c["version"] for c in (await control.get("/clusters")).json()["clusters"]}
    assert listed_versions["upgrade-1"] == "1.31.0"


async def budget(policy: client.PolicyV1Api, name: str, app: str, **spec: Any) -> Any:
    body = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": app}}, **spec}}
    await policy.create_namespaced_pod_disruption_budget("default", raw_body(body))

    async def processed() -> Any:
        found = await policy.read_namespaced_pod_disruption_budget(name, "default")
        status = found.status
        return found if status and status.observed_generation == 1 and status.current_healthy == \
            status.expected_pods else None

    return await until(processed, f"the disruption controller to process {name}")


def eviction(name: str) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}}


async def test_eviction_honours_disruption_budgets(control: httpx.AsyncClient) -> None:
    reply = await create(control, "evict-1", [{"name": "pool-a", "count": 2}])
    async with await api_from(reply["kubeconfig"]) as api:
        core, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
        apps = client.AppsV1Api(api)
        await apps.create_namespaced_deployment("default", raw_body(deployment("loose", replicas=2)))
        await apps.create_namespaced_deployment("default", raw_body(deployment("tight", replicas=2)))
        loose, tight = await all_ready(core, "loose", 2), await all_ready(core, "tight", 2)
        allowing = await budget(policy, "loose", "loose", maxUnavailable=1)
        assert (allowing.status.disruptions_allowed, allowing.status.desired_healthy) == (1, 1)
        blocking = await budget(policy, "tight", "tight", minAvailable="100%")
        assert (blocking.status.disruptions_allowed, blocking.status.desired_healthy) == (0, 2)
        victim = loose[0].metadata.name
        await core.create_namespaced_pod_eviction(victim, "default", raw_body(eviction(victim)))
        assert victim not in {p.metadata.name for p in await pods_of(core, "loose")}
        protected = tight[0].metadata.name
        with pytest.raises(ApiException) as refused:
            await core.create_namespaced_pod_eviction(protected, "default", raw_body(eviction(protected)))
        status = json.loads(refused.value.body or b"{}")
        assert refused.value.status == 429 and status["reason"] == "TooManyRequests"
        assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
        assert status["details"]["causes"] == [{
            "reason": "DisruptionBudget",
            "message": "The disruption budget tight needs 2 healthy pods and has 2 currently"}]
        assert protected in {p.metadata.name for p in await pods_of(core, "tight")}


async def test_eviction_waits_for_an_unprocessed_budget(bare: Fleet) -> None:
    """Without a disruption controller the budget is never observed, so a running pod it covers stays."""
    async with http(bare) as raw:
        await _unprocessed_budget(raw)


async def _unprocessed_budget(raw: httpx.AsyncClient) -> None:
    await raw.post("/api/v1/namespaces/default/pods", json=pod("guarded", labels={"app": "guarded"}, node="n1"))
    running = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    current = (await raw.get("/api/v1/namespaces/default/pods/guarded")).json()
    await raw.put("/api/v1/namespaces/default/pods/guarded/status", json={**current, "status": running})
    await raw.post("/apis/policy/v1/namespaces/default/poddisruptionbudgets", json={
        "metadata": {"name": "guarded"}, "spec": {"minAvailable": 0, "selector": {"matchLabels": {"app": "guarded"}}}})
    refused = await raw.post("/api/v1/namespaces/default/pods/guarded/eviction", json=eviction("guarded"))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
    assert refused.json()["details"]["causes"][0]["message"] == \
        "The disruption budget guarded is still being processed by the server."
    await raw.post("/api/v1/namespaces/default/pods", json=pod("waiting", labels={"app": "guarded"}))
    pending = await raw.post("/api/v1/namespaces/default/pods/waiting/eviction", json=eviction("waiting"))
    assert pending.status_code == 201
    assert (await raw.get("/api/v1/namespaces/default/pods/waiting")).status_code == 404
    mismatch = await raw.post("/api/v1/namespaces/default/pods/guarded/eviction", json=eviction("other"))
    assert mismatch.status_code == 400
    invalid = await raw.post("/apis/policy/v1/namespaces/default/poddisruptionbudgets", json={
        "metadata": {"name": "both"}, "spec": {"minAvailable": 1, "maxUnavailable": "150%"}})
    assert invalid.status_code == 422
    assert [c["field"] for c in invalid.json()["details"]["causes"]] == ["spec", "spec.maxUnavailable"]
    await raw.delete("/apis/policy/v1/namespaces/default/poddisruptionbudgets/guarded")
    await raw.delete("/api/v1/namespaces/default/pods/guarded")


async def test_scheduler_skips_cordoned_nodes(control: httpx.AsyncClient) -> None:
    reply = await create(control, "cordon-1", [{"name": "pool-a", "count": 3}])
    async with await api_from(reply["kubeconfig"]) as api:
        core = client.CoreV1Api(api)
        for name in ("cordon-1-pool-a-0", "cordon-1-pool-a-1"):
            await core.patch_node(name, {"spec": {"unschedulable": True}})
        await client.AppsV1Api(api).create_namespaced_deployment("default", raw_body(deployment("spread", replicas=4)))
        placed = await all_ready(core, "spread", 4)
        assert {p.spec.node_name for p in placed} == {"cordon-1-pool-a-2"}
        await core.patch_node("cordon-1-pool-a-2", {"spec": {"unschedulable": True}})
        await core.create_namespaced_pod("default", raw_body(pod("stuck", labels={"app": "stuck"})))

        async def unschedulable() -> Any:
            found = await core.read_namespaced_pod("stuck", "default")
            return [c for c in found.status.conditions or [] if c.type == "PodScheduled" and c.status == "False"]

        [condition] = await until(unschedulable, "the scheduler to give up on the stuck pod")
        assert condition.reason == "Unschedulable" and "3 node(s) were unschedulable" in condition.message
        assert (await core.read_namespaced_pod("stuck", "default")).spec.node_name is None


async def test_delete_stops_the_cluster(control: httpx.AsyncClient, fleet: Fleet) -> None:
    reply = await create(control, "gone-1", [{"name": "pool-a", "count": 1}], profile="small")
    async with http(fleet, "gone-1") as raw:
        nodes = (await raw.get("/api/v1/nodes")).json()["items"]
        assert [n["metadata"]["name"] for n in nodes] == ["gone-1-pool-a-0"]
        running = (await raw.get("/api/v1/namespaces/shop/pods")).json()["items"]
        assert running and {p["spec"].get("nodeName") for p in running} == {"gone-1-pool-a-0"}
    kubeconfig = fleet.kubeconfigs["gone-1"]
    deleted = await control.delete("/clusters/gone-1")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": True}
    async with httpx.AsyncClient(base_url=reply["server"]) as raw:
        with pytest.raises(httpx.ConnectError):
            await raw.get("/version")
    assert "gone-1" not in [c["name"] for c in (await control.get("/clusters")).json()["clusters"]]
    assert not kubeconfig.exists()
    assert (await control.delete("/clusters/gone-1")).status_code == 404
    assert (await control.post("/clusters/gone-1/version", json={"version": "1.31.0"})).status_code == 404


async def test_control_only_process(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kubesim", "--clusters", "0", "--control", "--kubeconfig-out", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("control\t"):
            lines.append((await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip())
            assert lines[-1], "kubesim exited before serving its control API"
        async with httpx.AsyncClient(base_url=lines[-1].split("\t")[1]) as control:
            assert (await control.get("/clusters")).json() == {"clusters": []}
            reply = await create(control, "late-1", [{"name": "pool-a", "count": 1}])
            async with httpx.AsyncClient(base_url=reply["server"]) as raw:
                token = yaml.safe_load(reply["kubeconfig"])["users"][0]["user"]["token"]
                answer = await raw.get("/api/v1/nodes", headers={"Authorization": f"Bearer {token}"})
                assert [n["metadata"]["name"] for n in answer.json()["items"]] == ["late-1-pool-a-0"]
    finally:
        process.terminate()
        await process.wait()

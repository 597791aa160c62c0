from __future__ import annotations

import asyncio
from datetime import timedelta

from kubesim import controllers
from kubesim.store import ClusterState
from tests.kubesim_controllers.conftest import make_deployment, owned_by, rt, settle


def _service(state: ClusterState, name: str, selector: dict) -> None:
    state.create(rt(state, "", "services"), {"metadata": {"name": name, "namespace": "shop"},
                                             "spec": {"selector": selector,
                                                      "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})


def test_service_endpoints_and_slices_follow_ready_pods(state: ClusterState) -> None:
    state.create(rt(state, "apps", "deployments"), make_deployment("web", replicas=2))
    _service(state, "web", {"app": "web"})
    settle(state)
    pods = state.list(rt(state, "", "pods"), "shop")
    endpoints = state.get(rt(state, "", "endpoints"), "shop", "web")
    [subset] = endpoints["subsets"]
    assert sorted(a["ip"] for a in subset["addresses"]) == sorted(p["status"]["podIP"] for p in pods)
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert {a["targetRef"]["name"] for a in subset["addresses"]} == {p["metadata"]["name"] for p in pods}
    [eps] = state.list(rt(state, "discovery.k8s.io", "endpointslices"), "shop")
    assert eps["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    assert eps["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert eps["addressType"] == "IPv4" and len(eps["endpoints"]) == 2
    assert all(e["conditions"] == {"ready": True, "serving": True, "terminating": False} for e in eps["endpoints"])
    assert eps["metadata"]["ownerReferences"][0]["kind"] == "Service"

    pod = state.get(rt(state, "", "pods"), "shop", pods[0]["metadata"]["name"])
    pod["status"]["conditions"] = [dict(c, status="False") if c["type"] == "Ready" else c
                                   for c in pod["status"]["conditions"]]
    state.update(rt(state, "", "pods"), pod, subresource="status")
    settle(state)
    [subset] = state.get(rt(state, "", "endpoints"), "shop", "web")["subsets"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == [pod["status"]["podIP"]]
    assert len(subset["addresses"]) == 1


def test_background_foreground_and_orphan_deletion(state: ClusterState) -> None:
    deployments = rt(state, "apps", "deployments")
    for name in ("bg", "fg", "orphan"):
        state.create(deployments, make_deployment(name, replicas=2))
    settle(state)
    orphan_rs = owned_by(state, "apps", "replicasets", state.get(deployments, "shop", "orphan"))[0]

    state.delete(deployments, "shop", "bg")
    fg = state.delete(deployments, "shop", "fg", propagation="Foreground")
    assert "foregroundDeletion" in fg["metadata"]["finalizers"]
    state.delete(deployments, "shop", "orphan", propagation="Orphan")
    settle(state)

    names = {d["metadata"]["name"] for d in state.list(deployments, "shop")}
    assert names == set()
    pods = state.list(rt(state, "", "pods"), "shop")
    assert {p["metadata"]["labels"]["app"] for p in pods} == {"orphan"}
    kept = state.get(rt(state, "apps", "replicasets"), "shop", orphan_rs["metadata"]["name"])
    assert kept is not None and not kept["metadata"].get("ownerReferences")
    assert [r["metadata"]["name"] for r in state.list(rt(state, "apps", "replicasets"), "shop")] == [
        orphan_rs["metadata"]["name"]]


def test_namespace_deletion_cascades(state: ClusterState) -> None:
    state.create(rt(state, "apps", "deployments"), make_deployment("web"))
    state.create(rt(state, "", "configmaps"), {"metadata": {"name": "cfg", "namespace": "shop"}, "data": {}})
    settle(state)
    gone = state.delete(rt(state, "", "namespaces"), None, "shop")
    assert gone["status"]["phase"] == "Terminating"
    settle(state)
    assert state.get(rt(state, "", "namespaces"), None, "shop") is None
    for group, plural in (("", "pods"), ("apps", "replicasets"), ("", "configmaps"), ("apps", "deployments")):
        assert state.list(rt(state, group, plural), "shop") == []


def test_events_record_controller_actions(state: ClusterState) -> None:
    state.create(rt(state, "apps", "deployments"), make_deployment("web", replicas=1))
    settle(state)
    events = state.list(rt(state, "", "events"), "shop")
    by_reason = {(e["involvedObject"]["kind"], e["reason"]) for e in events}
    assert {("Deployment", "ScalingReplicaSet"), ("ReplicaSet", "SuccessfulCreate"), ("Pod", "Scheduled"),
            ("Pod", "Pulled"), ("Pod", "Created"), ("Pod", "Started")} <= by_reason
    scaling = next(e for e in events if e["reason"] == "ScalingReplicaSet")
    assert scaling["message"].startswith("Scaled up replica set web-") and scaling["message"].endswith("to 1 from 0")
    assert scaling["source"]["component"] == "deployment-controller" and scaling["count"] == 1


def test_node_status_is_reported(state: ClusterState) -> None:
    node = state.get(rt(state, "", "nodes"), None, "node-0")
    status = node["status"]
    assert status["capacity"]["cpu"] == "4" and status["allocatable"]["cpu"] == "3920m"
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False", "Ready": "True"}
    assert status["nodeInfo"]["kubeletVersion"].startswith("v1.")
    assert node["spec"]["podCIDR"].startswith("10.244.")


def test_unschedulable_pod_stays_pending_with_reason(state: ClusterState) -> None:
    state.create(rt(state, "apps", "deployments"), make_deployment("huge", replicas=1, cpu="64"))
    settle(state)
    [pod] = state.list(rt(state, "", "pods"), "shop")
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    scheduled = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert scheduled["status"] == "False" and scheduled["reason"] == "Unschedulable"
    assert "3 Insufficient cpu" in scheduled["message"]
    assert any(e["reason"] == "FailedScheduling" for e in state.list(rt(state, "", "events"), "shop"))


def test_resource_quota_usage(state: ClusterState) -> None:
    state.create(rt(state, "", "resourcequotas"), {"metadata": {"name": "q", "namespace": "shop"}, "spec": {
        "hard": {"pods": "10", "requests.cpu": "4", "requests.memory": "1Gi", "limits.memory": "2Gi",
                 "configmaps": "5", "count/deployments.apps": "3"}}})
    state.create(rt(state, "apps", "deployments"), make_deployment("web", replicas=3))
    settle(state)
    status = state.get(rt(state, "", "resourcequotas"), "shop", "q")["status"]
    assert status["used"] == {"pods": "3", "requests.cpu": "300m", "requests.memory": "192Mi",
                              "limits.memory": "384Mi", "configmaps": "0", "count/deployments.apps": "1"}
    assert status["hard"]["pods"] == "10"


def test_cronjob_fires_on_schedule_and_manual_trigger_is_tracked(state: ClusterState) -> None:
    template = make_deployment("report", image="busybox:1.36")["spec"]["template"]
    template["spec"]["restartPolicy"] = "Never"
    cronjobs = rt(state, "batch", "cronjobs")
    cj = state.create(cronjobs, {"metadata": {"name": "report", "namespace": "shop"},
                                 "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}})
    settle(state)
    assert owned_by(state, "batch", "jobs", cj) == []
    state.clock.advance(timedelta(minutes=5).total_seconds())
    settle(state)
    [job] = owned_by(state, "batch", "jobs", cj)
    scheduled = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert scheduled.endswith(":05:00Z")
    assert job["metadata"]["name"].startswith("report-")
    assert state.get(rt(state, "batch", "jobs"), "shop", job["metadata"]["name"])["status"]["succeeded"] == 1
    status = state.get(cronjobs, "shop", "report")["status"]
    assert status["lastScheduleTime"] == scheduled and status["lastSuccessfulTime"]

    manual = {"metadata": {"name": "report-manual", "namespace": "shop", "ownerReferences": [{
        "apiVersion": "batch/v1", "kind": "CronJob", "name": "report", "uid": cj["metadata"]["uid"],
        "controller": True}], "annotations": {"cronjob.kubernetes.io/instantiate": "manual"}},
        "spec": {"template": template}}
    state.create(rt(state, "batch", "jobs"), manual)
    settle(state)
    assert state.get(rt(state, "batch", "jobs"), "shop", "report-manual")["status"]["succeeded"] == 1
    assert len(owned_by(state, "batch", "jobs", cj)) == 2


async def test_pods_become_ready_over_time_with_running_controllers(state: ClusterState) -> None:
    state.clock.speed = 50.0
    manager = controllers.start(state)
    try:
        body = make_deployment("slow", replicas=2)
        body["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
            "httpGet": {"path": "/", "port": "http"}, "initialDelaySeconds": 10, "periodSeconds": 10}
        state.create(rt(state, "apps", "deployments"), body)
        await _until(lambda: len(state.list(rt(state, "", "pods"), "shop")) == 2)
        pods = state.list(rt(state, "", "pods"), "shop")
        waiting = [p for p in pods if p["status"].get("phase") == "Pending"]
        assert waiting, "pods should not start instantly"
        await _until(lambda: _phases(state) == {"Running"})
        assert state.get(rt(state, "apps", "deployments"), "shop", "slow")["status"].get("readyReplicas") is None
        await _until(lambda: (state.get(rt(state, "apps", "deployments"), "shop", "slow")["status"]
                              .get("readyReplicas")) == 2)
    finally:
        await manager.stop()
    assert manager.errors == 0


def _phases(state: ClusterState) -> set[str]:
    return {p["status"].get("phase") for p in state.list(rt(state, "", "pods"), "shop")}


async def _until(check, limit: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def test_recreated_deployment_adopts_its_orphans(state: ClusterState) -> None:
    deployments = rt(state, "apps", "deployments")
    state.create(deployments, make_deployment("web", replicas=2))
    settle(state)
    pods_before = sorted(p["metadata"]["name"] for p in state.list(rt(state, "", "pods"), "shop"))
    state.delete(deployments, "shop", "web", propagation="Orphan")
    settle(state)
    deploy = state.create(deployments, make_deployment("web", replicas=2))
    settle(state)
    [rs] = state.list(rt(state, "apps", "replicasets"), "shop")
    assert rs["metadata"]["ownerReferences"][0]["uid"] == deploy["metadata"]["uid"]
    assert sorted(p["metadata"]["name"] for p in state.list(rt(state, "", "pods"), "shop")) == pods_before
    assert state.get(deployments, "shop", "web")["status"]["availableReplicas"] == 2


def test_namespace_deletion_removes_custom_resources(state: ClusterState) -> None:
    crd = {"metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    state.create(rt(state, "apiextensions.k8s.io", "customresourcedefinitions"), crd)
    widgets = state.resources.get("example.com", "v1", "widgets")
    assert widgets is not None
    state.create(widgets, {"metadata": {"name": "w1", "namespace": "shop"}, "spec": {"size": 1}})
    state.delete(rt(state, "", "namespaces"), None, "shop")
    settle(state)
    assert state.get(rt(state, "", "namespaces"), None, "shop") is None
    assert state.list(widgets) == []


def test_pods_of_a_deleted_node_are_rescheduled_elsewhere(state: ClusterState) -> None:
    state.create(rt(state, "apps", "deployments"), make_deployment("web", replicas=6))
    settle(state)
    doomed = [p["metadata"]["name"] for p in state.list(rt(state, "", "pods"), "shop")
              if p["spec"]["nodeName"] == "node-1"]
    assert doomed
    state.delete(rt(state, "", "nodes"), None, "node-1")
    settle(state)
    pods = state.list(rt(state, "", "pods"), "shop")
    assert len(pods) == 6 and not {p["metadata"]["name"] for p in pods} & set(doomed)
    assert {p["spec"]["nodeName"] for p in pods} == {"node-0", "node-2"}

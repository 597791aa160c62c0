from __future__ import annotations

from kubesim import controllers, metrics
from kubesim.controllers.manager import ControllerManager
from kubesim.store import ClusterState
from tests.kubesim_controllers.conftest import make_deployment, rt, settle


def test_hpa_reports_utilization_and_enforces_bounds(state: ClusterState) -> None:
    state.create(rt(state, "apps", "deployments"), make_deployment("web", replicas=1))
    state.create(rt(state, "autoscaling", "horizontalpodautoscalers"), {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 2, "maxReplicas": 5,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 70}}}]}})
    settle(state)
    assert state.get(rt(state, "apps", "deployments"), "shop", "web")["spec"]["replicas"] == 2
    status = state.get(rt(state, "autoscaling", "horizontalpodautoscalers"), "shop", "web")["status"]
    assert status["currentReplicas"] == status["desiredReplicas"] == 2
    [metric] = status["currentMetrics"]
    assert 0 < metric["resource"]["current"]["averageUtilization"] <= 100
    assert {c["type"]: c["status"] for c in status["conditions"]}["ScalingActive"] == "True"
    assert any(e["reason"] == "SuccessfulRescale" for e in state.list(rt(state, "", "events"), "shop"))


def test_job_ttl_after_finished(state: ClusterState) -> None:
    template = make_deployment("once", image="busybox:1.36")["spec"]["template"]
    template["spec"]["restartPolicy"] = "Never"
    jobs = rt(state, "batch", "jobs")
    state.create(jobs, {"metadata": {"name": "once", "namespace": "shop"},
                        "spec": {"ttlSecondsAfterFinished": 60, "template": template}})
    settle(state)
    assert state.get(jobs, "shop", "once")["status"]["succeeded"] == 1
    state.clock.advance(61)
    settle(state)
    assert state.get(jobs, "shop", "once") is None
    assert state.list(rt(state, "", "pods"), "shop") == []


def test_claim_deletion_reclaims_volumes(state: ClusterState) -> None:
    classes, claims, volumes = (rt(state, "storage.k8s.io", "storageclasses"),
                                rt(state, "", "persistentvolumeclaims"), rt(state, "", "persistentvolumes"))
    state.create(classes, {"metadata": {"name": "fast"}, "provisioner": "ebs.csi.aws.com",
                           "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
    state.create(volumes, {"metadata": {"name": "static"}, "spec": {
        "capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "slow",
        "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": "/mnt/static"}}})
    for name, cls, size in (("dynamic", "fast", "1Gi"), ("manual", "slow", "5Gi")):
        state.create(claims, {"metadata": {"name": name, "namespace": "shop"}, "spec": {
            "storageClassName": cls, "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}})
    settle(state)
    dynamic = state.get(claims, "shop", "dynamic")
    assert dynamic["status"]["phase"] == "Bound" and dynamic["spec"]["volumeName"].startswith("pvc-")
    assert state.get(claims, "shop", "manual")["spec"]["volumeName"] == "static"
    provisioned = dynamic["spec"]["volumeName"]
    state.delete(claims, "shop", "dynamic")
    state.delete(claims, "shop", "manual")
    settle(state)
    assert state.get(volumes, None, provisioned) is None
    assert state.get(volumes, None, "static")["status"]["phase"] == "Released"


def test_dangling_owner_reference_is_collected(state: ClusterState) -> None:
    configmaps = rt(state, "", "configmaps")
    missing = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gone",
               "uid": "00000000-dead-beef-0000-000000000000"}
    state.create(configmaps, {"metadata": {"name": "leftover", "namespace": "shop", "ownerReferences": [missing]}})
    state.create(configmaps, {"metadata": {"name": "free", "namespace": "shop"}})
    settle(state)
    assert [c["metadata"]["name"] for c in state.list(configmaps, "shop")] == ["free"]


def test_events_expire_after_an_hour(state: ClusterState) -> None:
    manager = ControllerManager(state, controllers.all_controllers())
    manager.settle()
    state.create(rt(state, "apps", "deployments"), make_deployment("web", replicas=1))
    manager.settle()
    assert state.list(rt(state, "", "events"), "shop")
    state.clock.advance(3601)
    manager.tick()
    assert state.list(rt(state, "", "events"), "shop") == []
    manager.detach()


def test_pending_pods_have_no_usage(state: ClusterState) -> None:
    state.create(rt(state, "apps", "deployments"), make_deployment("huge", replicas=1, cpu="64"))
    settle(state)
    [pod] = state.list(rt(state, "", "pods"), "shop")
    assert metrics.pod_metrics(state, pod)["containers"] == []


def _drain(manager: ControllerManager) -> None:
    while manager.process_one():
        pass


def test_crash_looping_container_restarts_with_back_off(state: ClusterState) -> None:
    body = make_deployment("flaky", replicas=1)
    body["spec"]["template"]["metadata"]["annotations"] = {"kubesim.io/crash-loop": "true",
                                                           "kubesim.io/run-seconds": "20"}
    state.create(rt(state, "apps", "deployments"), body)
    manager = ControllerManager(state, controllers.all_controllers())
    manager.settle()
    pods = rt(state, "", "pods")
    [pod] = state.list(pods, "shop")
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    name = pod["metadata"]["name"]

    state.clock.advance(21)
    manager.tick()
    _drain(manager)
    entry = state.get(pods, "shop", name)["status"]["containerStatuses"][0]
    assert entry["state"]["waiting"]["reason"] == "CrashLoopBackOff" and entry["restartCount"] == 1
    assert entry["lastState"]["terminated"]["exitCode"] == 1 and entry["ready"] is False
    assert state.get(rt(state, "apps", "deployments"), "shop", "flaky")["status"].get("readyReplicas") is None

    state.clock.advance(11)
    manager.tick()
    _drain(manager)
    pod = state.get(pods, "shop", name)
    entry = pod["status"]["containerStatuses"][0]
    assert "running" in entry["state"] and entry["restartCount"] == 1 and pod["status"]["phase"] == "Running"
    assert any(e["reason"] == "BackOff" and e["type"] == "Warning" for e in state.list(rt(state, "", "events"), "shop"))
    manager.detach()


def test_failing_job_stops_at_its_back_off_limit(state: ClusterState) -> None:
    template = make_deployment("bad", image="busybox:1.36")["spec"]["template"]
    template["spec"]["restartPolicy"] = "Never"
    template["metadata"]["annotations"] = {"kubesim.io/fail": "true"}
    jobs = rt(state, "batch", "jobs")
    state.create(jobs, {"metadata": {"name": "bad", "namespace": "shop"},
                        "spec": {"backoffLimit": 2, "template": template}})
    settle(state)
    job = state.get(jobs, "shop", "bad")
    assert job["status"]["failed"] == 3 and "succeeded" not in job["status"]
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert failed["status"] == "True" and failed["reason"] == "BackoffLimitExceeded"
    assert "completionTime" not in job["status"]

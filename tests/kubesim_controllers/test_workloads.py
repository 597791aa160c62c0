from __future__ import annotations

import copy

from kubesim.controllers.util import template_hash
from kubesim.store import ClusterState
from tests.kubesim_controllers.conftest import make_deployment, owned_by, rt, settle


def _ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def test_deployment_creates_hashed_replicaset_and_ready_pods(state: ClusterState) -> None:
    deploy = state.create(rt(state, "apps", "deployments"), make_deployment("web"))
    settle(state)
    [rs] = owned_by(state, "apps", "replicasets", deploy)
    digest = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{digest}"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": digest}
    pods = owned_by(state, "", "pods", rs)
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["name"].startswith(f"web-{digest}-")
        assert pod["status"]["phase"] == "Running" and _ready(pod)
        assert pod["status"]["podIP"].startswith("10.244.") and pod["status"]["hostIP"].startswith("172.18.")
        assert pod["status"]["containerStatuses"][0]["started"] is True
    status = state.get(rt(state, "apps", "deployments"), "shop", "web")["status"]
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"], status["availableReplicas"]) == (
        3, 3, 3, 3)
    assert status["observedGeneration"] == 1
    reasons = {c["type"]: c["reason"] for c in status["conditions"]}
    assert reasons == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}


def _update_template(state: ClusterState, name: str, change) -> None:
    deployments = rt(state, "apps", "deployments")
    current = state.get(deployments, "shop", name)
    change(current)
    state.update(deployments, current)
    settle(state)


def test_rollout_history_rollback_and_restart(state: ClusterState) -> None:
    deployments = rt(state, "apps", "deployments")
    deploy = state.create(deployments, make_deployment("api", replicas=2, image="api:1"))
    settle(state)
    _update_template(state, "api", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="api:2"))
    by_revision = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
                   for rs in owned_by(state, "apps", "replicasets", deploy)}
    assert set(by_revision) == {"1", "2"}
    assert by_revision["1"]["spec"]["replicas"] == 0 and by_revision["2"]["spec"]["replicas"] == 2
    assert state.get(deployments, "shop", "api")["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    images = {p["spec"]["containers"][0]["image"] for p in owned_by(state, "", "pods", by_revision["2"])}
    assert images == {"api:2"}

    # kubectl rollout undo --to-revision=1: copy the old ReplicaSet's template without its hash label
    old_template = copy.deepcopy(by_revision["1"]["spec"]["template"])
    del old_template["metadata"]["labels"]["pod-template-hash"]
    _update_template(state, "api", lambda d: d["spec"].update(template=old_template))
    rolled = state.get(rt(state, "apps", "replicasets"), "shop", by_revision["1"]["metadata"]["name"])
    assert rolled["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert rolled["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert rolled["spec"]["replicas"] == 2
    assert len(owned_by(state, "apps", "replicasets", deploy)) == 2

    _update_template(state, "api", lambda d: d["spec"]["template"]["metadata"].setdefault("annotations", {}).update(
        {"kubectl.kubernetes.io/restartedAt": "2026-03-01T12:00:00Z"}))
    revisions = sorted(int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
                       for rs in owned_by(state, "apps", "replicasets", deploy))
    assert revisions == [2, 3, 4]
    status = state.get(deployments, "shop", "api")["status"]
    assert status["updatedReplicas"] == 2 and status["replicas"] == 2 and status["observedGeneration"] == 4


def test_scaling_down_removes_pods_and_template_hash_is_stable(state: ClusterState) -> None:
    deployments = rt(state, "apps", "deployments")
    deploy = state.create(deployments, make_deployment("web", replicas=4))
    settle(state)
    current = state.get(deployments, "shop", "web")
    current["spec"]["replicas"] = 1
    state.update(deployments, current)
    settle(state)
    [rs] = owned_by(state, "apps", "replicasets", deploy)
    assert len(owned_by(state, "", "pods", rs)) == 1
    stored = state.get(deployments, "shop", "web")["spec"]["template"]
    assert rs["metadata"]["labels"]["pod-template-hash"] == template_hash(stored)


def test_statefulset_ordinals_and_claims(state: ClusterState) -> None:
    state.create(rt(state, "storage.k8s.io", "storageclasses"), {
        "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "ebs.csi.aws.com", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"})
    body = make_deployment("db", replicas=3, image="postgres:16")
    body["spec"]["serviceName"] = "db"
    body["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}}]
    sts = state.create(rt(state, "apps", "statefulsets"), body)
    settle(state)
    pods = {p["metadata"]["name"]: p for p in owned_by(state, "", "pods", sts)}
    assert sorted(pods) == ["db-0", "db-1", "db-2"]
    assert pods["db-1"]["spec"]["hostname"] == "db-1" and pods["db-1"]["spec"]["subdomain"] == "db"
    assert pods["db-2"]["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "2"
    claims = {c["metadata"]["name"]: c for c in state.list(rt(state, "", "persistentvolumeclaims"), "shop")}
    assert sorted(claims) == ["data-db-0", "data-db-1", "data-db-2"]
    assert all(c["status"]["phase"] == "Bound" and c["spec"]["storageClassName"] == "gp3" for c in claims.values())
    volume = state.get(rt(state, "", "persistentvolumes"), None, claims["data-db-0"]["spec"]["volumeName"])
    assert volume["status"]["phase"] == "Bound" and volume["spec"]["claimRef"]["name"] == "data-db-0"
    status = state.get(rt(state, "apps", "statefulsets"), "shop", "db")["status"]
    assert status["readyReplicas"] == 3 and status["currentRevision"] == status["updateRevision"]
    assert status["updateRevision"] == pods["db-0"]["metadata"]["labels"]["controller-revision-hash"]

    current = state.get(rt(state, "apps", "statefulsets"), "shop", "db")
    current["spec"]["replicas"] = 1
    state.update(rt(state, "apps", "statefulsets"), current)
    settle(state)
    assert [p["metadata"]["name"] for p in owned_by(state, "", "pods", sts)] == ["db-0"]
    assert len(state.list(rt(state, "", "persistentvolumeclaims"), "shop")) == 3  # claims are retained


def test_daemonset_runs_one_pinned_pod_per_node(state: ClusterState) -> None:
    body = make_deployment("agent", image="fluent-bit:3")
    del body["spec"]["replicas"]
    ds = state.create(rt(state, "apps", "daemonsets"), body)
    settle(state)
    pods = owned_by(state, "", "pods", ds)
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node-0", "node-1", "node-2"]
    status = state.get(rt(state, "apps", "daemonsets"), "shop", "agent")["status"]
    assert status["desiredNumberScheduled"] == status["numberReady"] == status["updatedNumberScheduled"] == 3
    state.create(rt(state, "", "nodes"), {"metadata": {"name": "node-3"}})
    settle(state)
    assert len(owned_by(state, "", "pods", ds)) == 4


def test_job_runs_to_completion(state: ClusterState) -> None:
    template = make_deployment("batch", image="busybox:1.36")["spec"]["template"]
    template["spec"]["restartPolicy"] = "Never"
    job = state.create(rt(state, "batch", "jobs"), {"metadata": {"name": "export", "namespace": "shop"},
                                                      "spec": {"completions": 3, "parallelism": 2,
                                                               "template": template}})
    settle(state)
    done = state.get(rt(state, "batch", "jobs"), "shop", "export")
    assert done["status"]["succeeded"] == 3 and "active" not in done["status"]
    assert done["status"]["completionTime"]
    assert {c["type"] for c in done["status"]["conditions"]} >= {"Complete", "SuccessCriteriaMet"}
    pods = owned_by(state, "", "pods", job)
    assert len(pods) == 3 and {p["status"]["phase"] for p in pods} == {"Succeeded"}
    assert all(p["metadata"]["labels"]["job-name"] == "export" for p in pods)
    terminated = pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["reason"] == "Completed" and terminated["exitCode"] == 0

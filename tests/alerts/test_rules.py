"""The built-in rules and the cluster state that keeps them current, on objects written by kubesim's
controllers (fed to the alerts as kubesim's watch delivers them) and on hand-made edge cases."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.alerts import RULES, ClusterState, Condition, ObjectRef, cluster_condition, conditions, quantity, rule_set
from app.alerts.state import node_allocatable, pod_requests
from app.errors import BadUserInput
from app.topology.model import node_id
from kubesim import controllers, profiles
from kubesim.clock import Clock
from kubesim.resources import ResourceType
from kubesim.store import ClusterState as Kube

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
NOW = START
VERSIONS = {"apps": "v1", "batch": "v1"}
Obj = dict[str, Any]


# -- a kubesim cluster whose watch events feed the alerts --------------------------------------------

class Cluster:
    def __init__(self, nodes: int = 2) -> None:
        self.kube = Kube("alerts", Clock(speed=1.0, start=START))
        self.alerts = ClusterState()
        self.appeared: list[Condition] = []
        self.disappeared: list[Condition] = []
        self.kube.add_listener(self._event)
        for name in ("default", "shop"):
            self.kube.create(self.rt("", "namespaces"), {"metadata": {"name": name}})
        for i in range(nodes):
            self.kube.create(self.rt("", "nodes"), {"metadata": {"name": f"node-{i}"}})
        self.settle()

    def _event(self, event_type: str, rt: ResourceType, obj: Obj) -> None:
        change = self.alerts.apply(event_type, rt.kind, obj, self.kube.clock.now())
        self.appeared += change.appeared
        self.disappeared += change.disappeared

    def rt(self, group: str, plural: str) -> ResourceType:
        found = self.kube.resources.get(group, VERSIONS.get(group, "v1"), plural)
        assert found is not None
        return found

    def settle(self, seconds: float = 0, steps: int = 1) -> None:
        for _ in range(steps):
            self.kube.clock.advance(seconds)
            controllers.settle(self.kube)

    def active(self, rule: str) -> list[Condition]:
        return sorted((c for c in self.alerts.active().values() if c.rule == rule), key=lambda c: c.ref.name)


def deployment(name: str, replicas: int = 2, cpu: str = "100m", annotations: dict[str, str] | None = None) -> Obj:
    labels = {"app": name}
    container = {"name": "main", "image": "nginx:1.27",
                 "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}
    template: Obj = {"metadata": {"labels": labels}, "spec": {"containers": [container]}}
    if annotations:
        template["metadata"]["annotations"] = annotations
    return {"metadata": {"name": name, "namespace": "shop"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template}}


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    yield Cluster()


# -- PodCrashLooping --------------------------------------------------------------------------------

def test_a_crash_looping_pod_holds_through_its_restarts_and_clears_when_deleted(cluster: Cluster) -> None:
    cluster.kube.create(cluster.rt("apps", "deployments"),
                        deployment("web", replicas=1, annotations={"kubesim.io/crash-loop": "true"}))
    cluster.settle()
    assert cluster.active("PodCrashLooping") == []
    seen_running_between_crashes = False
    for _ in range(8):
        cluster.settle(20)
        pod = cluster.kube.list(cluster.rt("", "pods"), "shop")[0]
        state = pod["status"]["containerStatuses"][0]
        if pod["status"]["containerStatuses"][0]["restartCount"] > 0:
            [looping] = cluster.active("PodCrashLooping")
            assert looping.labels["container"] == "main"
            assert looping.value == state["restartCount"]
            seen_running_between_crashes |= "running" in state["state"]
    assert seen_running_between_crashes, "kubesim should have restarted the container at least once"
    assert state["restartCount"] >= 2
    crash_fingerprints = {c.fingerprint for c in cluster.appeared if c.rule == "PodCrashLooping"}
    assert len(crash_fingerprints) == 1, "the condition must not flap while the container is restarted"
    assert not [c for c in cluster.disappeared if c.rule == "PodCrashLooping"]

    cluster.kube.delete(cluster.rt("apps", "deployments"), "shop", "web")
    cluster.settle()
    assert cluster.active("PodCrashLooping") == []
    assert {c.fingerprint for c in cluster.disappeared if c.rule == "PodCrashLooping"} == crash_fingerprints


def running_pod(name: str = "api-1", ns: str = "shop", restarts: int = 0, finished: datetime | None = None,
                ready: bool = True, phase: str = "Running", owner: tuple[str, str] | None = None,
                cpu: str = "250m", memory: str = "256Mi") -> Obj:
    entry: Obj = {"name": "main", "ready": ready, "restartCount": restarts,
                  "state": {"running": {"startedAt": "2026-03-01T11:00:00Z"}}, "lastState": {}}
    if finished is not None:
        entry["lastState"] = {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                             "finishedAt": finished.strftime("%Y-%m-%dT%H:%M:%SZ")}}
    meta: Obj = {"name": name, "namespace": ns, "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": owner[0], "name": owner[1], "uid": "x",
                                    "controller": True}]
    return {"metadata": meta,
            "spec": {"nodeName": "node-0", "containers": [
                {"name": "main", "image": "api:1", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [entry]}}


def test_a_restart_keeps_crash_looping_for_five_minutes_then_the_state_rechecks_it() -> None:
    state = ClusterState()
    finished = NOW - timedelta(minutes=2)
    change = state.apply("ADDED", "Pod", running_pod(restarts=4, finished=finished), NOW)
    [condition] = change.appeared
    assert (condition.rule, condition.value, condition.annotations["reason"]) == ("PodCrashLooping", 4.0, "OOMKilled")
    assert state.next_check() == finished + timedelta(minutes=5)
    assert not state.recheck(finished + timedelta(minutes=5) - timedelta(seconds=1))
    change = state.recheck(finished + timedelta(minutes=5))
    assert change.disappeared_fingerprints == (condition.fingerprint,)
    assert state.next_check() is None and state.active() == {}


def test_only_the_latest_recheck_of_an_object_counts() -> None:
    state = ClusterState()
    for restart in range(1, 1001):
        finished = NOW + timedelta(seconds=restart)
        state.apply("MODIFIED", "Pod", running_pod(restarts=restart, finished=finished), finished)
    last = NOW + timedelta(seconds=1000) + timedelta(minutes=5)
    assert state.next_check() == last
    assert not state.recheck(last - timedelta(seconds=1)), "the earlier restarts' moments are stale"
    assert len(state._queue) <= 2 * 1 + 64 + 1, "stale moments do not pile up"
    assert [c.rule for c in state.recheck(last).disappeared] == ["PodCrashLooping"]


def test_an_old_restart_or_a_finished_pod_is_not_crash_looping() -> None:
    old = running_pod(restarts=3, finished=NOW - timedelta(minutes=30))
    assert conditions("Pod", old, NOW) == []
    done = running_pod(restarts=3, finished=NOW - timedelta(seconds=10), phase="Succeeded")
    done["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
    assert conditions("Pod", done, NOW) == []


# -- PodNotReady, DeploymentReplicasMismatch, ClusterRequestsOverCapacity -----------------------------------

def test_unschedulable_pods_are_not_ready_and_over_capacity(cluster: Cluster) -> None:
    cluster.kube.create(cluster.rt("apps", "deployments"), deployment("huge", replicas=2, cpu="6"))
    cluster.settle()
    not_ready = cluster.active("PodNotReady")
    assert len(not_ready) == 2
    assert {c.annotations["phase"] for c in not_ready} == {"Pending"}
    assert {c.annotations["reason"] for c in not_ready} == {"Unschedulable"}
    [mismatch] = cluster.active("DeploymentReplicasMismatch")
    assert mismatch.ref == ObjectRef("Deployment", "shop", "huge")
    assert mismatch.annotations == {"desired": "2", "available": "0"}
    [over] = cluster.active("ClusterRequestsOverCapacity")
    requested, allocatable = cluster.alerts.totals()["cpu"]
    assert requested == 12_000 and allocatable == sum(
        node_allocatable(n)[0] for n in cluster.kube.list(cluster.rt("", "nodes")))
    assert over.labels["resource"] == "cpu" and over.value == pytest.approx(requested / allocatable)
    assert over.ref.topology_node_id == "Cluster//cluster"

    cluster.kube.delete(cluster.rt("apps", "deployments"), "shop", "huge")
    cluster.settle()
    assert cluster.alerts.active() == {}
    assert cluster.alerts.totals()["cpu"][0] == 0


def test_a_running_pod_without_readiness_is_not_ready_but_a_ready_one_is_fine() -> None:
    assert [c.rule for c in conditions("Pod", running_pod(ready=False), NOW)] == ["PodNotReady"]
    assert conditions("Pod", running_pod(ready=True), NOW) == []
    assert conditions("Pod", running_pod(ready=False, phase="Succeeded"), NOW) == []
    unknown = running_pod(phase="Unknown")
    assert [c.annotations["phase"] for c in conditions("Pod", unknown, NOW)] == ["Unknown"]


def test_pods_of_a_finished_job_are_left_alone_and_come_back_if_it_restarts() -> None:
    state = ClusterState()
    pods = [running_pod(f"batch-{i}", ready=False, owner=("Job", "batch")) for i in range(3)]
    other = running_pod("other-0", ready=False, owner=("Job", "other"))
    for pod in [*pods, other]:
        state.apply("ADDED", "Pod", pod, NOW)
    assert len(state.active()) == 4
    job: Obj = {"metadata": {"name": "batch", "namespace": "shop"}, "status": {}}
    assert not state.apply("ADDED", "Job", job, NOW)
    complete = {**job, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    before = state.evaluations
    change = state.apply("MODIFIED", "Job", complete, NOW)
    assert sorted(c.ref.name for c in change.disappeared) == ["batch-0", "batch-1", "batch-2"]
    assert state.evaluations - before == 4, "the job and its own three pods, nothing else"
    assert [c.ref.name for c in state.active().values()] == ["other-0"]
    assert not state.apply("MODIFIED", "Pod", pods[0], NOW), "a pod of a finished job stays quiet"
    change = state.apply("MODIFIED", "Job", job, NOW)
    assert sorted(c.ref.name for c in change.appeared) == ["batch-0", "batch-1", "batch-2"]


def test_a_paused_or_matching_deployment_raises_nothing() -> None:
    spec: Obj = {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 3},
                 "status": {"availableReplicas": 1}}
    [mismatch] = conditions("Deployment", spec, NOW)
    assert mismatch.value == 1.0
    assert RULES["DeploymentReplicasMismatch"].describe(mismatch) == \
        "Deployment shop/web has 1 of 3 replicas available."
    assert conditions("Deployment", {**spec, "spec": {"replicas": 3, "paused": True}}, NOW) == []
    assert conditions("Deployment", {**spec, "status": {"availableReplicas": 3}}, NOW) == []
    no_replicas = {"metadata": spec["metadata"], "spec": {}, "status": {"availableReplicas": 1}}
    assert conditions("Deployment", no_replicas, NOW) == [], "spec.replicas defaults to 1"


# -- JobFailed ------------------------------------------------------------------------------------

def test_a_job_past_its_backoff_limit_fails(cluster: Cluster) -> None:
    template = deployment("once")["spec"]["template"]
    template["metadata"]["annotations"] = {"kubesim.io/fail": "true", "kubesim.io/run-seconds": "1"}
    template["spec"]["restartPolicy"] = "Never"
    cluster.kube.create(cluster.rt("batch", "jobs"), {"metadata": {"name": "once", "namespace": "shop"},
                                                      "spec": {"backoffLimit": 0, "template": template}})
    cluster.settle(5, steps=4)
    job = cluster.kube.get(cluster.rt("batch", "jobs"), "shop", "once")
    assert job is not None and any(c["type"] == "Failed" for c in job["status"]["conditions"])
    [failed] = cluster.active("JobFailed")
    assert failed.annotations["reason"] == "BackoffLimitExceeded" and failed.value == 1.0
    assert cluster.active("PodNotReady") == [], "its pod failed: not a readiness problem"
    cluster.kube.delete(cluster.rt("batch", "jobs"), "shop", "once")
    cluster.settle()
    assert cluster.active("JobFailed") == []


# -- NodeNotReady ---------------------------------------------------------------------------------

def test_a_node_that_stops_being_ready(cluster: Cluster) -> None:
    node = cluster.kube.get(cluster.rt("", "nodes"), None, "node-1")
    assert node is not None and cluster.active("NodeNotReady") == []
    sick = {**node, "status": {**node["status"], "conditions": [
        {**c, "status": "Unknown", "reason": "NodeStatusUnknown"} if c["type"] == "Ready" else c
        for c in node["status"]["conditions"]]}}
    change = cluster.alerts.apply("MODIFIED", "Node", sick, NOW)
    [condition] = change.appeared
    assert condition.ref == ObjectRef("Node", None, "node-1") and "namespace" not in condition.labels
    assert condition.annotations == {"ready": "Unknown", "reason": "NodeStatusUnknown"}
    assert condition.ref.topology_node_id == node_id("Node", None, "node-1")
    assert cluster.alerts.apply("MODIFIED", "Node", node, NOW).disappeared == (condition,)


# -- ClusterDisconnected --------------------------------------------------------------------------

def test_only_a_disconnected_cluster_raises_cluster_disconnected() -> None:
    assert cluster_condition("connected") is None and cluster_condition("degraded") is None
    condition = cluster_condition("disconnected")
    assert condition is not None and condition.ref == ObjectRef("Cluster", None, "cluster")
    assert condition.labels == {"alertname": "ClusterDisconnected", "severity": "critical", "kind": "Cluster",
                                "name": "cluster"}
    state = ClusterState()
    assert state.connection("disconnected").appeared == (condition,)
    assert not state.connection("disconnected")
    assert list(state.active()) == [condition.fingerprint]
    assert state.connection("degraded").disappeared == (condition,)
    assert state.active() == {}


# -- QuotaAlmostFull ------------------------------------------------------------------------------

def test_a_quota_above_ninety_percent(cluster: Cluster) -> None:
    cluster.kube.create(cluster.rt("", "resourcequotas"), {
        "metadata": {"name": "compute", "namespace": "shop"},
        "spec": {"hard": {"pods": "2", "requests.cpu": "2", "requests.memory": "1Gi"}}})
    cluster.kube.create(cluster.rt("apps", "deployments"), deployment("web", replicas=2))
    cluster.settle()
    quota = cluster.kube.get(cluster.rt("", "resourcequotas"), "shop", "compute")
    assert quota is not None and quota["status"]["used"]["pods"] == "2"
    [full] = cluster.active("QuotaAlmostFull")
    assert full.labels["resource"] == "pods" and full.value == 1.0
    assert RULES["QuotaAlmostFull"].describe(full) == "Quota shop/compute uses 2 of 2 pods (100 %)."


def test_quota_ratios_per_resource() -> None:
    quota = {"metadata": {"name": "q", "namespace": "shop"}, "status": {
        "hard": {"requests.cpu": "4", "requests.memory": "10Gi", "count/jobs.batch": "0", "pods": "bad"},
        "used": {"requests.cpu": "3700m", "requests.memory": "9Gi", "count/jobs.batch": "3", "pods": "1"}}}
    found = {c.labels["resource"]: c.value for c in conditions("ResourceQuota", quota, NOW)}
    assert found == {"requests.cpu": pytest.approx(0.925)}, "9Gi of 10Gi is 90 %, not above; hard 0 is skipped"


# -- TLSSecretExpiring ----------------------------------------------------------------------------

def certificate(not_after: datetime, chain: bool = False) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example.com")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_after - timedelta(days=90))
            .not_valid_after(not_after).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    if chain:
        pem += certificate_pem(not_after + timedelta(days=3650))
    return base64.b64encode(pem).decode()


def certificate_pem(not_after: datetime) -> bytes:
    return base64.b64decode(certificate(not_after))


def tls_secret(crt: str | None, type_: str = "kubernetes.io/tls") -> Obj:
    data = {"tls.key": "c2VjcmV0"} if crt is None else {"tls.crt": crt, "tls.key": "c2VjcmV0"}
    return {"metadata": {"name": "shop-tls", "namespace": "shop"}, "type": type_, "data": data}


def test_a_certificate_expiring_within_fourteen_days() -> None:
    expires = (NOW + timedelta(days=10, hours=12)).replace(microsecond=0)
    [condition] = conditions("Secret", tls_secret(certificate(expires, chain=True)), NOW)
    assert condition.value == pytest.approx(10.5)
    assert condition.annotations["not_after"] == expires.isoformat().replace("+00:00", "Z")
    assert "tls.crt" not in str(condition.labels) and "c2VjcmV0" not in str(condition.annotations)
    expired = conditions("Secret", tls_secret(certificate(NOW - timedelta(days=2))), NOW)
    assert [c.value for c in expired] == [pytest.approx(-2.0)]


def test_a_certificate_enters_the_window_on_time() -> None:
    expires = (NOW + timedelta(days=30)).replace(microsecond=0)
    state = ClusterState()
    assert not state.apply("ADDED", "Secret", tls_secret(certificate(expires)), NOW)
    assert state.next_check() == expires - timedelta(days=14)
    assert not state.recheck(expires - timedelta(days=14, seconds=1))
    change = state.recheck(expires - timedelta(days=14))
    assert [c.value for c in change.appeared] == [pytest.approx(14.0)]
    assert state.next_check() is None


def test_unreadable_or_other_secrets_raise_nothing() -> None:
    kubesim_placeholder = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    soon = certificate(NOW + timedelta(days=1))
    for secret in (tls_secret(kubesim_placeholder.decode()), tls_secret("not base64!"), tls_secret(None),
                   tls_secret(soon, type_="Opaque"), {"metadata": {"name": "x", "namespace": "shop"}}):
        assert conditions("Secret", secret, NOW) == []


# -- the model -------------------------------------------------------------------------------------

def test_labels_and_fingerprints() -> None:
    [condition] = conditions("Pod", running_pod(ready=False), NOW)
    assert condition.labels == {"alertname": "PodNotReady", "severity": "warning", "kind": "Pod",
                                "namespace": "shop", "name": "api-1"}
    assert len(condition.fingerprint) == 16 and int(condition.fingerprint, 16) >= 0
    reordered = Condition(condition.rule, condition.ref, dict(reversed(list(condition.labels.items()))))
    assert reordered.fingerprint == condition.fingerprint
    [elsewhere] = conditions("Pod", running_pod(ready=False, ns="web"), NOW)
    assert elsewhere.fingerprint != condition.fingerprint
    [pending] = conditions("Pod", running_pod(phase="Pending"), NOW)
    assert pending.fingerprint == condition.fingerprint, "the phase is an annotation, not an identity"
    assert condition.labels_in("cls_1") == {**condition.labels, "cluster_id": "cls_1"}
    assert condition.ref.topology_node_id == node_id("Pod", "shop", "api-1") == "Pod/shop/api-1"


def test_every_rule_explains_itself() -> None:
    for code, rule in RULES.items():
        assert rule.code == code and rule.severity in ("critical", "warning", "info")
        assert rule.runbook.count(". ") >= 2, f"{code}: a runbook of a few sentences"
        assert rule.for_seconds >= 0 and rule.name


def test_rule_set_overrides_for_and_refuses_unknown_rules() -> None:
    rules = rule_set({"PodCrashLooping": 1, "NodeNotReady": 0})
    assert rules["PodCrashLooping"].for_seconds == 1 and rules["NodeNotReady"].for_seconds == 0
    assert rules["PodNotReady"] == RULES["PodNotReady"] and RULES["PodCrashLooping"].for_seconds == 900
    with pytest.raises(BadUserInput) as caught:
        rule_set({"NoSuchRule": 1, "PodNotReady": -5})
    assert [d["field"] for d in caught.value.details] == ["forOverrides.NoSuchRule", "forOverrides.PodNotReady"]


@pytest.mark.parametrize(("text", "expected"), [
    ("250m", "0.25"), ("1.5", "1.5"), ("512Mi", str(512 * 2**20)), ("1Gi", str(2**30)), ("2k", "2000"),
    ("1e3", "1000"), ("1E", str(10**18)), ("100n", "1.00E-7"), (".5", "0.5"), (4, "4"), ("+1Ki", "1024"),
])
def test_quantities(text: str | int, expected: str) -> None:
    assert quantity(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "5 Mi", "1Mb", None, True])
def test_unreadable_quantities(text: Any) -> None:
    assert quantity(text) is None


def test_pod_requests_follow_the_scheduler() -> None:
    pod = running_pod(cpu="200m", memory="100Mi")
    pod["spec"]["containers"].append({"name": "side", "resources": {"requests": {"cpu": "300m"}}})
    pod["spec"]["initContainers"] = [
        {"name": "migrate", "resources": {"requests": {"cpu": "2", "memory": "10Mi"}}},
        {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m", "memory": "1Mi"}}}]
    pod["spec"]["overhead"] = {"cpu": "10m"}
    assert pod_requests(pod) == (2000 + 10, 101 * 2**20)
    assert pod_requests({**pod, "status": {"phase": "Succeeded"}}) == (0, 0)


# -- the cluster state --------------------------------------------------------------------------------

def nodes(count: int, cpu: str = "4", memory: str = "16Gi") -> list[Obj]:
    return [{"metadata": {"name": f"node-{i}"}, "status": {"allocatable": {"cpu": cpu, "memory": memory},
                                                            "conditions": [{"type": "Ready", "status": "True"}]}}
            for i in range(count)]


def test_capacity_waits_for_nodes_and_follows_them() -> None:
    state = ClusterState()
    for i in range(5):
        assert not state.apply("ADDED", "Pod", running_pod(f"p{i}", cpu="1"), NOW), "no node seen yet"
    [node] = nodes(1)
    [over] = state.apply("ADDED", "Node", node, NOW).appeared
    assert over.labels["resource"] == "cpu" and over.value == 1.25
    change = state.apply("ADDED", "Pod", running_pod("p5", cpu="1"), NOW)
    assert [c.value for c in change.updated] == [1.5] and not change.appeared
    assert state.apply("ADDED", "Node", nodes(2)[1], NOW).disappeared_fingerprints == (over.fingerprint,)


def test_a_modified_or_deleted_object_reports_what_cleared() -> None:
    state = ClusterState()
    sick = running_pod(ready=False, restarts=2, finished=NOW - timedelta(seconds=30))
    assert sorted(c.rule for c in state.apply("ADDED", "Pod", sick, NOW).appeared) == [
        "PodCrashLooping", "PodNotReady"]
    change = state.apply("MODIFIED", "Pod", running_pod(ready=True, restarts=2, finished=NOW - timedelta(seconds=30)),
                         NOW)
    assert [c.rule for c in change.disappeared] == ["PodNotReady"] and not change.appeared
    assert [c.rule for c in state.apply("DELETED", "Pod", sick, NOW).disappeared] == ["PodCrashLooping"]
    assert state.active() == {} and state.next_check() is None
    assert not state.apply("DELETED", "Pod", sick, NOW), "deleting twice changes nothing"
    assert not state.apply("ADDED", "ConfigMap", {"metadata": {"name": "c", "namespace": "shop"}}, NOW)
    assert not state.apply("BOOKMARK", "Pod", {"metadata": {"resourceVersion": "9"}}, NOW)


def test_a_relist_deletes_what_is_gone_and_recomputes_totals() -> None:
    state = ClusterState()
    state.reset("Node", nodes(1, cpu="1"), NOW)
    for i in range(4):
        state.apply("ADDED", "Pod", running_pod(f"p{i}", ready=i % 2 == 0, cpu="500m"), NOW)
    assert len(state.active()) == 3  # p1, p3 not ready; cpu over capacity
    change = state.reset("Pod", [running_pod("p0", cpu="500m"), running_pod("p3", ready=True, cpu="500m")], NOW)
    assert sorted(c.ref.name for c in change.disappeared) == ["cluster", "p1", "p3"]
    assert state.active() == {}
    assert state.totals()["cpu"] == (1000, 1000)


def synthetic_cluster(pods: int) -> ClusterState:
    state = ClusterState()
    state.reset("Node", nodes(max(1, pods // 100)), NOW)
    state.reset("Pod", (running_pod(f"p{i:05d}", ns=f"ns-{i % 20}", ready=i % 50 != 0) for i in range(pods)), NOW)
    return state


@pytest.mark.parametrize("size", [100, 5000])
def test_the_work_per_event_does_not_grow_with_the_cluster(size: int) -> None:
    state = synthetic_cluster(size)
    rng = random.Random(size)
    for _ in range(200):
        i = rng.randrange(size)
        pod = running_pod(f"p{i:05d}", ns=f"ns-{i % 20}", ready=rng.random() < 0.5)
        before = state.evaluations
        state.apply(rng.choice(["MODIFIED", "DELETED", "ADDED"]), "Pod", pod, NOW)
        assert state.evaluations - before <= 1, "an event evaluates its own object, nothing else"
    before = state.evaluations
    state.apply("MODIFIED", "Node", nodes(1, cpu="1")[0], NOW)
    assert state.evaluations - before == 1


def test_incremental_totals_equal_a_fresh_count() -> None:
    state = synthetic_cluster(300)
    rng = random.Random(7)
    live: dict[str, Obj] = {f"p{i:05d}": running_pod(f"p{i:05d}", ns=f"ns-{i % 20}") for i in range(300)}
    for step in range(2000):
        name = f"p{rng.randrange(400):05d}"
        if rng.random() < 0.3 and name in live:
            state.apply("DELETED", "Pod", live.pop(name), NOW)
            continue
        phase = rng.choice(["Pending", "Running", "Succeeded", "Failed"])
        pod = running_pod(name, ns=live[name]["metadata"]["namespace"] if name in live else "ns-x", phase=phase,
                          cpu=rng.choice(["100m", "1", "1500m", "0.3"]), memory=rng.choice(["64Mi", "1G", "0"]))
        state.apply("MODIFIED" if name in live else "ADDED", "Pod", pod, NOW + timedelta(seconds=step))
        live[name] = pod
    fresh = ClusterState()
    fresh.reset("Node", nodes(3), NOW)
    fresh.reset("Pod", live.values(), NOW)
    assert state.totals()["cpu"][0] == fresh.totals()["cpu"][0]
    assert state.totals()["memory"][0] == fresh.totals()["memory"][0]
    assert sorted(state.active()) == sorted(fresh.active())


KINDS = {"Node": ("", "nodes"), "Job": ("batch", "jobs"), "Pod": ("", "pods"), "Deployment": ("apps", "deployments"),
         "ResourceQuota": ("", "resourcequotas"), "Secret": ("", "secrets")}


def test_watch_fed_state_equals_a_fresh_list_of_a_profile_cluster() -> None:
    """kubesim's small profile, fed event by event while its controllers settle it, ends where a fresh
    re-list of the settled cluster starts: healthy, with every condition raised on the way cleared."""
    cluster = Cluster(nodes=0)
    profiles.load_profile(cluster.kube, "small", 7, 0)
    cluster.settle(60, steps=3)
    fresh = ClusterState()
    for kind, (group, plural) in KINDS.items():
        fresh.reset(kind, cluster.kube.list(cluster.rt(group, plural)), cluster.kube.clock.now())
    assert cluster.alerts.totals() == fresh.totals()
    assert fresh.totals()["cpu"][0] > 0 and fresh.totals()["cpu"][1] > 0
    assert sorted(cluster.alerts.active()) == sorted(fresh.active())
    assert {c.rule for c in cluster.appeared} >= {"PodNotReady", "DeploymentReplicasMismatch"}, \
        "settling a new cluster raises conditions on the way"
    assert fresh.active() == {}, "a settled, healthy cluster raises nothing: no false alarms"
    assert sorted(c.fingerprint for c in cluster.disappeared) == sorted(c.fingerprint for c in cluster.appeared)

"""The built-in alert rules and what a rule holding for an object looks like (a Condition).

The rules are modelled on kube-prometheus' kubernetes-mixin, but read the objects of the watch-fed
cache instead of kube-state-metrics series. `evaluate(kind, obj, now)` answers for one object: the
conditions of every per-object rule that holds for it right now, and the moment its answer may
change without a new watch event (a restart leaving the crash-loop window, a certificate entering
the expiry window). The cluster-wide rules (requests over capacity, the connection) need totals or
outside facts and live in `app.alerts.state`.

A Condition's labels identify it within its cluster: `alertname`, `severity`, `kind`, `namespace`
(namespaced kinds only), `name` and the rule's own labels (`container`, `resource`). Its
`fingerprint` hashes them. The cluster is not among them: the runtime adds the `cluster_id` label
(`labels_in`) and keys stored alerts on (cluster_id, fingerprint). Facts that change while the
condition keeps holding (a phase, a reason, a count) are annotations and never change the
fingerprint, so an alert is not restarted because its pod went from Pending to Running-not-ready.

Objects are plain decoded JSON; a field of an unexpected shape reads as absent, never as an error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from typing import Any

from cryptography import x509

from app.errors import FieldErrors
from app.topology.model import node_id

Obj = Mapping[str, Any]
Labels = Mapping[str, str]

RESTART_WINDOW = timedelta(minutes=5)  # kube-prometheus: max_over_time(...[5m]) / increase(...[5m])
EXPIRY_WINDOW = timedelta(days=14)
QUOTA_RATIO = 0.9
CLUSTER_REF_NAME = "cluster"


@dataclass(frozen=True)
class ObjectRef:
    """What an alert is about: a Kubernetes object, or the cluster itself (kind "Cluster")."""

    kind: str
    namespace: str | None
    name: str

    @property
    def topology_node_id(self) -> str:
        return node_id(self.kind, self.namespace, self.name)


CLUSTER_REF = ObjectRef("Cluster", None, CLUSTER_REF_NAME)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str  # "critical" | "warning" | "info"
    for_seconds: int
    summary: str  # a str.format template over the condition's labels and annotations
    runbook: str
    kinds: tuple[str, ...]  # the Kubernetes kinds whose events can change it

    def describe(self, condition: Condition) -> str:
        """The summary filled in from the condition; a placeholder without a value stays visible."""
        return self.summary.format_map(_Missing({**condition.annotations, **condition.labels}))


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Condition:
    """A rule holding for an object right now."""

    rule: str
    ref: ObjectRef
    labels: Labels = field(hash=False)
    value: float | None = None
    annotations: Labels = field(default_factory=dict, hash=False)

    @cached_property
    def fingerprint(self) -> str:
        """Stable across processes and label order: sha256 over the rule and the sorted labels."""
        digest = hashlib.sha256(self.rule.encode())
        for key in sorted(self.labels):
            digest.update(b"\xff" + key.encode() + b"\xfe" + self.labels[key].encode())
        return digest.hexdigest()[:16]

    def labels_in(self, cluster_id: str) -> dict[str, str]:
        """The labels silences and inhibition rules match: these plus `cluster_id`."""
        return {**self.labels, "cluster_id": cluster_id}


# -- the rule set ---------------------------------------------------------------------------------

_BUILT_IN = (
    Rule("PodCrashLooping", "pod crash-looping", "critical", 15 * 60,
         "Container {container} of pod {namespace}/{name} is crash-looping ({restarts} restarts, last: {reason}).",
         "The container keeps exiting and the kubelet keeps restarting it with a growing back-off. "
         "Read why it exited: `kubectl -n NAMESPACE logs POD -c CONTAINER --previous` and the `Last State` "
         "in `kubectl -n NAMESPACE describe pod POD` (exit code 137 with OOMKilled means the memory limit "
         "is too low; exit code 1 is usually the application refusing its configuration). Fix the image, "
         "its configuration, the Secret or ConfigMap it reads, or its resources, then roll the workload out "
         "again.", ("Pod",)),
    Rule("PodNotReady", "pod not ready", "warning", 15 * 60,
         "Pod {namespace}/{name} has not been ready for a while (phase {phase}, {reason}).",
         "The pod is Pending or Unknown, or runs without passing its readiness probe, so Services send it "
         "no traffic. Check `kubectl -n NAMESPACE describe pod POD`: the Events say whether it cannot be "
         "scheduled (not enough CPU or memory, taints, node selectors, an unbound volume), cannot pull its "
         "image, or fails its readiness probe. Free or add capacity, fix the image reference or pull "
         "Secret, or fix the probe or the dependency it waits for. A pod of an Unknown phase sits on a "
         "node that stopped reporting: look at that node first.", ("Pod", "Job")),
    Rule("DeploymentReplicasMismatch", "deployment replicas mismatch", "warning", 15 * 60,
         "Deployment {namespace}/{name} has {available} of {desired} replicas available.",
         "The deployment has not had the number of available replicas it asks for for a while. Look at "
         "`kubectl -n NAMESPACE rollout status deployment NAME` and at its newest ReplicaSet's pods: they "
         "are usually not ready (see PodNotReady), crash-looping, or cannot be scheduled. A quota that is "
         "full also stops new pods (the ReplicaSet's events say so). Fix the cause, or roll back with "
         "`kubectl -n NAMESPACE rollout undo deployment NAME`.", ("Deployment",)),
    Rule("JobFailed", "job failed", "warning", 0,
         "Job {namespace}/{name} failed: {reason}.",
         "The job gave up: its pods failed more often than its backoffLimit allows, or it ran past its "
         "activeDeadlineSeconds. Read the logs of its failed pods (`kubectl -n NAMESPACE logs "
         "job/NAME`) and their exit codes in `kubectl -n NAMESPACE describe job NAME`. Once the cause is "
         "fixed, delete the job and create it again (or let its CronJob run the next one); delete it to "
         "clear the alert.", ("Job",)),
    Rule("NodeNotReady", "node not ready", "warning", 15 * 60,
         "Node {name} is not ready (Ready={ready}, {reason}).",
         "The node's kubelet reports that it is not ready, or has stopped reporting (Unknown). Its pods are "
         "evicted after the eviction timeout and nothing new is scheduled on it. Check `kubectl describe "
         "node NAME` (conditions and events: memory, disk or PID pressure, the network plugin), then the "
         "machine itself: is it running, and is the kubelet and the container runtime up (`systemctl "
         "status kubelet containerd`)? Drain and replace a node that does not come back.", ("Node",)),
    Rule("ClusterDisconnected", "cluster disconnected", "critical", 0,
         "The cluster's API server cannot be reached.",
         "Fleetgraph cannot reach the cluster's API server, so its state, metrics and alerts are stale. "
         "Every other alert of the cluster is held back until it is reachable again. Check that the API "
         "server is up and reachable from the control plane's network (`kubectl --kubeconfig FILE get "
         "--raw /readyz`), that its certificate and the kubeconfig's credentials are still valid, and "
         "that no firewall or load balancer in between has changed.", ()),
    Rule("QuotaAlmostFull", "quota almost full", "warning", 15 * 60,
         "Quota {namespace}/{name} uses {used} of {hard} {resource} ({percent} %).",
         "A ResourceQuota of the namespace is above 90 % of its limit for one resource. Once it is full, "
         "creating pods (or the counted objects) in the namespace fails with `exceeded quota`, and "
         "deployments stop scaling up or rolling out. See what uses it with `kubectl -n NAMESPACE describe "
         "resourcequota NAME`, then lower the requests, remove what is no longer needed, or raise the "
         "quota.", ("ResourceQuota",)),
    Rule("ClusterRequestsOverCapacity", "requests over capacity", "warning", 5 * 60,
         "The pods of the cluster request more {resource} than its nodes can give ({percent} % of "
         "allocatable).",
         "The running and pending pods together request more of the resource than all nodes' "
         "allocatable capacity. Some pods cannot be scheduled and stay Pending, and the cluster cannot "
         "survive losing a node. Compare requests to capacity (`kubectl describe nodes`, Allocated "
         "resources), then add nodes or a larger node pool, or lower requests that are far above what the "
         "pods use.", ("Pod", "Node")),
    Rule("TLSSecretExpiring", "TLS certificate expiring", "warning", 0,
         "The certificate in Secret {namespace}/{name} expires on {not_after} ({days} days left).",
         "A kubernetes.io/tls Secret holds a certificate that expires within 14 days (or already has); "
         "clients will refuse it from then on. See who issued it and when it ends with `kubectl -n "
         "NAMESPACE get secret NAME -o jsonpath='{.data.tls\\.crt}' | base64 -d | openssl x509 -noout "
         "-issuer -enddate`. If cert-manager manages it, check the Certificate's and the issuer's status; "
         "otherwise issue a new certificate and replace the Secret's tls.crt and tls.key.", ("Secret",)),
)
RULES: dict[str, Rule] = {rule.code: rule for rule in _BUILT_IN}


def rule_set(for_overrides: Mapping[str, int] | None = None) -> dict[str, Rule]:
    """The built-in rules, with `for` durations replaced per rule code (seconds, 0 fires at once)."""
    errors = FieldErrors()
    for code, seconds in (for_overrides or {}).items():
        if code not in RULES:
            errors.add(f"forOverrides.{code}", f"no rule {code!r}; rules are {', '.join(RULES)}")
        elif isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            errors.add(f"forOverrides.{code}", "must be a whole number of seconds, 0 or more")
    errors.raise_if_any()
    overrides = for_overrides or {}
    return {code: replace(rule, for_seconds=overrides[code]) if code in overrides else rule
            for code, rule in RULES.items()}


# -- reading objects ------------------------------------------------------------------------------

def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def condition_status(obj: Obj, kind: str) -> tuple[str | None, Obj]:
    """The status ("True", "False", "Unknown") of a status condition and the condition, or (None, {})."""
    for entry in _list(_dict(obj.get("status")).get("conditions")):
        if isinstance(entry, dict) and entry.get("type") == kind:
            return str(entry.get("status")), entry
    return None, {}


def controller_of(obj: Obj) -> tuple[str, str] | None:
    """(kind, name) of the object's controlling owner."""
    for ref in _list(_dict(obj.get("metadata")).get("ownerReferences")):
        if isinstance(ref, dict) and ref.get("controller") and isinstance(ref.get("name"), str):
            return str(ref.get("kind")), ref["name"]
    return None


def identity(kind: str, obj: Obj) -> ObjectRef:
    meta = _dict(obj.get("metadata"))
    namespace = meta.get("namespace")
    return ObjectRef(kind, namespace if isinstance(namespace, str) and namespace else None, str(meta.get("name", "")))


def make_condition(rule: Rule, ref: ObjectRef, value: float | None = None, labels: Labels | None = None,
                   annotations: Labels | None = None) -> Condition:
    full = {"alertname": rule.code, "severity": rule.severity, "kind": ref.kind, "name": ref.name}
    if ref.namespace is not None:
        full["namespace"] = ref.namespace
    full.update(labels or {})
    return Condition(rule.code, ref, full, value, dict(annotations or {}))


# -- quantities -----------------------------------------------------------------------------------

_QUANTITY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?")
_SUFFIX = {"Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
           "Pi": Decimal(2**50), "Ei": Decimal(2**60), "n": Decimal("1e-9"), "u": Decimal("1e-6"),
           "m": Decimal("1e-3"), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9),
           "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}


@lru_cache(maxsize=4096)
def _quantity_text(text: str) -> Decimal | None:
    match = _QUANTITY.fullmatch(text.strip())
    if match is None:
        return None
    number, exponent, suffix = match.groups()
    try:
        amount = Decimal(number + (exponent or ""))
    except InvalidOperation:
        return None
    return amount * _SUFFIX[suffix] if suffix else amount


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes resource.Quantity ("250m", "1.5", "512Mi", "1e3", 4) in base units, None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    return _quantity_text(value) if isinstance(value, str) else None


# -- per-object rules -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """The conditions holding for one object, and when the answer may change with no new event."""

    conditions: tuple[Condition, ...] = ()
    recheck_at: datetime | None = None


NOTHING = Evaluation()
TERMINAL_PHASES = ("Succeeded", "Failed")


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None or a <= b else b


def _crash_loop(entry: Obj, now: datetime) -> tuple[bool, datetime | None, str]:
    """Holds while waiting in CrashLoopBackOff, or for RESTART_WINDOW after a restart (the window
    kube-prometheus smooths the flapping waiting reason over), so the condition keeps holding while the
    kubelet runs the container again between two crashes."""
    state, last = _dict(entry.get("state")), _dict(_dict(entry.get("lastState")).get("terminated"))
    reason = str(last.get("reason") or "unknown")
    if _dict(state.get("waiting")).get("reason") == "CrashLoopBackOff":
        return True, None, reason
    finished = _time(last.get("finishedAt"))
    if _int(entry.get("restartCount"), 0) > 0 and finished is not None and now < finished + RESTART_WINDOW:
        return True, finished + RESTART_WINDOW, reason
    return False, None, reason


def _not_ready_reason(obj: Obj, phase: str, ready: Obj) -> str:
    scheduled, entry = condition_status(obj, "PodScheduled")
    if scheduled == "False":
        return str(entry.get("reason") or "not scheduled")
    for status in _list(_dict(obj.get("status")).get("containerStatuses")):
        waiting = _dict(_dict(_dict(status).get("state")).get("waiting"))
        if waiting.get("reason"):
            return str(waiting["reason"])
    return str(_dict(obj.get("status")).get("reason") or ready.get("reason") or phase)


def pod_rules(obj: Obj, now: datetime, finished_jobs: Container[tuple[str, str]]) -> Evaluation:
    ref = identity("Pod", obj)
    status = _dict(obj.get("status"))
    phase = str(status.get("phase") or "Pending")
    found: list[Condition] = []
    recheck: datetime | None = None
    if phase not in TERMINAL_PHASES:
        crash = RULES["PodCrashLooping"]
        for entry in _list(status.get("initContainerStatuses")) + _list(status.get("containerStatuses")):
            if not isinstance(entry, dict):
                continue
            holds, until, reason = _crash_loop(entry, now)
            if holds:
                restarts = _int(entry.get("restartCount"), 0)
                found.append(make_condition(crash, ref, float(restarts), {"container": str(entry.get("name", ""))},
                                            {"restarts": str(restarts), "reason": reason}))
                recheck = _earliest(recheck, until)
    ready, ready_entry = condition_status(obj, "Ready")
    if phase in ("Pending", "Unknown") or (phase == "Running" and ready != "True"):
        owner = controller_of(obj)
        if not (owner and owner[0] == "Job" and (ref.namespace or "", owner[1]) in finished_jobs):
            found.append(make_condition(RULES["PodNotReady"], ref, None, None, {
                "phase": phase, "reason": _not_ready_reason(obj, phase, ready_entry)}))
    return Evaluation(tuple(found), recheck)


def deployment_rules(obj: Obj, now: datetime) -> Evaluation:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    if spec.get("paused") is True:
        return NOTHING
    desired, available = _int(spec.get("replicas"), 1), _int(status.get("availableReplicas"), 0)
    if desired == available:
        return NOTHING
    rule = RULES["DeploymentReplicasMismatch"]
    return Evaluation((make_condition(rule, identity("Deployment", obj), float(available), None, {
        "desired": str(desired), "available": str(available)}),))


def job_finished(obj: Obj) -> bool:
    """A job that is Complete or Failed: its pods are done, whatever they say."""
    return condition_status(obj, "Complete")[0] == "True" or condition_status(obj, "Failed")[0] == "True"


def job_rules(obj: Obj, now: datetime) -> Evaluation:
    failed, entry = condition_status(obj, "Failed")
    if failed != "True":
        return NOTHING
    count = _int(_dict(obj.get("status")).get("failed"), 0)
    return Evaluation((make_condition(RULES["JobFailed"], identity("Job", obj), float(count), None, {
        "reason": str(entry.get("reason") or "Failed"), "message": str(entry.get("message") or "")}),))


def node_rules(obj: Obj, now: datetime) -> Evaluation:
    ready, entry = condition_status(obj, "Ready")
    if ready == "True":
        return NOTHING
    ref = identity("Node", obj)
    return Evaluation((make_condition(RULES["NodeNotReady"], ObjectRef("Node", None, ref.name), None, None, {
        "ready": ready or "missing", "reason": str(entry.get("reason") or "no Ready condition")}),))


def quota_rules(obj: Obj, now: datetime) -> Evaluation:
    status = _dict(obj.get("status"))
    hard, used = _dict(status.get("hard")), _dict(status.get("used"))
    ref, rule = identity("ResourceQuota", obj), RULES["QuotaAlmostFull"]
    found = []
    for resource in sorted(hard):
        limit, amount = quantity(hard[resource]), quantity(used.get(resource))
        if limit is None or limit <= 0 or amount is None:
            continue
        ratio = float(amount / limit)
        if ratio > QUOTA_RATIO:
            found.append(make_condition(rule, ref, ratio, {"resource": str(resource)}, {
                "used": str(used.get(resource)), "hard": str(hard[resource]), "percent": f"{ratio * 100:.0f}"}))
    return Evaluation(tuple(found))


@lru_cache(maxsize=1024)
def certificate_expiry(encoded: str) -> datetime | None:
    """When the first certificate of a base64 PEM bundle (a Secret's tls.crt) expires; None if unreadable."""
    try:
        pem = base64.b64decode(encoded, validate=True)
        return x509.load_pem_x509_certificate(pem).not_valid_after_utc
    except (binascii.Error, ValueError, TypeError):
        return None


def secret_rules(obj: Obj, now: datetime) -> Evaluation:
    """Reads only data["tls.crt"]; a Secret whose data was withheld, or whose certificate does not parse,
    raises nothing."""
    if obj.get("type") != "kubernetes.io/tls":
        return NOTHING
    encoded = _dict(obj.get("data")).get("tls.crt")
    expires = certificate_expiry(encoded) if isinstance(encoded, str) else None
    if expires is None:
        return NOTHING
    if now < expires - EXPIRY_WINDOW:
        return Evaluation((), expires - EXPIRY_WINDOW)
    days = (expires - now).total_seconds() / 86400
    return Evaluation((make_condition(RULES["TLSSecretExpiring"], identity("Secret", obj), days, None, {
        "not_after": expires.isoformat().replace("+00:00", "Z"), "days": f"{days:.1f}"}),))


_BY_KIND: dict[str, Callable[[Obj, datetime], Evaluation]] = {
    "Deployment": deployment_rules, "Job": job_rules, "Node": node_rules, "ResourceQuota": quota_rules,
    "Secret": secret_rules,
}
OBJECT_KINDS = frozenset({"Pod", *_BY_KIND})


def evaluate(kind: str, obj: Obj, now: datetime,
             finished_jobs: Container[tuple[str, str]] = frozenset()) -> Evaluation:
    """The per-object rules for one object. `finished_jobs` holds (namespace, name) of the Jobs that are
    Complete or Failed, whose pods PodNotReady leaves alone."""
    if kind == "Pod":
        return pod_rules(obj, now, finished_jobs)
    rules = _BY_KIND.get(kind)
    return rules(obj, now) if rules is not None else NOTHING


def conditions(kind: str, obj: Obj, now: datetime,
               finished_jobs: Container[tuple[str, str]] = frozenset()) -> list[Condition]:
    """The conditions of the per-object rules holding for one object (all but the cluster-wide rules)."""
    return list(evaluate(kind, obj, now, finished_jobs).conditions)


def cluster_condition(status: str) -> Condition | None:
    """ClusterDisconnected for the cluster's connection status: "disconnected" raises it; "connected"
    and "degraded" (reachable, but slow or partly failing) do not."""
    if status != "disconnected":
        return None
    return make_condition(RULES["ClusterDisconnected"], CLUSTER_REF)

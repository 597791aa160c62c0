"""The columns kubectl prints for the common kinds, and how each cell is computed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .selectors import selector_string

Cell = Callable[[dict[str, Any], datetime], Any]
Column = tuple[str, str, int, Cell]  # name, type, priority, value


def human_duration(seconds: float) -> str:
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    return f"{hours // (24 * 365)}y"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _since(value: str | None, now: datetime) -> str:
    moment = _parse_time(value)
    return "<unknown>" if moment is None else human_duration((now - moment).total_seconds())


def age(obj: dict[str, Any], now: datetime) -> str:
    return _since(obj["metadata"].get("creationTimestamp"), now)


def _get(obj: Any, path: str, default: Any = None) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return default if obj is None else obj


def name_cell(obj: dict[str, Any], now: datetime) -> str:
    return str(obj["metadata"]["name"])


def _containers(obj: dict[str, Any], spec_path: str) -> list[dict[str, Any]]:
    return _get(obj, spec_path + ".containers", [])


def _images(path: str) -> tuple[Cell, Cell]:
    return (lambda o, n: ",".join(c.get("name", "") for c in _containers(o, path)),
            lambda o, n: ",".join(c.get("image", "") for c in _containers(o, path)))


def pod_status(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason") not in (None, "PodInitializing"):
            return "Init:" + state["waiting"]["reason"]
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def _pod_ready(pod: dict[str, Any], now: datetime) -> str:
    statuses = _get(pod, "status.containerStatuses", [])
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(_get(pod, 'spec.containers', []))}"


def _restarts(pod: dict[str, Any], now: datetime) -> int:
    return sum(int(s.get("restartCount", 0)) for s in _get(pod, "status.containerStatuses", []))


def _service_ports(svc: dict[str, Any], now: datetime) -> str:
    parts = []
    for port in _get(svc, "spec.ports", []):
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _external_ip(svc: dict[str, Any], now: datetime) -> str:
    ingress = _get(svc, "status.loadBalancer.ingress", [])
    ips = [i.get("ip") or i.get("hostname") for i in ingress] + _get(svc, "spec.externalIPs", [])
    if ips:
        return ",".join(ips)
    return "<pending>" if _get(svc, "spec.type") == "LoadBalancer" else "<none>"


def _node_status(node: dict[str, Any], now: datetime) -> str:
    ready = next((c for c in _get(node, "status.conditions", []) if c.get("type") == "Ready"), None)
    text = "Ready" if ready and ready.get("status") == "True" else "NotReady" if ready else "Unknown"
    return text + (",SchedulingDisabled" if _get(node, "spec.unschedulable") else "")


def _node_roles(node: dict[str, Any], now: datetime) -> str:
    labels = node["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    return ",".join(roles) or "<none>"


def _node_address(kind: str) -> Cell:
    return lambda o, n: next((a["address"] for a in _get(o, "status.addresses", []) if a.get("type") == kind),
                             "<none>")


def _event_object(ev: dict[str, Any], now: datetime) -> str:
    return f"{_get(ev, 'involvedObject.kind', '').lower()}/{_get(ev, 'involvedObject.name', '')}"


def _event_last_seen(ev: dict[str, Any], now: datetime) -> str:
    return _since(ev.get("lastTimestamp") or ev.get("eventTime") or ev["metadata"].get("creationTimestamp"), now)


def _job_status(job: dict[str, Any], now: datetime) -> str:
    conditions = {c.get("type"): c.get("status") for c in _get(job, "status.conditions", [])}
    if conditions.get("Complete") == "True":
        return "Complete"
    if conditions.get("Failed") == "True":
        return "Failed"
    return "Suspended" if _get(job, "spec.suspend") else "Running"


def _job_duration(job: dict[str, Any], now: datetime) -> str:
    start = _parse_time(_get(job, "status.startTime"))
    if start is None:
        return ""
    end = _parse_time(_get(job, "status.completionTime")) or now
    return human_duration((end - start).total_seconds())


def _hpa_targets(hpa: dict[str, Any], now: datetime) -> str:
    parts = []
    current = {m.get("resource", {}).get("name"): m for m in _get(hpa, "status.currentMetrics", [])}
    for metric in _get(hpa, "spec.metrics", []):
        resource = metric.get("resource") or {}
        target = _get(resource, "target.averageUtilization")
        got = _get(current.get(resource.get("name")), "resource.current.averageUtilization")
        parts.append(f"{resource.get('name')}: {'<unknown>' if got is None else f'{got}%'}/{target}%")
    return ", ".join(parts) or "<none>"


def _count(path: str) -> Cell:
    return lambda o, n: len(_get(o, path, {}) or {})


def _field(path: str, default: Any = "") -> Cell:
    return lambda o, n: _get(o, path, default)


def _ready_of(spec_path: str, status_path: str) -> Cell:
    return lambda o, n: f"{_get(o, status_path, 0)}/{_get(o, spec_path, 0)}"


def _created_at(obj: dict[str, Any], now: datetime) -> str:
    return str(obj["metadata"].get("creationTimestamp", ""))


def _access_modes(path: str) -> Cell:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return lambda o, n: ",".join(short.get(m, m) for m in _get(o, path, []))


def _quota(limits: bool) -> Cell:
    def cell(obj: dict[str, Any], now: datetime) -> str:
        hard, used = _get(obj, "status.hard", {}) or _get(obj, "spec.hard", {}), _get(obj, "status.used", {})
        keys = sorted(k for k in hard if k.startswith("limits.") == limits)
        return ", ".join(f"{k}: {used.get(k, '0')}/{hard[k]}" for k in keys)
    return cell


def _subjects(kind: str) -> Cell:
    def cell(obj: dict[str, Any], now: datetime) -> str:
        found = [s for s in obj.get("subjects") or [] if s.get("kind") == kind]
        if kind == "ServiceAccount":
            return ", ".join(f"{s.get('namespace', '')}/{s.get('name', '')}" for s in found)
        return ", ".join(s.get("name", "") for s in found)
    return cell


def _slice_endpoints(obj: dict[str, Any], now: datetime) -> str:
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addresses:
        return "<unset>"
    shown = ",".join(addresses[:3])
    return shown + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")


def _slice_ports(obj: dict[str, Any], now: datetime) -> str:
    ports = [str(p.get("port")) for p in obj.get("ports") or [] if p.get("port") is not None]
    return ",".join(ports) or "<unset>"


def _owner(obj: dict[str, Any], now: datetime) -> str:
    owner = next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
    if owner is None:
        return "<none>"
    group = owner.get("apiVersion", "").rpartition("/")[0]
    return f"{owner.get('kind', '').lower()}.{group}/{owner.get('name')}" if group else \
        f"{owner.get('kind', '').lower()}/{owner.get('name')}"


_POD_IMAGES = _images("spec.template.spec")
_JOB_IMAGES = _images("spec.jobTemplate.spec.template.spec")
_SELECTOR: Cell = lambda o, n: selector_string(_get(o, "spec.selector")) or "<none>"  # noqa: E731

COLUMNS: dict[str, list[Column]] = {
    "Pod": [("Ready", "string", 0, _pod_ready), ("Status", "string", 0, lambda o, n: pod_status(o)),
            ("Restarts", "string", 0, _restarts), ("Age", "string", 0, age),
            ("IP", "string", 1, _field("status.podIP", "<none>")),
            ("Node", "string", 1, _field("spec.nodeName", "<none>")),
            ("Nominated Node", "string", 1, _field("status.nominatedNodeName", "<none>")),
            ("Readiness Gates", "string", 1, lambda o, n: "<none>")],
    "Deployment": [("Ready", "string", 0, _ready_of("spec.replicas", "status.readyReplicas")),
                   ("Up-to-date", "integer", 0, _field("status.updatedReplicas", 0)),
                   ("Available", "integer", 0, _field("status.availableReplicas", 0)), ("Age", "string", 0, age),
                   ("Containers", "string", 1, _POD_IMAGES[0]), ("Images", "string", 1, _POD_IMAGES[1]),
                   ("Selector", "string", 1, _SELECTOR)],
    "ReplicaSet": [("Desired", "integer", 0, _field("spec.replicas", 0)),
                   ("Current", "integer", 0, _field("status.replicas", 0)),
                   ("Ready", "integer", 0, _field("status.readyReplicas", 0)), ("Age", "string", 0, age),
                   ("Containers", "string", 1, _POD_IMAGES[0]), ("Images", "string", 1, _POD_IMAGES[1]),
                   ("Selector", "string", 1, _SELECTOR)],
    "StatefulSet": [("Ready", "string", 0, _ready_of("spec.replicas", "status.readyReplicas")),
                    ("Age", "string", 0, age), ("Containers", "string", 1, _POD_IMAGES[0]),
                    ("Images", "string", 1, _POD_IMAGES[1])],
    "DaemonSet": [("Desired", "integer", 0, _field("status.desiredNumberScheduled", 0)),
                  ("Current", "integer", 0, _field("status.currentNumberScheduled", 0)),
                  ("Ready", "integer", 0, _field("status.numberReady", 0)),
                  ("Up-to-date", "integer", 0, _field("status.updatedNumberScheduled", 0)),
                  ("Available", "integer", 0, _field("status.numberAvailable", 0)),
                  ("Node Selector", "string", 0, lambda o, n: ",".join(
                      f"{k}={v}" for k, v in _get(o, "spec.template.spec.nodeSelector", {}).items()) or "<none>"),
                  ("Age", "string", 0, age), ("Containers", "string", 1, _POD_IMAGES[0]),
                  ("Images", "string", 1, _POD_IMAGES[1]), ("Selector", "string", 1, _SELECTOR)],
    "Service": [("Type", "string", 0, _field("spec.type")), ("Cluster-IP", "string", 0, _field("spec.clusterIP")),
                ("External-IP", "string", 0, _external_ip), ("Port(s)", "string", 0, _service_ports),
                ("Age", "string", 0, age), ("Selector", "string", 1, lambda o, n: ",".join(
                    f"{k}={v}" for k, v in _get(o, "spec.selector", {}).items()) or "<none>")],
    "Node": [("Status", "string", 0, _node_status), ("Roles", "string", 0, _node_roles), ("Age", "string", 0, age),
             ("Version", "string", 0, _field("status.nodeInfo.kubeletVersion")),
             ("Internal-IP", "string", 1, _node_address("InternalIP")),
             ("External-IP", "string", 1, _node_address("ExternalIP")),
             ("OS-Image", "string", 1, _field("status.nodeInfo.osImage")),
             ("Kernel-Version", "string", 1, _field("status.nodeInfo.kernelVersion")),
             ("Container-Runtime", "string", 1, _field("status.nodeInfo.containerRuntimeVersion"))],
    "Namespace": [("Status", "string", 0, _field("status.phase")), ("Age", "string", 0, age)],
    "ConfigMap": [("Data", "integer", 0, lambda o, n: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
                  ("Age", "string", 0, age)],
    "Secret": [("Type", "string", 0, _field("type")), ("Data", "integer", 0, _count("data")),
               ("Age", "string", 0, age)],
    "ServiceAccount": [("Secrets", "integer", 0, lambda o, n: len(o.get("secrets") or [])),
                       ("Age", "string", 0, age)],
    "Job": [("Status", "string", 0, _job_status),
            ("Completions", "string", 0, _ready_of("spec.completions", "status.succeeded")),
            ("Duration", "string", 0, _job_duration), ("Age", "string", 0, age),
            ("Containers", "string", 1, _POD_IMAGES[0]), ("Images", "string", 1, _POD_IMAGES[1]),
            ("Selector", "string", 1, _SELECTOR)],
    "CronJob": [("Schedule", "string", 0, _field("spec.schedule")),
                ("Timezone", "string", 0, _field("spec.timeZone", "<none>")),
                ("Suspend", "boolean", 0, _field("spec.suspend", False)),
                ("Active", "integer", 0, lambda o, n: len(_get(o, "status.active", []))),
                ("Last Schedule", "string", 0, lambda o, n: _since(_get(o, "status.lastScheduleTime"), n)
                 if _get(o, "status.lastScheduleTime") else "<none>"),
                ("Age", "string", 0, age), ("Containers", "string", 1, _JOB_IMAGES[0]),
                ("Images", "string", 1, _JOB_IMAGES[1]), ("Selector", "string", 1, lambda o, n: "<none>")],
    "Event": [("Last Seen", "string", 0, _event_last_seen), ("Type", "string", 0, _field("type")),
              ("Reason", "string", 0, _field("reason")), ("Object", "string", 0, _event_object),
              ("Subobject", "string", 1, _field("involvedObject.fieldPath")),
              ("Source", "string", 1, lambda o, n: _get(o, "source.component", "") or o.get("reportingComponent", "")),
              ("Message", "string", 0, _field("message")),
              ("First Seen", "string", 1, lambda o, n: _since(o.get("firstTimestamp") or o.get("eventTime"), n)),
              ("Count", "string", 1, _field("count", 1)), ("Name", "string", 1, name_cell)],
    "PersistentVolumeClaim": [
        ("Status", "string", 0, _field("status.phase")), ("Volume", "string", 0, _field("spec.volumeName")),
        ("Capacity", "string", 0, _field("status.capacity.storage")),
        ("Access Modes", "string", 0, lambda o, n: ",".join(
            {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX"}.get(m, m)
            for m in _get(o, "status.accessModes", []))),
        ("StorageClass", "string", 0, _field("spec.storageClassName", "<unset>")),
        ("VolumeAttributesClass", "string", 0, _field("spec.volumeAttributesClassName", "<unset>")),
        ("Age", "string", 0, age)],
    "Ingress": [("Class", "string", 0, _field("spec.ingressClassName", "<none>")),
                ("Hosts", "string", 0, lambda o, n: ",".join(r.get("host", "*") for r in _get(o, "spec.rules", []))
                 or "*"),
                ("Address", "string", 0, lambda o, n: ",".join(
                    i.get("ip") or i.get("hostname", "") for i in _get(o, "status.loadBalancer.ingress", []))),
                ("Ports", "string", 0, lambda o, n: "80, 443" if _get(o, "spec.tls") else "80"),
                ("Age", "string", 0, age)],
    "HorizontalPodAutoscaler": [
        ("Reference", "string", 0, lambda o, n: f"{_get(o, 'spec.scaleTargetRef.kind')}/"
                                                f"{_get(o, 'spec.scaleTargetRef.name')}"),
        ("Targets", "string", 0, _hpa_targets), ("MinPods", "string", 0, _field("spec.minReplicas", 1)),
        ("MaxPods", "integer", 0, _field("spec.maxReplicas", 0)),
        ("Replicas", "integer", 0, _field("status.currentReplicas", 0)), ("Age", "string", 0, age)],
    "Endpoints": [("Endpoints", "string", 0, lambda o, n: ",".join(
        f"{a.get('ip')}:{p.get('port')}" for s in o.get("subsets") or [] for a in s.get("addresses") or []
        for p in s.get("ports") or []) or "<none>"), ("Age", "string", 0, age)],
    "PersistentVolume": [
        ("Capacity", "string", 0, _field("spec.capacity.storage")),
        ("Access Modes", "string", 0, _access_modes("spec.accessModes")),
        ("Reclaim Policy", "string", 0, _field("spec.persistentVolumeReclaimPolicy")),
        ("Status", "string", 0, _field("status.phase")),
        ("Claim", "string", 0, lambda o, n: f"{_get(o, 'spec.claimRef.namespace')}/{_get(o, 'spec.claimRef.name')}"
         if _get(o, "spec.claimRef") else ""),
        ("StorageClass", "string", 0, _field("spec.storageClassName")),
        ("VolumeAttributesClass", "string", 0, _field("spec.volumeAttributesClassName", "<unset>")),
        ("Reason", "string", 0, _field("status.reason")), ("Age", "string", 0, age),
        ("VolumeMode", "string", 1, _field("spec.volumeMode", "Filesystem"))],
    "NetworkPolicy": [("Pod-Selector", "string", 0, lambda o, n: selector_string(_get(o, "spec.podSelector"))
                       or "<none>"), ("Age", "string", 0, age)],
    "EndpointSlice": [("AddressType", "string", 0, _field("addressType")), ("Ports", "string", 0, _slice_ports),
                      ("Endpoints", "string", 0, _slice_endpoints), ("Age", "string", 0, age)],
    "ResourceQuota": [("Age", "string", 0, age), ("Request", "string", 0, _quota(False)),
                      ("Limit", "string", 0, _quota(True))],
    "LimitRange": [("Created At", "date", 0, _created_at)],
    "Role": [("Created At", "date", 0, _created_at)],
    "ClusterRole": [("Created At", "date", 0, _created_at)],
    "RoleBinding": [("Role", "string", 0, lambda o, n: f"{_get(o, 'roleRef.kind')}/{_get(o, 'roleRef.name')}"),
                    ("Age", "string", 0, age), ("Users", "string", 1, _subjects("User")),
                    ("Groups", "string", 1, _subjects("Group")),
                    ("ServiceAccounts", "string", 1, _subjects("ServiceAccount"))],
    "ClusterRoleBinding": [
        ("Role", "string", 0, lambda o, n: f"{_get(o, 'roleRef.kind')}/{_get(o, 'roleRef.name')}"),
        ("Age", "string", 0, age), ("Users", "string", 1, _subjects("User")),
        ("Groups", "string", 1, _subjects("Group")), ("ServiceAccounts", "string", 1, _subjects("ServiceAccount"))],
    "ControllerRevision": [("Controller", "string", 0, _owner), ("Revision", "integer", 0, _field("revision", 0)),
                           ("Age", "string", 0, age)],
    "CustomResourceDefinition": [("Created At", "date", 0, _created_at)],
    "PodDisruptionBudget": [("Min Available", "string", 0, _field("spec.minAvailable", "N/A")),
                            ("Max Unavailable", "string", 0, _field("spec.maxUnavailable", "N/A")),
                            ("Allowed Disruptions", "integer", 0, _field("status.disruptionsAllowed", 0)),
                            ("Age", "string", 0, age)],
    "StorageClass": [("Provisioner", "string", 0, _field("provisioner")),
                     ("ReclaimPolicy", "string", 0, _field("reclaimPolicy", "Delete")),
                     ("VolumeBindingMode", "string", 0, _field("volumeBindingMode", "Immediate")),
                     ("AllowVolumeExpansion", "string", 0, _field("allowVolumeExpansion", False)),
                     ("Age", "string", 0, age)],
}


_FILTER = re.compile(r'^\[\?\(@\.([\w.-]+)\s*==\s*["\']([^"\']*)["\']\)\]')


def json_path(obj: Any, path: str) -> Any:
    """The small JSONPath subset CRD printer columns use: .a.b, [0], [?(@.type=="Ready")]."""
    rest = path.strip()
    while rest:
        if rest.startswith("."):
            match = re.match(r"^\.([\w-]+)", rest)
            if match is None:
                return None
            obj = obj.get(match.group(1)) if isinstance(obj, dict) else None
            rest = rest[match.end():]
        elif (match := _FILTER.match(rest)) is not None:
            key, wanted = match.groups()
            obj = next((i for i in obj or [] if isinstance(i, dict) and str(_get(i, key)) == wanted), None)
            rest = rest[match.end():]
        elif (match := re.match(r"^\[(\d+)\]", rest)) is not None:
            index = int(match.group(1))
            obj = obj[index] if isinstance(obj, list) and index < len(obj) else None
            rest = rest[match.end():]
        else:
            return None
    return obj


def printer_column(kind: str, path: str) -> Cell:
    def cell(obj: dict[str, Any], now: datetime) -> Any:
        value = json_path(obj, path)
        if kind == "date" and isinstance(value, str):
            return _since(value, now)
        return "<none>" if value is None else value
    return cell

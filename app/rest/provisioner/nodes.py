"""The Provisioner's node paths: test SSH to machines before creating a cluster on them, list a
cluster's nodes, and drain or remove one (each an operation, answered 202 with its job).

A node's ID is its Kubernetes name, which is what Fleetgraph's node operations take."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.rest.provisioner.answers import ProvisionerNodeView, ProvisionerNodeWork, listed
from app.rest.provisioner.bodies import ProvisionerSshConfig, ProvisionerSshNode
from app.rest.rows import Call, Listing, Row

DOC = "nodes.graphql"
TAG = "Provisioner: nodes"
NODE = "/api/v1/clusters/{cluster_id}/nodes/{node_id}"
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
# The distributions the Provisioner names, by how their osImage begins; others keep their first word.
DISTRIBUTIONS = {"rocky linux": "rocky", "ubuntu": "ubuntu", "red hat enterprise linux": "rhel"}
_MAJOR = re.compile(r"\b(\d+)(?:\.\d+)*\b")


class SshTest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    nodes: list[ProvisionerSshNode] = Field(min_length=1, max_length=1000)
    sshConfig: ProvisionerSshConfig = Field(alias="ssh_config")


def os_type(image: str) -> str:
    """`Ubuntu 22.04.5 LTS` → `ubuntu22`, `Rocky Linux 9.3 (Blue Onyx)` → `rocky9`."""
    text = image.strip().lower()
    name = next((short for prefix, short in DISTRIBUTIONS.items() if text.startswith(prefix)), None)
    name = name or (text.split()[0] if text else "")
    major = _MAJOR.search(text)
    return f"{name}{major.group(1) if major else ''}"


def _ready(raw: dict[str, Any]) -> bool:
    conditions = (raw.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions if isinstance(c, dict))


def _internal_ip(raw: dict[str, Any]) -> str:
    addresses = (raw.get("status") or {}).get("addresses") or []
    found = [a.get("address") for a in addresses if isinstance(a, dict) and a.get("type") == "InternalIP"]
    return str(found[0]) if found else ""


def node_view(value: dict[str, Any], _: Call) -> dict[str, Any]:
    """A Kubernetes Node as the Provisioner lists it; `status` is kubectl's STATUS column."""
    raw = value.get("raw") or {}
    labels = value.get("labels") or {}
    status = "Ready" if _ready(raw) else "NotReady"
    if (raw.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    info = (raw.get("status") or {}).get("nodeInfo") or {}
    return {
        "id": value["name"],
        "cluster_id": value["clusterId"],
        "name": value["name"],
        "role": "control-plane" if any(label in labels for label in CONTROL_PLANE_LABELS) else "worker",
        "ip_address": _internal_ip(raw),
        "os_type": os_type(str(info.get("osImage") or "")),
        "status": status,
        "created_at": value.get("createdAt"),
    }


def _node_work(message: str) -> Any:
    def shape(value: dict[str, Any], call: Call) -> dict[str, Any]:
        return {
            "message": message,
            "cluster_id": value["clusterId"],
            "node_id": call.path["node_id"],
            "job_id": value["id"],
        }

    return shape


ROWS = [
    Row(
        "POST",
        "/api/v1/clusters/test-ssh",
        DOC,
        ("ProvisionerTestSsh",),
        "Test SSH Connection",
        TAG,
        body=SshTest,
        pick="testSshConnection",
    ),
    Row(
        "GET",
        "/api/v1/clusters/{cluster_id}/nodes",
        DOC,
        ("ProvisionerNodes",),
        "List nodes in a cluster",
        TAG,
        pick="cluster.resources",
        listing=Listing("data"),
        shape=node_view,
        response=listed(ProvisionerNodeView),
    ),
    Row(
        "POST",
        f"{NODE}/drain",
        DOC,
        ("ProvisionerDrainNode",),
        "Drain node for maintenance",
        TAG,
        pick="drainNode",
        shape=_node_work("Node drain initiated"),
        status=202,
        response=ProvisionerNodeWork,
    ),
    Row(
        "DELETE",
        NODE,
        DOC,
        ("ProvisionerRemoveNode",),
        "Remove node from cluster",
        TAG,
        pick="removeNode",
        shape=_node_work("Node removal initiated"),
        status=202,
        response=ProvisionerNodeWork,
    ),
]

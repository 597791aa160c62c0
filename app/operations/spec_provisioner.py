"""The Provisioner's create-cluster input (topology, components, SSH nodes) as a ClusterSpec.

Its control planes and workers become two node pools. The control-plane pool's minCount and maxCount
are its size: a highly available control plane keeps its odd etcd quorum, so scaling never changes it.
Secrets that don't belong to the chosen auth method (a password next to a private key) are dropped.
"""

from __future__ import annotations

import ipaddress
from typing import Any, NamedTuple

from app.errors import FieldErrors
from app.operations import spec_rules as rules
from app.operations.spec_cks import CNIS
from app.operations.spec_model import ClusterSpec, NetworkingSpec, NodePoolSpec, SshConfigSpec, SshNodeSpec

INGRESSES = ("nginx", "traefik", "haproxy")
RUNTIMES = ("containerd",)
NODE_ROLES = ("control-plane", "worker")
OS_TYPES = ("rocky9", "ubuntu22", "rhel9")
AUTH_METHODS = ("password", "private_key")
HARDENING_OPTIONS = ("enableCisK8sBenchmark", "enableCisLinuxBenchmark")
MAX_CONTROL_PLANES = 7
CONTROL_PLANE_POOL = "control-plane"
WORKER_POOL = "workers"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
USERNAME_MAX = 32
SECRET_MAX = 16384


class Components(NamedTuple):
    version: str
    cni: str
    ingress: str
    runtime: str


def parse_provisioner(data: dict[str, Any]) -> ClusterSpec:
    """Raises BadUserInput listing every problem of `data`; unknown keys (`templateId`, ...) are ignored."""
    errors = FieldErrors()
    name = rules.cluster_name(errors, data.get("name"))
    description = rules.description(errors, data.get("description"))
    ha, control_planes, workers = _topology(errors, data.get("topology"))
    components = _components(errors, data.get("components"))
    networking = NetworkingSpec(cni=components.cni if components else "calico")
    nodes = _nodes(errors, data.get("nodes"), networking)
    ssh = _ssh_config(errors, data.get("sshConfig"))
    hardening = _hardening(errors, data.get("hardening"))
    immediately = rules.boolean(errors, "provisionImmediately", data.get("provisionImmediately"), default=True)
    _agree(errors, data.get("nodes"), control_planes, workers)
    if control_planes is not None and workers is not None:
        pods = ipaddress.ip_network(networking.pod_cidr)
        rules.pod_room(errors, "topology.workerCount", pods, control_planes + workers)
    errors.raise_if_any()
    # each of these is None only when its problem is in errors, which were raised above
    assert name is not None and components is not None
    assert ha is not None and control_planes is not None and workers is not None
    return ClusterSpec(
        name=name,
        description=description,
        version=components.version,
        provider="ssh",
        node_pools=_pools(control_planes, workers),
        networking=networking,
        ha=ha,
        control_plane_count=control_planes,
        ingress=components.ingress,
        runtime=components.runtime,
        nodes=nodes,
        ssh_config=ssh,
        hardening=hardening,
        provision_immediately=bool(immediately),
    )


def _pools(control_planes: int, workers: int) -> list[NodePoolSpec]:
    control_plane_pool = NodePoolSpec(
        name=CONTROL_PLANE_POOL,
        count=control_planes,
        min_count=control_planes,
        max_count=control_planes,
        labels={CONTROL_PLANE_LABEL: ""},
        taints=[f"{CONTROL_PLANE_LABEL}:NoSchedule"] if workers else [],
    )
    return [control_plane_pool, NodePoolSpec(name=WORKER_POOL, count=workers)]


def _topology(errors: FieldErrors, value: Any) -> tuple[bool | None, int | None, int | None]:
    """(ha, control planes, workers), each None when missing or wrong."""
    data = rules.mapping(errors, "topology", value)
    if data is None:
        return None, None, None
    ha = rules.boolean(errors, "topology.ha", data.get("ha"))
    control_planes = rules.integer(errors, "topology.controlPlaneCount", data.get("controlPlaneCount"))
    workers = rules.integer(errors, "topology.workerCount", data.get("workerCount"))
    if workers is not None and (problem := rules.count_problem(workers, None, None)):
        errors.add("topology.workerCount", problem)
        workers = None
    if control_planes is not None and ha is not None and (problem := _control_plane_problem(ha, control_planes)):
        errors.add("topology.controlPlaneCount", problem)
        control_planes = None
    return ha, control_planes, workers


def _control_plane_problem(ha: bool, count: int) -> str | None:
    if not ha:
        return None if count == 1 else "must be 1 without high availability (set ha for 3, 5 or 7)"
    if count < 3 or count % 2 == 0:
        return "must be an odd number of at least 3 for high availability, so etcd keeps a quorum"
    if count > MAX_CONTROL_PLANES:
        return f"must be at most {MAX_CONTROL_PLANES}"
    return None


def _components(errors: FieldErrors, value: Any) -> Components | None:
    data = rules.mapping(errors, "components", value)
    if data is None:
        return None
    version = rules.kubernetes_version(errors, "components.kubernetesVersion", data.get("kubernetesVersion"))
    cni = rules.choice(errors, "components.cni", data.get("cni"), CNIS)
    ingress = rules.choice(errors, "components.ingress", data.get("ingress"), INGRESSES)
    runtime = rules.choice(errors, "components.runtime", data.get("runtime"), RUNTIMES, required=False)
    if version is None or cni is None or ingress is None:
        return None
    return Components(version, cni, ingress, runtime or "containerd")


def _nodes(errors: FieldErrors, value: Any, networking: NetworkingSpec) -> list[SshNodeSpec]:
    items = rules.sequence(errors, "nodes", value)
    if items is None:
        return []
    cluster_networks = [
        ("pod", ipaddress.ip_network(networking.pod_cidr)),
        ("service", ipaddress.ip_network(networking.service_cidr)),
    ]
    nodes: list[SshNodeSpec] = []
    for index, item in enumerate(items):
        node = _node(errors, f"nodes[{index}]", item)
        if node is None:
            continue
        for what, network in cluster_networks:
            if ipaddress.ip_address(node.ip_address) in network:
                errors.add(f"nodes[{index}].ipAddress", f"lies inside the cluster's {what} network {network}")
        nodes.append(node)
    rules.repeats(errors, "nodes", items, "name", "node name")
    rules.repeats(errors, "nodes", items, "ipAddress", "address", rules.same_address)
    return nodes


def _node(errors: FieldErrors, path: str, value: Any) -> SshNodeSpec | None:
    data = rules.mapping(errors, path, value)
    if data is None:
        return None
    before = len(errors.details)
    name = rules.string(errors, f"{path}.name", data.get("name"), max_len=253)
    if name is not None:
        rules.dns_subdomain(errors, f"{path}.name", name)
    role = rules.choice(errors, f"{path}.role", data.get("role"), NODE_ROLES)
    text = rules.string(errors, f"{path}.ipAddress", data.get("ipAddress"), max_len=64)
    address = rules.host_address(errors, f"{path}.ipAddress", text) if text is not None else None
    port = rules.integer(errors, f"{path}.sshPort", data.get("sshPort"), required=False)
    if port is not None and not 1 <= port <= 65535:
        errors.add(f"{path}.sshPort", "must be from 1 to 65535")
    os_type = rules.choice(errors, f"{path}.osType", data.get("osType"), OS_TYPES)
    if name is None or role is None or address is None or os_type is None or len(errors.details) > before:
        return None
    return SshNodeSpec(name=name, role=role, ip_address=str(address), ssh_port=port or 22, os_type=os_type)


def _agree(errors: FieldErrors, nodes: Any, control_planes: int | None, workers: int | None) -> None:
    """The topology's counts must match the roles of the nodes listed (when every role is readable)."""
    if not isinstance(nodes, list):
        return
    roles = [node.get("role") if isinstance(node, dict) else None for node in nodes]
    if not all(role in NODE_ROLES for role in roles):
        return
    for field, wanted, role in (
        ("topology.controlPlaneCount", control_planes, "control-plane"),
        ("topology.workerCount", workers, "worker"),
    ):
        listed = roles.count(role)
        if wanted is not None and listed != wanted:
            errors.add(field, f"is {wanted} but nodes lists {listed} with role {role}")


def _ssh_config(errors: FieldErrors, value: Any) -> SshConfigSpec | None:
    data = rules.mapping(errors, "sshConfig", value)
    if data is None:
        return None
    username = rules.string(errors, "sshConfig.username", data.get("username"), max_len=USERNAME_MAX)
    if username is not None and (username != username.strip() or any(c in username for c in " :/\t")):
        errors.add("sshConfig.username", "must be a user name without spaces, ':' or '/'")
    method = rules.choice(errors, "sshConfig.authMethod", data.get("authMethod"), AUTH_METHODS)
    password = key = passphrase = None
    if method == "password":
        password = rules.string(errors, "sshConfig.password", data.get("password"), max_len=SECRET_MAX)
    elif method == "private_key":
        key = rules.string(errors, "sshConfig.privateKey", data.get("privateKey"), max_len=SECRET_MAX)
        if key is not None:
            rules.private_key(errors, "sshConfig.privateKey", key)
        passphrase = rules.string(errors, "sshConfig.passphrase", data.get("passphrase"), required=False,
                                  max_len=SECRET_MAX)
    if username is None or method is None:
        return None
    return SshConfigSpec(
        username=username, auth_method=method, private_key=key, passphrase=passphrase or None, password=password
    )


def _hardening(errors: FieldErrors, value: Any) -> dict[str, bool]:
    data = rules.mapping(errors, "hardening", value, required=False) or {}
    for key in data:
        if key not in HARDENING_OPTIONS:
            errors.add(f"hardening.{key}", f"is not a hardening option; known: {', '.join(HARDENING_OPTIONS)}")
    return {
        option: bool(rules.boolean(errors, f"hardening.{option}", data.get(option), default=False))
        for option in HARDENING_OPTIONS
    }

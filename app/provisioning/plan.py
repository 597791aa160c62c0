"""The reviewable, kubeadm-based plan for provisioning a cluster onto the customer's nodes.

`render_plan` is a pure function of the request: the phases, which nodes each runs on and the exact
shell commands, in order. Phases that differ by OS family (or by role) appear once per group, under
the same name; control planes join one at a time so etcd grows one member at a time. `join_plan`
is the part a machine runs to join a running cluster as one more worker.

A phase that `reads` something (the CA certificate hash, the admin kubeconfig) ends with the command
that prints it: the runner keeps that output for itself and never logs it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.provisioning import addons, hardening, kubeadm, node_setup
from app.provisioning.facts import INSPECT_STEPS
from app.provisioning.models import CONTROL_PLANE, WORKER, SshNode
from app.provisioning.os_types import OS_TYPES, OsFamily

RUNTIMES = ("containerd",)
READS_CA_CERT_HASH = "ca-cert-hash"
READS_KUBECONFIG = "kubeconfig"
MIN_MINOR = 24  # pkgs.k8s.io publishes packages from 1.24 on

_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:(?P<port>\d{1,5}))?$")


@dataclass(frozen=True, slots=True)
class Hardening:
    enable_cis_k8s_benchmark: bool = False
    enable_cis_linux_benchmark: bool = False


@dataclass(frozen=True, slots=True)
class ProvisionSpec:
    name: str
    kubernetes_version: str
    nodes: Sequence[SshNode]
    cni: str = "calico"
    ingress: str = "nginx"
    runtime: str = "containerd"
    ha: bool = False
    control_plane_endpoint: str | None = None
    pod_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    hardening: Hardening = field(default_factory=Hardening)

    @property
    def control_planes(self) -> list[SshNode]:
        return [node for node in self.nodes if node.role == CONTROL_PLANE]

    @property
    def workers(self) -> list[SshNode]:
        return [node for node in self.nodes if node.role == WORKER]

    @property
    def version(self) -> str:
        """The Kubernetes version without a leading "v" (1.28.3)."""
        return self.kubernetes_version.removeprefix("v")


@dataclass(frozen=True, slots=True)
class PlanPhase:
    name: str
    nodes: list[str]
    commands: list[str]
    description: str
    reads: str | None = None  # what the runner reads from the last command's output


class PlanError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def render_plan(spec: ProvisionSpec) -> list[PlanPhase]:
    problems = spec_problems(spec)
    if problems:
        raise PlanError(problems)
    first = spec.control_planes[0]
    phases = [
        PlanPhase(
            "preflight",
            _names(spec.nodes),
            [command for _, command in INSPECT_STEPS],
            "Connect over SSH and check each node: reachable, logged in, declared OS, CPUs, memory, free ports.",
        ),
        *_node_phases(spec),
        _init_phase(spec, first),
        *_join_phases(spec),
        PlanPhase(
            "cni",
            [first.name],
            addons.cni_commands(spec.cni, spec.pod_cidr),
            f"Install the {spec.cni} network plugin {addons.VERSIONS[spec.cni]} for pod CIDR {spec.pod_cidr}.",
        ),
        PlanPhase(
            "ingress",
            [first.name],
            addons.ingress_commands(spec.ingress),
            f"Install the {spec.ingress} ingress controller, exposed on every node through a NodePort service.",
        ),
        *_hardening_phases(spec),
        PlanPhase(
            "verify",
            [first.name],
            kubeadm.verify_commands(len(spec.nodes)),
            f"Wait until all {len(spec.nodes)} nodes are Ready and show the cluster.",
        ),
        PlanPhase(
            "register",
            [first.name],
            [f"cat {kubeadm.ADMIN_KUBECONFIG}"],
            f"Read the cluster's admin kubeconfig from {first.name}; it is stored encrypted and the cluster "
            "joins the fleet.",
            reads=READS_KUBECONFIG,
        ),
    ]
    return phases


def join_plan(spec: ProvisionSpec, joining: Sequence[SshNode]) -> list[PlanPhase]:
    """What worker machines of `spec` run to join its running cluster: the node setup, then the join."""
    endpoint = api_endpoint(spec)
    names = _names(joining)
    return [
        *_node_phases(dataclasses.replace(spec, nodes=list(joining))),
        PlanPhase(
            "worker-join",
            names,
            kubeadm.worker_join_commands(endpoint),
            f"Join {', '.join(names)} through {endpoint} with a fresh token.",
        ),
    ]


def api_endpoint(spec: ProvisionSpec) -> str:
    """host:port that nodes join through: the HA endpoint, or the first control plane's API server."""
    if spec.ha and spec.control_plane_endpoint:
        match = _HOST_PORT.match(spec.control_plane_endpoint)
        if match and match.group("port"):
            return spec.control_plane_endpoint
        return _host_port(spec.control_plane_endpoint)
    return _host_port(spec.control_planes[0].ip_address)


def _host_port(host: str) -> str:
    bare = host.strip("[]")
    try:
        is_v6 = ipaddress.ip_address(bare).version == 6
    except ValueError:
        is_v6 = False
    return f"[{bare}]:{kubeadm.API_PORT}" if is_v6 else f"{host}:{kubeadm.API_PORT}"


def _names(nodes: Sequence[SshNode]) -> list[str]:
    return [node.name for node in nodes]


def _groups(nodes: Sequence[SshNode], *, by_role: bool) -> list[tuple[OsFamily, bool, list[SshNode]]]:
    """Nodes grouped by OS family (and role), in the order the groups first appear."""
    groups: dict[tuple[str, bool], tuple[OsFamily, bool, list[SshNode]]] = {}
    for node in nodes:
        family = OS_TYPES[node.os_type]
        control_plane = by_role and node.role == CONTROL_PLANE
        groups.setdefault((family.key, control_plane), (family, control_plane, []))[2].append(node)
    return list(groups.values())


def _node_phases(spec: ProvisionSpec) -> list[PlanPhase]:
    phases = []
    for family, control_plane, nodes in _groups(spec.nodes, by_role=True):
        role = "control plane" if control_plane else "worker"
        phases.append(
            PlanPhase(
                "prepare-os",
                _names(nodes),
                node_setup.prepare_os(family, control_plane, spec.cni),
                f"{family.title} {role} nodes: swap off, overlay and br_netfilter modules, bridge and forwarding "
                f"sysctls. {node_setup.prepare_os_note(family)}",
            )
        )
    for family, _, nodes in _groups(spec.nodes, by_role=False):
        phases.append(
            PlanPhase(
                "container-runtime",
                _names(nodes),
                node_setup.container_runtime(family),
                f"Install containerd with {family.package_manager} on {family.title} and switch it to the systemd "
                "cgroup driver the kubelet uses.",
            )
        )
    for family, _, nodes in _groups(spec.nodes, by_role=False):
        phases.append(
            PlanPhase(
                "kubernetes-packages",
                _names(nodes),
                node_setup.kubernetes_packages(family, spec.version),
                f"Install kubelet, kubeadm and kubectl {spec.version} from pkgs.k8s.io on {family.title} and keep "
                "them from being upgraded by accident.",
            )
        )
    return phases


def _init_phase(spec: ProvisionSpec, first: SshNode) -> PlanPhase:
    endpoint = api_endpoint(spec) if spec.ha else None
    commands = kubeadm.init_commands(
        version=spec.version,
        advertise_address=first.ip_address,
        endpoint=endpoint,
        pod_cidr=spec.pod_cidr,
        service_cidr=spec.service_cidr,
        untaint=not spec.workers,
    )
    ha = ""
    if endpoint:
        ha = f" behind the HA endpoint {endpoint}, uploading the certificates the other control planes need"
        if not spec.control_plane_endpoint:
            ha += f" (no endpoint was given, so it is {first.name}'s own address: put a load balancer on it)"
    return PlanPhase(
        "control-plane-init",
        [first.name],
        commands,
        f"kubeadm init of Kubernetes {spec.version} on {first.name}{ha}; the last command prints the CA "
        "certificate hash the joins need. The join token and certificate key come from the runner.",
        reads=READS_CA_CERT_HASH,
    )


def _join_phases(spec: ProvisionSpec) -> list[PlanPhase]:
    endpoint = api_endpoint(spec)
    phases = []
    if spec.ha:
        for node in spec.control_planes[1:]:
            phases.append(
                PlanPhase(
                    "control-plane-join",
                    [node.name],
                    kubeadm.control_plane_join_commands(endpoint, node.ip_address),
                    f"Join {node.name} as a control plane through {endpoint} (one at a time, so etcd grows safely).",
                )
            )
    if spec.workers:
        phases.append(
            PlanPhase(
                "worker-join",
                _names(spec.workers),
                kubeadm.worker_join_commands(endpoint),
                f"Join the workers through {endpoint}.",
            )
        )
    return phases


def _hardening_phases(spec: ProvisionSpec) -> list[PlanPhase]:
    k8s, linux = spec.hardening.enable_cis_k8s_benchmark, spec.hardening.enable_cis_linux_benchmark
    if not (k8s or linux):
        return []
    phases = []
    for node in spec.control_planes:
        family = OS_TYPES[node.os_type]
        commands = (hardening.control_plane_steps() + hardening.kubelet_steps()) if k8s else []
        commands += hardening.linux_steps(family) if linux else []
        note = hardening.hardening_note(k8s, linux, family, control_plane=True)
        phases.append(PlanPhase("hardening", [node.name], commands, f"{note} One control plane at a time."))
    for family, _, nodes in _groups(spec.workers, by_role=False):
        commands = hardening.kubelet_steps() if k8s else []
        commands += hardening.linux_steps(family) if linux else []
        note = hardening.hardening_note(k8s, linux, family, control_plane=False)
        phases.append(PlanPhase("hardening", _names(nodes), commands, note))
    return phases


def spec_problems(spec: ProvisionSpec) -> list[str]:
    """Everything wrong with a request, so a user sees all of it at once."""
    problems = []
    if not _DNS_NAME.match(spec.name) or len(spec.name) > 63:
        problems.append(f"name {spec.name!r} must be a DNS label (lowercase letters, digits, '-')")
    version = _VERSION.match(spec.kubernetes_version)
    if not version:
        problems.append(f"kubernetes_version {spec.kubernetes_version!r} must look like 1.28.3")
    elif (int(version.group(1)), int(version.group(2))) < (1, MIN_MINOR):
        problems.append(f"kubernetes_version must be 1.{MIN_MINOR} or newer")
    for value, allowed, what in (
        (spec.cni, addons.CNIS, "cni"),
        (spec.ingress, addons.INGRESSES, "ingress"),
        (spec.runtime, RUNTIMES, "runtime"),
    ):
        if value not in allowed:
            problems.append(f"{what} {value!r} is not one of {', '.join(allowed)}")
    problems += _network_problems(spec)
    problems += _node_problems(spec)
    return problems


def _network_problems(spec: ProvisionSpec) -> list[str]:
    problems = []
    networks = []
    for label, cidr in (("pod_cidr", spec.pod_cidr), ("service_cidr", spec.service_cidr)):
        try:
            networks.append(ipaddress.ip_network(cidr))
        except ValueError:
            problems.append(f"{label} {cidr!r} is not a network in CIDR notation")
    if len(networks) == 2 and networks[0].version == networks[1].version and networks[0].overlaps(networks[1]):
        problems.append(f"pod_cidr {spec.pod_cidr} overlaps service_cidr {spec.service_cidr}")
    if spec.control_plane_endpoint is not None:
        match = _HOST_PORT.match(spec.control_plane_endpoint)
        if not match or (match.group("port") and not 0 < int(match.group("port")) < 65536):
            problems.append(f"control_plane_endpoint {spec.control_plane_endpoint!r} must be host or host:port")
    return problems


def _node_problems(spec: ProvisionSpec) -> list[str]:
    problems = []
    control_planes = len(spec.control_planes)
    if control_planes == 0:
        problems.append("at least one node must have the control-plane role")
    if control_planes > 1 and not spec.ha:
        problems.append(f"{control_planes} control-plane nodes need ha: true")
    seen_names: set[str] = set()
    seen_ips: set[str] = set()
    for node in spec.nodes:
        if not _DNS_NAME.match(node.name) or len(node.name) > 253:
            problems.append(f"node name {node.name!r} must be a DNS name (lowercase letters, digits, '-', '.')")
        if node.name in seen_names:
            problems.append(f"node name {node.name!r} appears twice")
        if node.role not in (CONTROL_PLANE, WORKER):
            problems.append(f"node {node.name}: role {node.role!r} is not control-plane or worker")
        if node.os_type not in OS_TYPES:
            problems.append(f"node {node.name}: os_type {node.os_type!r} is not one of {', '.join(OS_TYPES)}")
        try:
            ipaddress.ip_address(node.ip_address)
        except ValueError:
            problems.append(f"node {node.name}: ip_address {node.ip_address!r} is not an IP address")
        if node.ip_address in seen_ips:
            problems.append(f"node {node.name}: ip_address {node.ip_address} is used by another node")
        seen_names.add(node.name)
        seen_ips.add(node.ip_address)
    return problems

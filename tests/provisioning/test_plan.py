"""The kubeadm phase plan: its phases, nodes and commands for the choices a create-cluster request makes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from app.provisioning import hardening
from app.provisioning.addons import VERSIONS
from app.provisioning.kubeadm import (
    CA_CERT_HASH_COMMAND,
    new_certificate_key,
    new_join_token,
    parse_ca_cert_hash,
    parse_join_command,
)
from app.provisioning.models import SshNode
from app.provisioning.node_setup import write_lines
from app.provisioning.plan import (
    READS_CA_CERT_HASH,
    READS_KUBECONFIG,
    Hardening,
    PlanError,
    PlanPhase,
    ProvisionSpec,
    join_plan,
    render_plan,
)

CP1 = SshNode("control-01", "control-plane", "192.168.1.10", os_type="rocky9")
CP2 = SshNode("control-02", "control-plane", "192.168.1.11", os_type="rocky9")
CP3 = SshNode("control-03", "control-plane", "192.168.1.12", os_type="rhel9")
W1 = SshNode("worker-01", "worker", "192.168.1.20", os_type="rocky9")
W2 = SshNode("worker-02", "worker", "192.168.1.21", os_type="ubuntu22")

SINGLE = ProvisionSpec("small", "1.28.3", [CP1, W1])
HA = ProvisionSpec("big", "1.28.3", [CP1, CP2, CP3, W1, W2], ha=True, control_plane_endpoint="k8s.example.com")
CIS_BOTH = Hardening(enable_cis_k8s_benchmark=True, enable_cis_linux_benchmark=True)


def phase_names(phases: list[PlanPhase]) -> list[str]:
    return [phase.name for phase in phases]


def only(phases: list[PlanPhase], name: str) -> PlanPhase:
    [phase] = [phase for phase in phases if phase.name == name]
    return phase


def all_commands(phases: list[PlanPhase]) -> str:
    return "\n".join(command for phase in phases for command in phase.commands)


def with_changes(spec: ProvisionSpec, **changes: object) -> ProvisionSpec:
    fields = {name: getattr(spec, name) for name in spec.__dataclass_fields__}
    return ProvisionSpec(**{**fields, **changes})  # type: ignore[arg-type]


def test_single_control_plane_phases_in_order() -> None:
    phases = render_plan(SINGLE)

    assert phase_names(phases) == [
        "preflight",
        "prepare-os",
        "prepare-os",
        "container-runtime",
        "kubernetes-packages",
        "control-plane-init",
        "worker-join",
        "cni",
        "ingress",
        "verify",
        "register",
    ]
    assert phases[0].nodes == ["control-01", "worker-01"]
    assert [phase.nodes for phase in phases[1:3]] == [["control-01"], ["worker-01"]]
    init = only(phases, "control-plane-init")
    assert init.nodes == ["control-01"]
    assert "--control-plane-endpoint" not in init.commands[0] and "--upload-certs" not in init.commands[0]
    join = only(phases, "worker-join")
    assert join.nodes == ["worker-01"]
    assert "kubeadm join 192.168.1.10:6443 " in join.commands[0]
    assert "--control-plane" not in join.commands[0]


def test_the_runner_reads_the_ca_hash_after_init_and_the_kubeconfig_last() -> None:
    for spec in (SINGLE, HA, ProvisionSpec("solo", "1.28.3", [CP1])):
        phases = render_plan(spec)
        init, register = only(phases, "control-plane-init"), phases[-1]
        assert (init.reads, init.commands[-1]) == (READS_CA_CERT_HASH, CA_CERT_HASH_COMMAND)
        assert register.name == "register" and register.reads == READS_KUBECONFIG
        assert (register.nodes, register.commands) == (["control-01"], ["cat /etc/kubernetes/admin.conf"])
        assert [phase.name for phase in phases if phase.reads] == ["control-plane-init", "register"]


def test_a_worker_joining_later_gets_its_os_setup_and_the_join() -> None:
    late = SshNode("worker-03", "worker", "192.168.1.22", os_type="ubuntu22")
    spec = with_changes(HA, nodes=[*HA.nodes, late])
    phases = join_plan(spec, [late])

    assert phase_names(phases) == ["prepare-os", "container-runtime", "kubernetes-packages", "worker-join"]
    assert all(phase.nodes == ["worker-03"] for phase in phases)
    assert "apt-get install -y containerd" in all_commands(phases) and "dnf" not in all_commands(phases)
    [join] = phases[-1].commands
    assert join == only(render_plan(HA), "worker-join").commands[0], "the same join as at provisioning"
    assert "kubeadm join k8s.example.com:6443" in join and "--control-plane" not in join


def test_join_output_is_read_for_the_token_and_hash() -> None:
    digest = "a" * 64
    printed = (
        "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef \\\n"
        f"    --discovery-token-ca-cert-hash sha256:{digest}\n"
    )
    assert parse_join_command(printed) == ("abcdef.0123456789abcdef", digest)
    assert parse_join_command("kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef") is None
    assert parse_ca_cert_hash(f"{digest}\n") == digest == parse_ca_cert_hash(f"sha256:{digest}")
    assert parse_ca_cert_hash("unable to load certificate") is None and parse_ca_cert_hash("") is None


def test_kubeadm_init_carries_version_and_networks() -> None:
    spec = with_changes(SINGLE, pod_cidr="10.32.0.0/16", service_cidr="10.100.0.0/16")
    init = only(render_plan(spec), "control-plane-init").commands[0]

    for flag in (
        "--kubernetes-version=v1.28.3",
        "--pod-network-cidr=10.32.0.0/16",
        "--service-cidr=10.100.0.0/16",
        "--apiserver-advertise-address=192.168.1.10",
    ):
        assert flag in init


def test_defaults_follow_the_provisioner_configuration() -> None:
    assert (SINGLE.cni, SINGLE.ingress, SINGLE.runtime) == ("calico", "nginx", "containerd")
    assert (SINGLE.pod_cidr, SINGLE.service_cidr) == ("10.244.0.0/16", "10.96.0.0/12")


def test_ha_initialises_behind_the_endpoint_and_joins_control_planes_one_by_one() -> None:
    phases = render_plan(HA)

    init = only(phases, "control-plane-init").commands[0]
    assert "--control-plane-endpoint=k8s.example.com:6443" in init
    assert "--upload-certs" in init
    cp_joins = [phase for phase in phases if phase.name == "control-plane-join"]
    assert [phase.nodes for phase in cp_joins] == [["control-02"], ["control-03"]]
    for phase, node in zip(cp_joins, (CP2, CP3), strict=True):
        [command] = phase.commands
        assert "kubeadm join k8s.example.com:6443" in command
        assert "--control-plane" in command and "--certificate-key=" in command
        assert f"--apiserver-advertise-address={node.ip_address}" in command
    worker_join = only(phases, "worker-join")
    assert worker_join.nodes == ["worker-01", "worker-02"]
    assert "kubeadm join k8s.example.com:6443" in worker_join.commands[0]
    assert phase_names(phases).index("control-plane-join") < phase_names(phases).index("worker-join")


def test_ha_endpoint_defaults_to_the_first_control_plane() -> None:
    phases = render_plan(with_changes(HA, control_plane_endpoint=None))

    assert "--control-plane-endpoint=192.168.1.10:6443" in only(phases, "control-plane-init").commands[0]
    assert "load balancer" in only(phases, "control-plane-init").description


def test_ha_endpoint_keeps_its_own_port() -> None:
    phases = render_plan(with_changes(HA, control_plane_endpoint="10.0.0.100:8443"))

    assert "--control-plane-endpoint=10.0.0.100:8443" in only(phases, "control-plane-init").commands[0]
    assert "kubeadm join 10.0.0.100:8443" in only(phases, "worker-join").commands[0]


def test_a_lone_control_plane_accepts_workloads() -> None:
    phases = render_plan(ProvisionSpec("solo", "1.28.3", [CP1]))

    assert "worker-join" not in phase_names(phases)
    init = only(phases, "control-plane-init")
    assert any("taint nodes --all node-role.kubernetes.io/control-plane-" in c for c in init.commands)
    assert "taint nodes" not in all_commands(render_plan(SINGLE))


def test_each_os_family_gets_its_own_package_manager() -> None:
    phases = render_plan(HA)

    runtime = [phase for phase in phases if phase.name == "container-runtime"]
    el9_nodes = ["control-01", "control-02", "control-03", "worker-01"]
    assert [phase.nodes for phase in runtime] == [el9_nodes, ["worker-02"]]
    assert "dnf install -y containerd.io" in runtime[0].commands
    assert "apt-get install -y containerd" in runtime[1].commands
    for phase in runtime:
        assert "sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' /etc/containerd/config.toml" in phase.commands
    prepare = [phase for phase in phases if phase.name == "prepare-os"]
    assert [phase.nodes for phase in prepare] == [
        ["control-01", "control-02", "control-03"],
        ["worker-01"],
        ["worker-02"],
    ]
    assert "SELinux" in prepare[0].description and "AppArmor" in prepare[2].description
    assert any("setenforce 0" in command for command in prepare[0].commands)
    for phase in prepare:
        assert "swapoff -a" in phase.commands
        assert "modprobe br_netfilter" in phase.commands
    assert "6443/tcp" in " ".join(prepare[0].commands) and "6443/tcp" not in " ".join(prepare[1].commands)


@pytest.mark.parametrize("version", ["1.29.2", "v1.29.2"])
def test_kubernetes_packages_are_pinned_to_the_requested_version(version: str) -> None:
    phases = render_plan(with_changes(HA, kubernetes_version=version))

    dnf, apt = (phase.commands for phase in phases if phase.name == "kubernetes-packages")
    assert "dnf install -y kubelet-1.29.2 kubeadm-1.29.2 kubectl-1.29.2 --disableexcludes=kubernetes" in dnf
    assert any("baseurl=https://pkgs.k8s.io/core:/stable:/v1.29/rpm/" in command for command in dnf)
    assert any("kubelet='1.29.2-*' kubeadm='1.29.2-*' kubectl='1.29.2-*'" in command for command in apt)
    assert any("https://pkgs.k8s.io/core:/stable:/v1.29/deb/" in command for command in apt)
    assert "apt-mark hold kubelet kubeadm kubectl" in apt
    assert "--kubernetes-version=v1.29.2" in only(phases, "control-plane-init").commands[0]


@pytest.mark.parametrize(
    ("cni", "expected"),
    [
        ("calico", "      cidr: 10.32.0.0/16"),
        ("cilium", "'ipam.operator.clusterPoolIPv4PodCIDRList={10.32.0.0/16}'"),
        ("flannel", '"Network": "10.32.0.0/16"'),
    ],
)
def test_cni_is_installed_with_the_pod_cidr(cni: str, expected: str) -> None:
    phases = render_plan(with_changes(SINGLE, cni=cni, pod_cidr="10.32.0.0/16"))

    phase = only(phases, "cni")
    assert phase.nodes == ["control-01"]
    assert expected in "\n".join(phase.commands)
    assert VERSIONS[cni] in "\n".join(phase.commands)
    assert phase_names(phases).index("cni") > phase_names(phases).index("worker-join")


@pytest.mark.parametrize(
    ("ingress", "expected"),
    [
        ("nginx", f"ingress-nginx/{VERSIONS['ingress-nginx']}/deploy/static/provider/baremetal/deploy.yaml"),
        ("traefik", f"traefik/traefik --version {VERSIONS['traefik']}"),
        ("haproxy", f"haproxytech/kubernetes-ingress --version {VERSIONS['haproxy']}"),
    ],
)
def test_ingress_controller_is_installed(ingress: str, expected: str) -> None:
    phases = render_plan(with_changes(SINGLE, ingress=ingress))

    phase = only(phases, "ingress")
    assert phase.nodes == ["control-01"]
    assert expected in "\n".join(phase.commands)


def test_no_hardening_unless_asked() -> None:
    phases = render_plan(HA)

    assert "hardening" not in phase_names(phases)
    assert "--profiling=false" not in all_commands(phases)


def test_cis_kubernetes_hardening_runs_after_the_cluster_is_up() -> None:
    phases = render_plan(with_changes(HA, hardening=Hardening(enable_cis_k8s_benchmark=True)))

    names = phase_names(phases)
    hardened = [phase for phase in phases if phase.name == "hardening"]
    assert [phase.nodes for phase in hardened] == [
        ["control-01"],
        ["control-02"],
        ["control-03"],
        ["worker-01"],
        ["worker-02"],
    ]
    assert names.index("ingress") < names.index("hardening") and names[-2:] == ["verify", "register"]
    control = "\n".join(hardened[0].commands)
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert f"s|^    - {component}$|&\\n    - --profiling=false|" in control
    assert "--audit-policy-file=/etc/kubernetes/audit/policy.yaml" in control
    assert "protectKernelDefaults: true" in control
    worker = "\n".join(hardened[3].commands)
    assert "--profiling=false" not in worker and "protectKernelDefaults: true" in worker
    assert "enabled: false" in worker
    assert "sshd_config.d" not in control + worker


def test_cis_linux_hardening_alone_leaves_kubernetes_flags_alone() -> None:
    phases = render_plan(with_changes(SINGLE, hardening=Hardening(enable_cis_linux_benchmark=True)))

    text = "\n".join(command for phase in phases if phase.name == "hardening" for command in phase.commands)
    assert "/etc/ssh/sshd_config.d/10-fleetgraph-cis.conf" in text
    assert "systemctl enable --now auditd" in text
    assert "--profiling=false" not in text and "protectKernelDefaults" not in text
    assert "net.ipv4.ip_forward" not in text


def test_no_secret_ever_appears_in_a_command() -> None:
    token, certificate_key = new_join_token(), new_certificate_key()
    assert re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", token)
    assert re.fullmatch(r"[0-9a-f]{64}", certificate_key)

    for spec in (SINGLE, with_changes(HA, hardening=CIS_BOTH)):
        text = all_commands(render_plan(spec))
        assert token not in text and certificate_key not in text
        assert not re.search(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b", text)
        assert not re.search(r"\b[0-9a-f]{64}\b", text)
        assert '--token="${FLEETGRAPH_JOIN_TOKEN}"' in text
    assert '--certificate-key="${FLEETGRAPH_CERTIFICATE_KEY}"' in all_commands(render_plan(HA))


@pytest.mark.parametrize(
    "spec",
    [
        SINGLE,
        with_changes(HA, hardening=CIS_BOTH, cni="cilium", ingress="traefik"),
        with_changes(SINGLE, hardening=CIS_BOTH, cni="flannel", ingress="haproxy"),
    ],
)
def test_every_phase_is_valid_shell(spec: ProvisionSpec) -> None:
    for phase in render_plan(spec):
        script = "\n".join(phase.commands) + "\n"
        checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, f"{phase.name}: {checked.stderr}"


def test_written_files_hold_exactly_their_lines(tmp_path: Path) -> None:
    target = tmp_path / "file.conf"
    lines = ("key = 1", "it's 100% here", "[section]")

    subprocess.run(["sh", "-c", write_lines(str(target), lines)], check=True)

    assert target.read_text() == "key = 1\nit's 100% here\n[section]\n"


APISERVER_MANIFEST = """\
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=192.168.1.10
    - --profiling=true
    image: registry.k8s.io/kube-apiserver:v1.28.3
    name: kube-apiserver
    volumeMounts:
    - mountPath: /etc/kubernetes/pki
      name: k8s-certs
      readOnly: true
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki
      type: DirectoryOrCreate
    name: k8s-certs
"""


def test_manifest_edits_are_idempotent_and_keep_the_pod_valid(tmp_path: Path) -> None:
    manifest = tmp_path / "kube-apiserver.yaml"
    manifest.write_text(APISERVER_MANIFEST)
    edits = [
        command.replace(hardening.MANIFESTS, str(tmp_path))
        for command in hardening.control_plane_steps()
        if "kube-apiserver.yaml" in command
    ]

    for _ in range(2):
        for command in edits:
            subprocess.run(["sh", "-c", command], check=True)

    pod = yaml.safe_load(manifest.read_text())
    container = pod["spec"]["containers"][0]
    args = container["command"]
    assert args[0] == "kube-apiserver"
    assert args.count("--profiling=false") == 1 and "--profiling=true" not in args
    assert "--audit-log-maxage=30" in args and "--advertise-address=192.168.1.10" in args
    assert [mount["name"] for mount in container["volumeMounts"]] == ["audit-policy", "audit-log", "k8s-certs"]
    assert [volume["name"] for volume in pod["spec"]["volumes"]] == ["audit-policy", "audit-log", "k8s-certs"]


KUBELET_CONFIG = """\
apiVersion: kubelet.config.k8s.io/v1beta1
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: true
authorization:
  mode: Webhook
cgroupDriver: systemd
kind: KubeletConfiguration
readOnlyPort: 10255
"""


def test_kubelet_edits_produce_the_hardened_configuration(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(KUBELET_CONFIG)
    edits = [
        command.replace(hardening.KUBELET_CONFIG, str(config))
        for command in hardening.kubelet_steps()
        if hardening.KUBELET_CONFIG in command and "chmod" not in command
    ]

    for _ in range(2):
        for command in edits:
            subprocess.run(["sh", "-c", command], check=True)

    settings = yaml.safe_load(config.read_text())
    assert settings["authentication"]["anonymous"]["enabled"] is False
    assert settings["authentication"]["webhook"]["enabled"] is True
    assert settings["protectKernelDefaults"] is True and settings["rotateCertificates"] is True
    assert settings["readOnlyPort"] == 0


def test_invalid_requests_list_every_problem() -> None:
    bad = ProvisionSpec(
        "Bad Name",
        "latest",
        [
            SshNode("control-01", "control-plane", "192.168.1.10", os_type="rocky9"),
            SshNode("control-02", "control-plane", "192.168.1.10", os_type="centos7"),
            SshNode("w1; rm -rf /", "worker", "not-an-ip", os_type="ubuntu22"),
        ],
        cni="weave",
        ingress="istio",
        runtime="docker",
        pod_cidr="10.96.0.0/16",
        control_plane_endpoint="lb.example.com:99999",
    )

    with pytest.raises(PlanError) as raised:
        render_plan(bad)

    problems = "\n".join(raised.value.problems)
    for fragment in (
        "name 'Bad Name'",
        "kubernetes_version 'latest'",
        "cni 'weave'",
        "ingress 'istio'",
        "runtime 'docker'",
        "overlaps service_cidr",
        "control_plane_endpoint 'lb.example.com:99999'",
        "2 control-plane nodes need ha: true",
        "os_type 'centos7'",
        "ip_address 192.168.1.10 is used by another node",
        "node name 'w1; rm -rf /'",
        "ip_address 'not-an-ip'",
    ):
        assert fragment in problems


def test_a_cluster_needs_a_control_plane_and_a_packaged_version() -> None:
    with pytest.raises(PlanError, match="at least one node must have the control-plane role"):
        render_plan(ProvisionSpec("workers", "1.28.3", [W1]))
    with pytest.raises(PlanError, match="1.24 or newer"):
        render_plan(ProvisionSpec("old", "1.23.17", [CP1]))

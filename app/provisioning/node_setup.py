"""Per-node preparation commands: OS settings, the container runtime and the pinned Kubernetes packages."""

from __future__ import annotations

from app.provisioning.os_types import OsFamily

CONTROL_PLANE_PORTS = ("6443/tcp", "2379-2380/tcp", "10257/tcp", "10259/tcp")
NODE_PORTS = ("10250/tcp", "10256/tcp", "30000-32767/tcp")
CNI_PORTS: dict[str, tuple[str, ...]] = {
    "calico": ("179/tcp", "4789/udp", "5473/tcp"),
    "cilium": ("8472/udp", "4240/tcp"),
    "flannel": ("8472/udp",),
}

KUBERNETES_SYSCTLS = (
    "net.bridge.bridge-nf-call-iptables = 1",
    "net.bridge.bridge-nf-call-ip6tables = 1",
    "net.ipv4.ip_forward = 1",
)


def write_lines(path: str, lines: tuple[str, ...] | list[str]) -> str:
    """A command that writes `lines` to `path` (printf keeps it one line and free of heredoc quoting)."""
    body = "\\n".join(line.replace("'", "'\\''").replace("%", "%%") for line in lines)
    return f"printf '{body}\\n' > {path}"


def prepare_os(family: OsFamily, control_plane: bool, cni: str) -> list[str]:
    ports = (*CONTROL_PLANE_PORTS, *NODE_PORTS) if control_plane else NODE_PORTS
    ports = (*ports, *CNI_PORTS.get(cni, ()))
    commands = [
        "swapoff -a",
        "sed -ri '/\\sswap\\s/s/^#?/#/' /etc/fstab",
        write_lines("/etc/modules-load.d/k8s.conf", ("overlay", "br_netfilter")),
        "modprobe overlay",
        "modprobe br_netfilter",
        write_lines("/etc/sysctl.d/k8s.conf", KUBERNETES_SYSCTLS),
        "sysctl --system",
    ]
    if family.package_manager == "dnf":
        return [
            "dnf install -y curl tar iproute-tc conntrack-tools socat container-selinux",
            *commands,
            "setenforce 0 || true",
            "sed -i 's/^SELINUX=enforcing$/SELINUX=permissive/' /etc/selinux/config",
            _firewalld(ports),
        ]
    return [
        "apt-get update",
        "apt-get install -y apt-transport-https ca-certificates curl gpg conntrack socat",
        *commands,
        _ufw(ports),
    ]


def prepare_os_note(family: OsFamily) -> str:
    if family.package_manager == "dnf":
        return (
            "SELinux is set to permissive, as kubeadm's installation guide requires for CNI plugins that "
            "reach the host filesystem; firewalld, when active, opens the ports of the node's role and CNI."
        )
    return (
        "AppArmor stays enabled: containerd confines every container with its default profile; "
        "ufw, when active, opens the ports of the node's role and CNI."
    )


def _firewalld(ports: tuple[str, ...]) -> str:
    adds = " ".join(f"--add-port={port}" for port in ports)
    return f"if systemctl is-active --quiet firewalld; then firewall-cmd --permanent {adds}; firewall-cmd --reload; fi"


def _ufw(ports: tuple[str, ...]) -> str:
    allows = "; ".join(f"ufw allow {port.replace('-', ':')}" for port in ports)
    return f"if ufw status 2>/dev/null | grep -q 'Status: active'; then {allows}; fi"


def container_runtime(family: OsFamily) -> list[str]:
    if family.package_manager == "dnf":
        install = [
            "dnf install -y dnf-plugins-core",
            "dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo",
            "dnf install -y containerd.io",
        ]
    else:
        install = ["apt-get install -y containerd"]
    return [
        *install,
        "mkdir -p /etc/containerd",
        "containerd config default > /etc/containerd/config.toml",
        "sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' /etc/containerd/config.toml",
        write_lines("/etc/crictl.yaml", ("runtime-endpoint: unix:///run/containerd/containerd.sock",)),
        "systemctl enable containerd",
        "systemctl restart containerd",
    ]


def kubernetes_packages(family: OsFamily, version: str) -> list[str]:
    """kubelet, kubeadm and kubectl at exactly `version` (e.g. 1.28.3), from pkgs.k8s.io."""
    minor = "v" + ".".join(version.split(".")[:2])
    if family.package_manager == "dnf":
        repo = f"https://pkgs.k8s.io/core:/stable:/{minor}/rpm/"
        return [
            write_lines(
                "/etc/yum.repos.d/kubernetes.repo",
                (
                    "[kubernetes]",
                    "name=Kubernetes",
                    f"baseurl={repo}",
                    "enabled=1",
                    "gpgcheck=1",
                    f"gpgkey={repo}repodata/repomd.xml.key",
                    "exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni",
                ),
            ),
            f"dnf install -y kubelet-{version} kubeadm-{version} kubectl-{version} --disableexcludes=kubernetes",
            "systemctl enable --now kubelet",
        ]
    repo = f"https://pkgs.k8s.io/core:/stable:/{minor}/deb/"
    keyring = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg"
    pinned = " ".join(f"{name}='{version}-*'" for name in ("kubelet", "kubeadm", "kubectl"))
    return [
        "mkdir -p -m 755 /etc/apt/keyrings",
        f"curl -fsSL {repo}Release.key | gpg --dearmor --yes -o {keyring}",
        f"echo 'deb [signed-by={keyring}] {repo} /' > /etc/apt/sources.list.d/kubernetes.list",
        "apt-get update",
        f"apt-get install -y --allow-change-held-packages {pinned}",
        "apt-mark hold kubelet kubeadm kubectl",
        "systemctl enable --now kubelet",
    ]

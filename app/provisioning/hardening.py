"""CIS benchmark hardening, applied after every node has joined.

It runs last on purpose: some settings (file modes, kubelet protections) would get in the way of
`kubeadm join`, and the static pod manifests only exist once kubeadm has written them. Each edit is
idempotent (a flag is removed before it is added), and the manifests are backed up first.

Left out, deliberately: the API server's `--anonymous-auth=false` (CIS 1.2.1) breaks kubeadm's
liveness probes and token discovery, so anonymous access is turned off on the kubelets (4.2.1)
instead; the Linux benchmark's `net.ipv4.ip_forward = 0` would break pod networking; SSH root login is
not disabled, since Fleetgraph may itself log in as root.
"""

from __future__ import annotations

from app.provisioning.addons import until
from app.provisioning.kubeadm import ADMIN_KUBECONFIG
from app.provisioning.node_setup import write_lines
from app.provisioning.os_types import OsFamily

MANIFESTS = "/etc/kubernetes/manifests"
BACKUP = "/etc/kubernetes/fleetgraph-backup"
AUDIT_DIR = "/etc/kubernetes/audit"
AUDIT_LOG_DIR = "/var/log/kubernetes/audit"
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"

CONTROL_PLANE_FLAGS: dict[str, tuple[str, ...]] = {
    "kube-apiserver": (
        "--profiling=false",
        f"--audit-policy-file={AUDIT_DIR}/policy.yaml",
        f"--audit-log-path={AUDIT_LOG_DIR}/audit.log",
        "--audit-log-maxage=30",
        "--audit-log-maxbackup=10",
        "--audit-log-maxsize=100",
    ),
    "kube-controller-manager": ("--profiling=false", "--terminated-pod-gc-threshold=10"),
    "kube-scheduler": ("--profiling=false",),
}

KUBELET_SETTINGS = ("protectKernelDefaults: true", "readOnlyPort: 0", "rotateCertificates: true")

# What the kubelet insists on when protectKernelDefaults is true.
KUBELET_SYSCTLS = (
    "vm.overcommit_memory = 1",
    "vm.panic_on_oom = 0",
    "kernel.panic = 10",
    "kernel.panic_on_oops = 1",
    "kernel.keys.root_maxkeys = 1000000",
    "kernel.keys.root_maxbytes = 25000000",
)

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"]
- level: None
  users: ["system:kube-proxy"]
  verbs: ["watch"]
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets", "configmaps", "serviceaccounts/token"]
  - group: "authentication.k8s.io"
    resources: ["tokenreviews"]
- level: RequestResponse
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
- level: Metadata
"""

LINUX_SYSCTLS = (
    "net.ipv4.conf.all.send_redirects = 0",
    "net.ipv4.conf.default.send_redirects = 0",
    "net.ipv4.conf.all.accept_redirects = 0",
    "net.ipv4.conf.default.accept_redirects = 0",
    "net.ipv4.conf.all.secure_redirects = 0",
    "net.ipv4.conf.all.accept_source_route = 0",
    "net.ipv4.conf.all.log_martians = 1",
    "net.ipv4.icmp_echo_ignore_broadcasts = 1",
    "net.ipv4.tcp_syncookies = 1",
    "kernel.randomize_va_space = 2",
    "fs.suid_dumpable = 0",
)
UNUSED_FILESYSTEMS = ("cramfs", "freevxfs", "hfs", "hfsplus", "jffs2")
SSHD_SETTINGS = (
    "MaxAuthTries 4",
    "PermitEmptyPasswords no",
    "IgnoreRhosts yes",
    "HostbasedAuthentication no",
    "X11Forwarding no",
    "LoginGraceTime 60",
    "ClientAliveInterval 300",
    "ClientAliveCountMax 3",
)


def _set_flag(component: str, flag: str) -> str:
    name = flag.split("=", 1)[0]
    path = f"{MANIFESTS}/{component}.yaml"
    return f"sed -i -e '/^    - {name}=/d' -e 's|^    - {component}$|&\\n    - {flag}|' {path}"


def _audit_volumes() -> str:
    path = f"{MANIFESTS}/kube-apiserver.yaml"
    mounts = (
        f"    - mountPath: {AUDIT_DIR}\\n      name: audit-policy\\n      readOnly: true\\n"
        f"    - mountPath: {AUDIT_LOG_DIR}\\n      name: audit-log"
    )
    volumes = (
        f"  - hostPath:\\n      path: {AUDIT_DIR}\\n      type: DirectoryOrCreate\\n    name: audit-policy\\n"
        f"  - hostPath:\\n      path: {AUDIT_LOG_DIR}\\n      type: DirectoryOrCreate\\n    name: audit-log"
    )
    return (
        f"grep -q 'name: audit-policy$' {path} || sed -i"
        f" -e 's|^    volumeMounts:$|&\\n{mounts}|' -e 's|^  volumes:$|&\\n{volumes}|' {path}"
    )


def control_plane_steps() -> list[str]:
    """CIS Kubernetes benchmark section 1 on one control plane node (static pods and their files)."""
    commands = [
        f"install -d -m 700 {BACKUP} {AUDIT_DIR} {AUDIT_LOG_DIR}",
        f"cp -n {MANIFESTS}/*.yaml {BACKUP}/",
        f"cat > {AUDIT_DIR}/policy.yaml <<'EOF'\n{AUDIT_POLICY}EOF",
        _audit_volumes(),
    ]
    for component, flags in CONTROL_PLANE_FLAGS.items():
        commands.extend(_set_flag(component, flag) for flag in flags)
    commands += [
        f"chmod 600 {MANIFESTS}/*.yaml {ADMIN_KUBECONFIG} /etc/kubernetes/scheduler.conf"
        " /etc/kubernetes/controller-manager.conf /etc/kubernetes/pki/*.key",
        "chown -R root:root /etc/kubernetes",
        "chmod 700 /var/lib/etcd",
        "sleep 30",  # the kubelet rereads static pod manifests every 20 seconds
        until("curl -fsk https://127.0.0.1:6443/readyz", seconds=300),
    ]
    return commands


def kubelet_steps() -> list[str]:
    """CIS Kubernetes benchmark section 4 on any node (the kubelet)."""
    commands = [
        write_lines("/etc/sysctl.d/90-kubelet-protect-kernel-defaults.conf", KUBELET_SYSCTLS),
        "sysctl --system",
    ]
    for setting in KUBELET_SETTINGS:
        key = setting.split(":", 1)[0]
        commands.append(f"sed -i '/^{key}:/d' {KUBELET_CONFIG} && echo '{setting}' >> {KUBELET_CONFIG}")
    commands += [
        f"sed -i '/^  anonymous:$/{{n;s/^    enabled: true$/    enabled: false/}}' {KUBELET_CONFIG}",
        f"grep -A1 '^  anonymous:$' {KUBELET_CONFIG} | grep -q 'enabled: false'",
        f"grep -A1 '^authorization:$' {KUBELET_CONFIG} | grep -q 'mode: Webhook'",
        f"chmod 600 {KUBELET_CONFIG} /etc/kubernetes/kubelet.conf",
        "chmod 600 /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
        "systemctl restart kubelet",
        "systemctl is-active --quiet kubelet",
    ]
    return commands


def linux_steps(family: OsFamily) -> list[str]:
    """A selection of CIS distribution benchmark steps that leave Kubernetes working."""
    modprobe = [line for fs in UNUSED_FILESYSTEMS for line in (f"install {fs} /bin/false", f"blacklist {fs}")]
    if family.package_manager == "dnf":
        audit, ssh_service, mac = ["dnf install -y audit"], "sshd", []
    else:
        audit, ssh_service = ["apt-get install -y auditd audispd-plugins"], "ssh"
        mac = ["systemctl enable --now apparmor"]
    return [
        write_lines("/etc/modprobe.d/60-fleetgraph-cis.conf", modprobe),
        write_lines("/etc/sysctl.d/60-fleetgraph-cis.conf", LINUX_SYSCTLS),
        "sysctl --system",
        write_lines("/etc/security/limits.d/60-fleetgraph-cis.conf", ("* hard core 0",)),
        write_lines("/etc/ssh/sshd_config.d/10-fleetgraph-cis.conf", SSHD_SETTINGS),
        f"sshd -t && systemctl reload {ssh_service}",
        "chmod 600 /etc/ssh/sshd_config",
        "chmod og-rwx /etc/crontab",
        *audit,
        "systemctl enable --now auditd",
        *mac,
    ]


def hardening_note(kubernetes: bool, linux: bool, family: OsFamily, *, control_plane: bool) -> str:
    parts = []
    if kubernetes:
        control = "profiling off, API audit log with a policy, " if control_plane else ""
        parts.append(
            f"CIS Kubernetes benchmark: {control}kubelet anonymous auth off, protect-kernel-defaults, "
            "read-only port closed, configuration files mode 600"
        )
    if linux:
        selinux = "SELinux stays permissive for the CNI" if family.package_manager == "dnf" else "AppArmor enforced"
        parts.append(
            "CIS Linux benchmark: unused filesystems disabled, network sysctls, no core dumps, "
            f"sshd limits, auditd; {selinux}; IP forwarding and SSH root login are kept for Kubernetes and Fleetgraph"
        )
    return ". ".join(parts) + "."

"""kubeadm init and join commands.

Join secrets never appear in a plan: the commands name shell variables (`$FLEETGRAPH_JOIN_TOKEN`,
`$FLEETGRAPH_CERTIFICATE_KEY`) that the runner exports in the remote shell from values it generates
with `new_join_token` / `new_certificate_key` and keeps encrypted like other credentials. The CA
certificate hash is public; the init phase prints it for the runner to pass to the joins as
`$FLEETGRAPH_CA_CERT_HASH`.
"""

from __future__ import annotations

import secrets
import string
from shlex import quote

ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf"
KUBECTL = f"kubectl --kubeconfig={ADMIN_KUBECONFIG}"
API_PORT = 6443

JOIN_TOKEN_VAR = "FLEETGRAPH_JOIN_TOKEN"
CERTIFICATE_KEY_VAR = "FLEETGRAPH_CERTIFICATE_KEY"
CA_CERT_HASH_VAR = "FLEETGRAPH_CA_CERT_HASH"
SECRET_VARIABLES = (JOIN_TOKEN_VAR, CERTIFICATE_KEY_VAR)

CA_CERT_HASH_COMMAND = (
    "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt"
    " | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex | sed 's/^.* //'"
)

_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


def new_join_token() -> str:
    """A bootstrap token in kubeadm's format ([a-z0-9]{6}.[a-z0-9]{16})."""
    pick = secrets.choice
    return "".join(pick(_TOKEN_ALPHABET) for _ in range(6)) + "." + "".join(pick(_TOKEN_ALPHABET) for _ in range(16))


def new_certificate_key() -> str:
    """The AES-256 key kubeadm encrypts the uploaded control-plane certificates with (64 hex digits)."""
    return secrets.token_hex(32)


def init_commands(
    *,
    version: str,
    advertise_address: str,
    endpoint: str | None,
    pod_cidr: str,
    service_cidr: str,
    untaint: bool,
) -> list[str]:
    flags = [
        f"--kubernetes-version=v{version}",
        f"--apiserver-advertise-address={quote(advertise_address)}",
        f"--pod-network-cidr={quote(pod_cidr)}",
        f"--service-cidr={quote(service_cidr)}",
        f'--token="${{{JOIN_TOKEN_VAR}}}"',
        "--token-ttl=2h",
    ]
    if endpoint is not None:
        flags += [
            f"--control-plane-endpoint={quote(endpoint)}",
            "--upload-certs",
            f'--certificate-key="${{{CERTIFICATE_KEY_VAR}}}"',
        ]
    commands = [
        f"test -f {ADMIN_KUBECONFIG} || kubeadm init " + " ".join(flags),
        CA_CERT_HASH_COMMAND,
    ]
    if untaint:
        commands.append(f"{KUBECTL} taint nodes --all node-role.kubernetes.io/control-plane- || true")
    return commands


def _join(endpoint: str) -> str:
    return (
        f"test -f /etc/kubernetes/kubelet.conf || kubeadm join {quote(endpoint)}"
        f' --token="${{{JOIN_TOKEN_VAR}}}" --discovery-token-ca-cert-hash="sha256:${{{CA_CERT_HASH_VAR}}}"'
    )


def control_plane_join_commands(endpoint: str, advertise_address: str) -> list[str]:
    return [
        _join(endpoint)
        + f' --control-plane --certificate-key="${{{CERTIFICATE_KEY_VAR}}}"'
        + f" --apiserver-advertise-address={quote(advertise_address)}"
    ]


def worker_join_commands(endpoint: str) -> list[str]:
    return [_join(endpoint)]


def verify_commands(node_count: int) -> list[str]:
    return [
        f"{KUBECTL} wait --for=condition=Ready nodes --all --timeout=15m",
        f'test "$({KUBECTL} get nodes --no-headers | wc -l)" -eq {node_count}',
        f"{KUBECTL} get nodes -o wide",
        f"{KUBECTL} -n kube-system get pods -o wide",
    ]

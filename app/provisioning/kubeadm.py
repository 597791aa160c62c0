"""kubeadm init, join, token and reset commands, and how their output is read.

Join secrets never appear in a plan: the commands name shell variables (`$FLEETGRAPH_JOIN_TOKEN`,
`$FLEETGRAPH_CERTIFICATE_KEY`, `$FLEETGRAPH_CA_CERT_HASH`) that the runner sets in the remote shell
(`app.provisioning.execute`) from values it generates with `new_join_token` / `new_certificate_key`
and keeps encrypted like other credentials. The init phase ends by printing the CA certificate hash
for the runner to pass to the joins; a later join gets a fresh token from `kubeadm token create`.
"""

from __future__ import annotations

import re
import secrets
import string
from shlex import quote

ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf"
KUBECTL = f"kubectl --kubeconfig={ADMIN_KUBECONFIG}"
API_PORT = 6443

JOIN_TOKEN_VAR = "FLEETGRAPH_JOIN_TOKEN"
CERTIFICATE_KEY_VAR = "FLEETGRAPH_CERTIFICATE_KEY"
CA_CERT_HASH_VAR = "FLEETGRAPH_CA_CERT_HASH"
SECRET_VARIABLES = (JOIN_TOKEN_VAR, CERTIFICATE_KEY_VAR, CA_CERT_HASH_VAR)

CA_CERT_HASH_COMMAND = (
    "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt"
    " | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex | sed 's/^.* //'"
)

# A fresh token for one more node: kubeadm makes it and prints the join command, hash included.
TOKEN_CREATE_COMMAND = "kubeadm token create --ttl=1h --print-join-command"
# A machine that never got kubeadm has nothing to reset; kubeadm leaves the CNI configuration behind.
RESET_COMMANDS = ("if command -v kubeadm >/dev/null; then kubeadm reset -f; fi", "rm -rf /etc/cni/net.d")

_TOKEN_ALPHABET = string.ascii_lowercase + string.digits
_HASH = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
_JOIN_TOKEN = re.compile(r"--token[= ]\"?([a-z0-9]{6}\.[a-z0-9]{16})\b")
_JOIN_HASH = re.compile(r"--discovery-token-ca-cert-hash[= ]\"?sha256:([0-9a-f]{64})\b")


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
    commands = [f"test -f {ADMIN_KUBECONFIG} || kubeadm init " + " ".join(flags)]
    if untaint:
        commands.append(f"{KUBECTL} taint nodes --all node-role.kubernetes.io/control-plane- || true")
    return [*commands, CA_CERT_HASH_COMMAND]  # last: the runner reads its output


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


def parse_ca_cert_hash(output: str) -> str | None:
    """The 64 hex digits that `CA_CERT_HASH_COMMAND` prints (with or without `sha256:`), or None."""
    lines = output.strip().splitlines()
    match = _HASH.match(lines[-1].strip()) if lines else None
    return match.group(1) if match else None


def parse_join_command(output: str) -> tuple[str, str] | None:
    """(token, CA certificate hash) from `kubeadm token create --print-join-command`, or None."""
    token, digest = _JOIN_TOKEN.search(output), _JOIN_HASH.search(output)
    if token is None or digest is None:
        return None
    return token.group(1), digest.group(1)

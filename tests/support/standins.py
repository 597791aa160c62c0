"""The `kubeadm` and `kubectl` stand-ins of the test machines, run as `standins.py NAME ARGS...`.

Each test machine (tests/support/machines.py) has a directory first on its PATH with a stand-in
for every command a provisioning plan runs; each call is appended to the machine's log
($STANDIN_LOG) as one line, the command and each argument followed by a \x1f. Most stand-ins only
log (small shell scripts); these two act:

- `kubeadm` checks its arguments as kubeadm would and keeps the cluster's state (bootstrap tokens,
  CA certificate hash, uploaded certificate key) in a directory all machines share
  ($STANDIN_CLUSTER), which also holds the kubeconfig of the kubesim cluster that plays the API
  server. `init` writes /etc/kubernetes/{admin.conf,pki/ca.crt} from it; `init` and `join`
  register the machine's Node, as its kubelet would; `token create --print-join-command` makes a
  fresh token; `reset -f` removes /etc/kubernetes. A join's secrets must come from the session's
  environment, never from the command line of the shell that runs kubeadm.
- `kubectl` answers `get nodes` and `wait ... nodes` from the API server of --kubeconfig.

It uses the standard library, PyYAML and cryptography only (imported when needed: each call is a
new process), and never imports the product.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

KUBERNETES = Path("/etc/kubernetes")
TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
VERSION = re.compile(r"^v1\.\d+\.\d+$")
FAIL_JOIN = "fail-next-join"  # a file in the shared directory: the next join of that machine fails
SEPARATOR = "\x1f"


class Refused(Exception):
    """What kubeadm would print before exiting with status 1."""


def main(argv: list[str]) -> int:
    name, args = argv[0], argv[1:]
    with open(os.environ["STANDIN_LOG"], "a") as out:
        out.write("".join(part + SEPARATOR for part in argv) + "\n")
    try:
        return kubeadm(args) if name == "kubeadm" else kubectl(args)
    except Refused as exc:
        print(f"error execution phase: {exc}", file=sys.stderr)
        return 1


# -- kubeadm ----------------------------------------------------------------------------------------


def shared() -> Path:
    return Path(os.environ["STANDIN_CLUSTER"])


def flags(args: list[str]) -> tuple[list[str], dict[str, str]]:
    positional, values = [], {}
    for arg in args:
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            values[key] = value
        elif arg == "-f":
            values["force"] = ""
        else:
            positional.append(arg)
    return positional, values


def kubeadm(args: list[str]) -> int:
    positional, given = flags(args)
    command = " ".join(positional[:2])
    if positional[:1] == ["init"]:
        init(given)
    elif positional[:1] == ["join"]:
        join(positional[1:], given)
    elif command == "token create" and "print-join-command" in given:
        print(join_command(new_token()))
    elif positional[:1] == ["reset"] and "force" in given:
        shutil.rmtree(KUBERNETES, ignore_errors=True)
        print("[reset] Deleted contents of /etc/kubernetes")
    else:
        raise Refused(f"unknown command or missing flags: kubeadm {' '.join(args)}")
    return 0


def from_environment(given: dict[str, str], flag: str, variable: str, pattern: re.Pattern[str]) -> str:
    """The flag's value, which the plan passes as "$VARIABLE": it must equal the exported variable and
    must not be on the command line of the shell that expanded it."""
    value = given.get(flag, "").removeprefix("sha256:")
    if not pattern.match(value):
        raise Refused(f"--{flag} is missing or malformed")
    if os.environ.get(variable) != value:
        raise Refused(f"--{flag} does not come from ${variable}")
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as cmdline:
        if value.encode() in cmdline.read():
            raise Refused(f"the value of --{flag} is on the command line of the shell that runs kubeadm")
    return value


def init(given: dict[str, str]) -> None:
    if (KUBERNETES / "admin.conf").exists():
        raise Refused("/etc/kubernetes/admin.conf already exists")
    for flag in ("pod-network-cidr", "service-cidr", "apiserver-advertise-address", "token-ttl"):
        if not given.get(flag):
            raise Refused(f"--{flag} is missing")
    if not VERSION.match(given.get("kubernetes-version", "")):
        raise Refused("--kubernetes-version is missing or malformed")
    token = from_environment(given, "token", "FLEETGRAPH_JOIN_TOKEN", TOKEN)
    state: dict[str, Any] = {"tokens": [token], "endpoint": f"{given['apiserver-advertise-address']}:6443"}
    if "upload-certs" in given:
        state["certificateKey"] = from_environment(given, "certificate-key", "FLEETGRAPH_CERTIFICATE_KEY", HEX64)
        state["endpoint"] = given.get("control-plane-endpoint") or state["endpoint"]
    config = kubeconfig(shared() / "kubeconfig")
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    state["caCertHash"] = ca_cert_hash(ca)
    (KUBERNETES / "pki").mkdir(parents=True, exist_ok=True)
    (KUBERNETES / "pki" / "ca.crt").write_bytes(ca)
    (KUBERNETES / "admin.conf").write_text((shared() / "kubeconfig").read_text())
    (KUBERNETES / "kubelet.conf").write_text("kubelet\n")
    save(state)
    register_node(control_plane=True)
    print("Your Kubernetes control-plane has initialized successfully!")
    if "certificateKey" in state:
        print(f"[upload-certs] Using certificate key:\n{state['certificateKey']}")
    print("Then you can join any number of worker nodes by running the following on each as root:")
    print(join_command(token).replace(" --discovery", " \\\n    --discovery"))


def join(positional: list[str], given: dict[str, str]) -> None:
    state = load()
    if positional != [state["endpoint"]]:
        raise Refused(f"the API server endpoint is {state['endpoint']}, not {' '.join(positional)}")
    if (KUBERNETES / "kubelet.conf").exists():
        raise Refused("/etc/kubernetes/kubelet.conf already exists")
    token = from_environment(given, "token", "FLEETGRAPH_JOIN_TOKEN", TOKEN)
    if token not in state["tokens"]:
        raise Refused("the bootstrap token is not known to the cluster")
    digest = from_environment(given, "discovery-token-ca-cert-hash", "FLEETGRAPH_CA_CERT_HASH", HEX64)
    if digest != state["caCertHash"]:
        raise Refused("the cluster CA found in cluster-info does not match the CA certificate hash")
    control_plane = "control-plane" in given
    if control_plane:
        key = from_environment(given, "certificate-key", "FLEETGRAPH_CERTIFICATE_KEY", HEX64)
        if key != state.get("certificateKey"):
            raise Refused("the certificate key does not decrypt the uploaded certificates")
    fail = shared() / f"{FAIL_JOIN}-{socket.gethostname()}"
    if fail.exists():
        fail.unlink()
        raise Refused("couldn't validate the identity of the API Server: connection reset")
    (KUBERNETES / "pki").mkdir(parents=True, exist_ok=True)
    (KUBERNETES / "kubelet.conf").write_text("kubelet\n")
    register_node(control_plane=control_plane)
    print("This node has joined the cluster")


def new_token() -> str:
    if not (KUBERNETES / "admin.conf").exists():
        raise Refused("token create needs /etc/kubernetes/admin.conf: run it on a control plane")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    token = "".join(secrets.choice(alphabet) for _ in range(6)) + "." + "".join(
        secrets.choice(alphabet) for _ in range(16)
    )
    state = load()
    state["tokens"].append(token)
    save(state)
    return token


def join_command(token: str) -> str:
    state = load()
    digest = state["caCertHash"]
    return f"kubeadm join {state['endpoint']} --token {token} --discovery-token-ca-cert-hash sha256:{digest}"


def ca_cert_hash(pem: bytes) -> str:
    """sha256 of the CA's DER-encoded SubjectPublicKeyInfo, as kubeadm pins it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    public = x509.load_pem_x509_certificate(pem).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load() -> dict[str, Any]:
    path = shared() / "state.json"
    if not path.exists():
        raise Refused("no control plane has been initialised")
    return dict(json.loads(path.read_text()))


def save(state: dict[str, Any]) -> None:
    (shared() / "state.json").write_text(json.dumps(state))


def register_node(*, control_plane: bool) -> None:
    labels = {"kubernetes.io/hostname": socket.gethostname()}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": socket.gethostname(), "labels": labels}}
    request(kubeconfig(shared() / "kubeconfig"), "POST", "/api/v1/nodes", body)


def kubeconfig(path: Path) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(path.read_text()))


# -- kubectl ----------------------------------------------------------------------------------------


def kubectl(args: list[str]) -> int:
    positional, given = flags(args)
    if "nodes" not in positional or positional[0] not in ("get", "wait"):
        return 0
    config = kubeconfig(Path(given["kubeconfig"]))
    deadline = time.monotonic() + 60
    while True:
        found = request(config, "GET", "/api/v1/nodes")["items"]
        ready = [node for node in found if is_ready(node)]
        if positional[0] == "get":
            for node in found:
                print(f"{node['metadata']['name']}   {'Ready' if is_ready(node) else 'NotReady'}")
            return 0
        if found and len(ready) == len(found):
            for node in found:
                print(f"node/{node['metadata']['name']} condition met")
            return 0
        if time.monotonic() > deadline:
            print("error: timed out waiting for the condition on nodes", file=sys.stderr)
            return 1
        time.sleep(0.2)


def is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def request(config: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    import ssl
    import urllib.request

    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    context = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {user['token']}", "Content-Type": "application/json"}
    call = urllib.request.Request(cluster["server"] + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(call, context=context, timeout=10) as response:
        return json.loads(response.read())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The cluster add-ons a create-cluster request chooses: the CNI plugin and the ingress controller.

Versions are pinned here, in one place, so a plan is reproducible and a reviewer sees what will run.
"""

from __future__ import annotations

from shlex import quote

from app.provisioning.kubeadm import ADMIN_KUBECONFIG, KUBECTL

VERSIONS: dict[str, str] = {
    "helm": "v3.15.4",
    "calico": "v3.28.1",
    "cilium": "1.15.6",
    "flannel": "v0.25.6",
    "ingress-nginx": "controller-v1.11.2",
    "traefik": "30.1.0",
    "haproxy": "1.39.3",
}

CNIS = ("calico", "cilium", "flannel")
INGRESSES = ("nginx", "traefik", "haproxy")

HELM = f"helm --kubeconfig={ADMIN_KUBECONFIG}"


def install_helm() -> str:
    version = VERSIONS["helm"]
    return (
        "command -v helm >/dev/null || "
        "{ arch=$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/'); "
        f'curl -fsSL "https://get.helm.sh/helm-{version}-linux-$arch.tar.gz"'
        ' | tar -xz -C /usr/local/bin --strip-components=1 "linux-$arch/helm"; }'
    )


def until(command: str, *, seconds: int) -> str:
    """Retry `command` every 5 seconds until it succeeds, for at most `seconds` (objects that appear later)."""
    return f"timeout {seconds} sh -c {quote(f'until {command} >/dev/null 2>&1; do sleep 5; done')}"


def cni_commands(cni: str, pod_cidr: str) -> list[str]:
    if cni == "calico":
        return _calico(pod_cidr)
    if cni == "cilium":
        pool = quote("ipam.operator.clusterPoolIPv4PodCIDRList={" + pod_cidr + "}")
        return [
            install_helm(),
            f"{HELM} repo add cilium https://helm.cilium.io/ --force-update",
            f"{HELM} upgrade --install cilium cilium/cilium --version {VERSIONS['cilium']} --namespace kube-system"
            f" --set ipam.mode=cluster-pool --set {pool}",
            f"{KUBECTL} -n kube-system rollout status daemonset/cilium --timeout=10m",
        ]
    if cni == "flannel":
        url = f"https://github.com/flannel-io/flannel/releases/download/{VERSIONS['flannel']}/kube-flannel.yml"
        network = quote(f's|"Network": "10.244.0.0/16"|"Network": "{pod_cidr}"|')
        return [
            f"curl -fsSL {url} | sed {network} | {KUBECTL} apply -f -",
            f"{KUBECTL} -n kube-flannel rollout status daemonset/kube-flannel-ds --timeout=10m",
        ]
    raise ValueError(f"unsupported CNI {cni!r}")


def _calico(pod_cidr: str) -> list[str]:
    operator = f"https://raw.githubusercontent.com/projectcalico/calico/{VERSIONS['calico']}/manifests/tigera-operator.yaml"
    installation = "\n".join(
        [
            f"{KUBECTL} apply -f - <<'EOF'",
            "apiVersion: operator.tigera.io/v1",
            "kind: Installation",
            "metadata:",
            "  name: default",
            "spec:",
            "  calicoNetwork:",
            "    ipPools:",
            "    - name: default-ipv4-ippool",
            "      blockSize: 26",
            f"      cidr: {pod_cidr}",
            "      encapsulation: VXLANCrossSubnet",
            "      natOutgoing: Enabled",
            "      nodeSelector: all()",
            "EOF",
        ]
    )
    return [
        f"{KUBECTL} apply --server-side --force-conflicts -f {operator}",
        f"{KUBECTL} wait --for=condition=Established crd/installations.operator.tigera.io --timeout=5m",
        installation,
        until(f"{KUBECTL} get tigerastatus/calico", seconds=600),
        f"{KUBECTL} wait --for=condition=Available tigerastatus/calico --timeout=10m",
    ]


def ingress_commands(ingress: str) -> list[str]:
    if ingress == "nginx":
        manifest = (
            "https://raw.githubusercontent.com/kubernetes/ingress-nginx/"
            f"{VERSIONS['ingress-nginx']}/deploy/static/provider/baremetal/deploy.yaml"
        )
        return [
            f"{KUBECTL} apply -f {manifest}",
            f"{KUBECTL} -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=10m",
        ]
    if ingress == "traefik":
        return [
            install_helm(),
            f"{HELM} repo add traefik https://traefik.github.io/charts --force-update",
            f"{HELM} upgrade --install traefik traefik/traefik --version {VERSIONS['traefik']}"
            " --namespace traefik --create-namespace --set service.type=NodePort --wait --timeout=10m",
        ]
    if ingress == "haproxy":
        return [
            install_helm(),
            f"{HELM} repo add haproxytech https://haproxytech.github.io/helm-charts --force-update",
            f"{HELM} upgrade --install haproxy-kubernetes-ingress haproxytech/kubernetes-ingress"
            f" --version {VERSIONS['haproxy']} --namespace haproxy-controller --create-namespace"
            " --set controller.service.type=NodePort --wait --timeout=10m",
        ]
    raise ValueError(f"unsupported ingress controller {ingress!r}")

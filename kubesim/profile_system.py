"""Manifests every simulated cluster shares: DNS, kube-proxy, the kubernetes Service, storage."""

from __future__ import annotations

from typing import Any

from kubesim.profile_apps import Manifest, deployment, meta, resources

DNS_LABELS = {"k8s-app": "kube-dns"}
COREFILE = (
    ".:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa\n"
    "    forward . /etc/resolv.conf\n    cache 30\n}\n"
)


def dns() -> list[Manifest]:
    coredns = {
        "name": "coredns",
        "image": "registry.k8s.io/coredns/coredns:v1.11.3",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53},
            {"name": "metrics", "containerPort": 9153},
        ],
        "resources": resources("100m", "70Mi", "500m", "170Mi"),
    }
    deploy = deployment("kube-system", "coredns", 2, coredns, DNS_LABELS, sa="coredns")
    deploy[3]["spec"]["selector"] = {"matchLabels": DNS_LABELS}
    ports = [
        {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
        {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
    ]
    service = {
        "metadata": meta("kube-dns", "kube-system", DNS_LABELS),
        "spec": {"clusterIP": "10.96.0.10", "selector": DNS_LABELS, "ports": ports},
    }
    config = {"metadata": meta("coredns", "kube-system"), "data": {"Corefile": COREFILE}}
    return [
        ("", "v1", "serviceaccounts", {"metadata": meta("coredns", "kube-system")}),
        ("", "v1", "configmaps", config),
        deploy,
        ("", "v1", "services", service),
    ]


def kube_proxy() -> Manifest:
    labels = {"k8s-app": "kube-proxy"}
    container = {
        "name": "kube-proxy",
        "image": "registry.k8s.io/kube-proxy:v1.31.2",
        "securityContext": {"privileged": True},
    }
    pod_spec = {"hostNetwork": True, "priorityClassName": "system-node-critical", "containers": [container]}
    body = {
        "metadata": meta("kube-proxy", "kube-system", labels),
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": pod_spec}},
    }
    return ("apps", "v1", "daemonsets", body)


def apiserver_service() -> list[Manifest]:
    """The ``kubernetes`` Service has no selector; its Endpoints point at the API server."""
    service = {
        "metadata": meta("kubernetes", "default", {"component": "apiserver", "provider": "kubernetes"}),
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]},
    }
    subset = {"addresses": [{"ip": "172.18.0.1"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}
    endpoints = {
        "metadata": meta("kubernetes", "default", {"endpointslice.kubernetes.io/skip-mirror": "true"}),
        "subsets": [subset],
    }
    return [("", "v1", "services", service), ("", "v1", "endpoints", endpoints)]


def storage() -> list[Manifest]:
    """A default dynamically provisioned class, and a manual class with two static volumes."""
    default: dict[str, Any] = {
        "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "ebs.csi.aws.com",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "parameters": {"type": "gp3"},
    }
    manual: dict[str, Any] = {
        "metadata": {"name": "manual"},
        "provisioner": "kubernetes.io/no-provisioner",
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
    }
    manifests: list[Manifest] = [
        ("storage.k8s.io", "v1", "storageclasses", default),
        ("storage.k8s.io", "v1", "storageclasses", manual),
    ]
    for i in range(2):
        spec = {
            "capacity": {"storage": "50Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "manual",
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": f"/mnt/archive-{i}"},
        }
        body = {"metadata": {"name": f"archive-{i}", "labels": {"type": "archive"}}, "spec": spec}
        manifests.append(("", "v1", "persistentvolumes", body))
    return manifests


def system_objects(cluster: str) -> list[Manifest]:
    info = {"metadata": meta("cluster-info", "kube-public"), "data": {"cluster": cluster, "region": "eu-west-1"}}
    return [*dns(), kube_proxy(), *apiserver_service(), *storage(), ("", "v1", "configmaps", info)]

"""The cluster insights' pure computations, on small hand-made objects."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.errors import BadUserInput
from resolvers import insights as ins
from resolvers import insights_search
from resolvers.insights_lb import load_balancer
from resolvers.insights_tls import tls_info

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def obj(kind: str, name: str, namespace: str | None = "app", **rest: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **rest.pop("metadata", {})}
    if namespace:
        metadata["namespace"] = namespace
    return {"kind": kind, "metadata": metadata, **rest}


def pod(name: str, spec: dict[str, Any], owner: tuple[str, str] | None = None) -> dict[str, Any]:
    metadata = {"ownerReferences": [{"kind": owner[0], "name": owner[1], "controller": True}]} if owner else {}
    return obj("Pod", name, spec=spec, metadata=metadata)


def make_certificate(
    cn: str, sans: list[str], not_before: datetime, not_after: datetime, ip: str | None = None
) -> tuple[bytes, bytes]:
    """A self-signed EC certificate and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)])
    alt: list[x509.GeneralName] = [x509.DNSName(s) for s in sans]
    if ip:
        alt.append(x509.IPAddress(ipaddress.ip_address(ip)))
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(0xC0FFEE).not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_endpoints_prefer_slices_and_fill_the_node_from_the_pod() -> None:
    service = obj("Service", "web", spec={"type": "ClusterIP", "clusterIP": "10.0.0.9"})
    slice_ = obj("EndpointSlice", "web-abc", metadata={"labels": {"kubernetes.io/service-name": "web"}},
                 ports=[{"name": "http", "port": 80, "protocol": "TCP"}],
                 endpoints=[{"addresses": ["10.1.0.2"], "conditions": {"ready": False},
                             "targetRef": {"kind": "Pod", "name": "web-2", "namespace": "app"}},
                            {"addresses": ["10.1.0.1"], "nodeName": "n1", "zone": "z1",
                             "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "app"}}])
    stale = obj("Endpoints", "web", subsets=[{"addresses": [{"ip": "9.9.9.9"}]}])
    found = ins.service_endpoints(service, [stale], [slice_], [pod("web-2", {"nodeName": "n2"})])
    assert found.source == "EndpointSlice" and found.cluster_ip == "10.0.0.9"
    assert [(e.ip, e.ready, e.node_name) for e in found.endpoints] == [("10.1.0.1", True, "n1"),
                                                                       ("10.1.0.2", False, "n2")]
    assert found.endpoints[0].zone == "z1" and found.endpoints[0].ports[0].port == 80
    assert found.ready_count == 1


def test_endpoints_fall_back_to_the_endpoints_object() -> None:
    service = obj("Service", "kubernetes", spec={})
    endpoints = obj("Endpoints", "kubernetes", subsets=[{
        "addresses": [{"ip": "172.18.0.1"}], "notReadyAddresses": [{"ip": "172.18.0.2", "nodeName": "n"}],
        "ports": [{"name": "https", "port": 6443}]}])
    found = ins.service_endpoints(service, [endpoints], [], [])
    assert found.source == "Endpoints" and found.type == "ClusterIP"
    assert [(e.ip, e.ready, e.ports[0].protocol) for e in found.endpoints] == [
        ("172.18.0.1", True, "TCP"), ("172.18.0.2", False, "TCP")]
    assert ins.service_endpoints(obj("Service", "other"), [endpoints], [], []).source == "none"


SPEC = {
    "initContainers": [{"name": "init", "envFrom": [{"configMapRef": {"name": "cfg"}}]}],
    "containers": [{"name": "c", "env": [
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "b"}}},
    ]}],
    "volumes": [
        {"name": "v", "secret": {"secretName": "tls"}},
        {"name": "p", "projected": {"sources": [{"configMap": {"name": "cfg"}}, {"secret": {"name": "creds"}}]}},
        {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
    ],
    "imagePullSecrets": [{"name": "pull"}],
}


def test_uses_finds_every_way_a_pod_refers_to_an_object() -> None:
    p = pod("p", SPEC)
    assert ins.uses(p, "ConfigMap", "cfg") == ["env", "envFrom", "projectedVolume"]
    assert ins.uses(p, "Secret", "creds") == ["env", "projectedVolume"]
    assert ins.uses(p, "Secret", "tls") == ["volume"]
    assert ins.uses(p, "Secret", "pull") == ["imagePullSecret"]
    assert ins.uses(p, "PersistentVolumeClaim", "data") == ["volume"]
    assert ins.uses(p, "ConfigMap", "creds") == [] and ins.uses(p, "Secret", "cfg") == []


def test_consumers_name_the_owning_workload_and_stay_in_the_namespace() -> None:
    rs = obj("ReplicaSet", "web-123", metadata={"ownerReferences": [{"kind": "Deployment", "name": "web",
                                                                     "controller": True}]})
    job = obj("Job", "report-1", metadata={"ownerReferences": [{"kind": "CronJob", "name": "report"}]})
    pods = [pod("web-123-a", SPEC, ("ReplicaSet", "web-123")), pod("report-1-x", SPEC, ("Job", "report-1")),
            pod("db-0", SPEC, ("StatefulSet", "db")), pod("bare", SPEC), pod("idle", {"containers": []})]
    other = pod("elsewhere", SPEC)
    other["metadata"]["namespace"] = "other"
    found = ins.consumers("ConfigMap", "app", "cfg", [*pods, other], {"ReplicaSet": [rs], "Job": [job]})
    owners = {c.pod.name: (c.workload.kind, c.workload.name) if c.workload else None for c in found}
    assert owners == {"web-123-a": ("Deployment", "web"), "report-1-x": ("CronJob", "report"),
                      "db-0": ("StatefulSet", "db"), "bare": None}
    assert ins.consumed_kind("cm") == "ConfigMap" and ins.consumed_kind("pvc") == "PersistentVolumeClaim"
    with pytest.raises(BadUserInput):
        ins.consumed_kind("Pod")


def test_tls_info_reads_the_certificate_and_checks_the_key() -> None:
    crt, key = make_certificate("shop.example.com", ["shop.example.com", "www.shop.example.com"],
                                NOW - timedelta(days=10), NOW + timedelta(days=30, hours=5), ip="10.0.0.1")
    _, other_key = make_certificate("x", [], NOW, NOW + timedelta(days=1))
    secret = obj("Secret", "tls", type="kubernetes.io/tls", data={"tls.crt": b64(crt), "tls.key": b64(key)})
    info = tls_info(secret, NOW)
    cert = info.certificate
    assert cert is not None and info.key_matches is True and info.has_key and info.error is None
    assert cert.subject == "CN=shop.example.com" and cert.issuer == cert.subject and cert.self_signed
    assert cert.sans == ["shop.example.com", "www.shop.example.com", "10.0.0.1"]
    assert cert.days_remaining == 30 and not cert.expired and cert.serial_number == "C0FFEE"
    assert cert.valid_to == NOW + timedelta(days=30, hours=5) and cert.public_key_algorithm == "EC secp256r1"
    later = tls_info({**secret, "data": {"tls.crt": b64(crt), "tls.key": b64(other_key)}}, NOW + timedelta(days=31))
    assert later.key_matches is False and later.certificate and later.certificate.expired
    assert later.certificate.days_remaining == -1
    assert "data" not in vars(info) and "tls.key" not in repr(info)


def test_tls_info_on_broken_or_missing_certificates() -> None:
    broken = tls_info(obj("Secret", "t", data={"tls.crt": b64(b"-----BEGIN CERTIFICATE-----\nMIIB\n")}), NOW)
    assert broken.certificate is None and broken.error and broken.key_matches is None and not broken.has_key
    with pytest.raises(BadUserInput):
        tls_info(obj("Secret", "opaque", data={"password": b64(b"x")}), NOW)


def test_storage_class_usage_counts_volumes_claims_and_bytes() -> None:
    gi = 1024.0**3
    classes = [obj("StorageClass", "gp3", None, provisioner="ebs", metadata={"annotations": {
        "storageclass.kubernetes.io/is-default-class": "true"}}), obj("StorageClass", "manual", None)]
    pvs = [obj("PersistentVolume", f"pv{i}", None, spec={"storageClassName": c, "capacity": {"storage": "50Gi"}})
           for i, c in enumerate(("manual", "manual", "gp3"))]

    def claim(cls: str | None, size: str, phase: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"resources": {"requests": {"storage": size}}}
        if cls is not None:
            spec["storageClassName"] = cls
        return obj("PersistentVolumeClaim", "c", spec=spec, status={"phase": phase})

    claims = [claim("gp3", "10Gi", "Bound"), claim(None, "512Mi", "Pending"), claim("", "1Gi", "Bound")]
    gp3, manual = ins.storage_class_usage(classes, pvs, claims)
    assert (gp3.name, gp3.is_default, gp3.persistent_volumes, gp3.persistent_volume_claims) == ("gp3", True, 1, 2)
    assert gp3.requested_bytes == 10.5 * gi and gp3.bound_claims == 1 and gp3.capacity_bytes == 50 * gi
    assert (manual.is_default, manual.persistent_volumes, manual.persistent_volume_claims) == (False, 2, 0)


def test_namespace_counts_include_zeros() -> None:
    objects = {"Pod": [obj("Pod", "a"), obj("Pod", "b"), obj("Pod", "c", "other")], "Secret": [obj("Secret", "s")]}
    app, empty = ins.namespace_counts(["app", "empty"], objects)
    assert app.counts["pods"] == 2 and app.counts["secrets"] == 1 and app.total == 3
    assert empty.total == 0 and set(empty.counts) == set(ins.COUNTED_KINDS)


def test_service_account_tokens() -> None:
    accounts = [obj("ServiceAccount", "default"), obj("ServiceAccount", "api")]
    token = {"type": ins.TOKEN_TYPE, "metadata": {"annotations": {ins.SA_ANNOTATION: "api"}}}
    secrets = [obj("Secret", "api-token", **token), obj("Secret", "api-token-2", **token),
               obj("Secret", "not-a-token", metadata={"annotations": {ins.SA_ANNOTATION: "api"}})]
    pods = [pod("p1", {"serviceAccountName": "api"}), pod("p2", {}), pod("p3", {"serviceAccount": "api"})]
    api, default = ins.service_account_tokens(accounts, secrets, pods)
    assert (api.name, api.token_secrets, api.pods) == ("api", ["api-token", "api-token-2"], 2)
    assert (default.name, default.token_secrets, default.pods) == ("default", [], 1)


def _lb_objects(**extra: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    base: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "Namespace", "Deployment", "DaemonSet", "CustomResourceDefinition", "Service", "Node")}
    return {**base, **extra}


def test_load_balancer_detection() -> None:
    lb = obj("Service", "edge", spec={"type": "LoadBalancer", "ports": [{"port": 443}]},
             status={"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}})
    none = load_balancer(_lb_objects(Service=[obj("Service", "plain", spec={})]), [])
    assert (none.detected, none.provider, none.services) == (False, "none", [])
    cloud = load_balancer(_lb_objects(Service=[lb]), [])
    assert cloud.provider == "cloud" and cloud.services[0].ingress_ips == ["192.0.2.10"]
    template = {"template": {"spec": {"containers": [{"image": "quay.io/metallb/controller:v0.14.8"}]}}}
    metallb = load_balancer(_lb_objects(
        Namespace=[obj("Namespace", "metallb-system", None)],
        Deployment=[obj("Deployment", "controller", "metallb-system", spec=template)],
        DaemonSet=[obj("DaemonSet", "speaker", "metallb-system")],
        CustomResourceDefinition=[obj("CustomResourceDefinition", "ipaddresspools.metallb.io", None,
                                      spec={"group": "metallb.io"})]),
        [obj("IPAddressPool", "pool", "metallb-system", spec={"addresses": ["192.0.2.0/28"]})])
    assert metallb.detected and metallb.provider == "metallb" and metallb.version == "v0.14.8"
    assert metallb.details == ["namespace metallb-system", "deployment metallb-system/controller",
                               "daemonset metallb-system/speaker", "crd ipaddresspools.metallb.io"]
    assert metallb.address_pools[0].addresses == ["192.0.2.0/28"] and metallb.address_pools[0].auto_assign


def test_search_ranks_names_before_labels_and_checks_its_input() -> None:
    objects = {"Pod": [obj("Pod", "web-1"), obj("Pod", "api", metadata={"labels": {"app": "Web"}})],
               "Service": [obj("Service", "web"), obj("Service", "my-web")]}
    hits = insights_search.search(objects, ["Service", "Pod"], "web")
    assert [(h.obj["kind"], h.obj["metadata"]["name"], h.match) for h in hits] == [
        ("Service", "web", "name"), ("Pod", "web-1", "name"), ("Service", "my-web", "name"),
        ("Pod", "api", "label:app")]
    assert insights_search.check_search("  WEB ", 200) == "web"
    for query, limit in (("", 10), ("x", 0), ("x", 201)):
        with pytest.raises(BadUserInput):
            insights_search.check_search(query, limit)
    assert insights_search.search_kinds(["svc", "pods", "Service"]) == ["Service", "Pod"]
    with pytest.raises(BadUserInput):
        insights_search.search_kinds(["nope"])

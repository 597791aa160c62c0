"""Manifests for the small profile's app stacks, built as plain data."""

from __future__ import annotations

import base64
import random
from typing import Any

Manifest = tuple[str, str, str, dict[str, Any]]  # (group, version, plural, body)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def meta(name: str, ns: str | None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels or {}}
    if ns:
        meta["namespace"] = ns
    return meta


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def deployment(
    ns: str,
    name: str,
    replicas: int,
    container: dict[str, Any],
    labels: dict[str, str],
    volumes: list[dict[str, Any]] | None = None,
    sa: str | None = None,
) -> Manifest:
    pod_spec: dict[str, Any] = {"containers": [container]}
    if volumes:
        pod_spec["volumes"] = volumes
    if sa:
        pod_spec["serviceAccountName"] = sa
    body = {
        "metadata": {
            **meta(name, ns, labels),
            "annotations": {"kubernetes.io/change-cause": "initial deploy"},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }
    return ("apps", "v1", "deployments", body)


def _service(
    ns: str,
    name: str,
    port: int,
    target: str | int,
    selector: dict[str, str] | None,
    headless: bool = False,
    port_name: str = "http",
) -> Manifest:
    spec: dict[str, Any] = {
        "ports": [{"name": port_name, "port": port, "targetPort": target, "protocol": "TCP"}]
    }
    if selector:
        spec["selector"] = selector
    if headless:
        spec["clusterIP"] = "None"
    return ("", "v1", "services", {"metadata": meta(name, ns, {"app": name}), "spec": spec})


def _probe(port: str, path: str = "/healthz") -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "initialDelaySeconds": 2, "periodSeconds": 5}


def _bundle(config: str) -> dict[str, Any]:
    """A projected volume: a ConfigMap key, a Secret, the pod's labels and a service account token."""
    sources = [
        {"configMap": {"name": config, "items": [{"key": "SITE_NAME", "path": "site"}]}},
        {"secret": {"name": "app-tls"}},
        {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
    ]
    return {"name": "bundle", "projected": {"sources": sources}}


def _front(ns: str, name: str, rng: random.Random) -> list[Manifest]:
    labels = {"app": name, "tier": "frontend", "app.kubernetes.io/part-of": ns}
    container = {
        "name": "nginx",
        "image": f"nginx:1.{rng.choice((25, 26, 27))}.{rng.randrange(0, 4)}",
        "ports": [{"name": "http", "containerPort": 80}],
        "envFrom": [{"configMapRef": {"name": f"{name}-config"}}],
        "volumeMounts": [
            {"name": "site", "mountPath": "/etc/nginx/conf.d"},
            {"name": "bundle", "mountPath": "/var/run/bundle", "readOnly": True},
        ],
        "readinessProbe": _probe("http"),
        "resources": resources("100m", "64Mi", "500m", "256Mi"),
    }
    volumes = [{"name": "site", "configMap": {"name": f"{name}-config"}}, _bundle(f"{name}-config")]
    config = {
        "metadata": meta(f"{name}-config", ns, {"app": name}),
        "data": {
            "SITE_NAME": f"{ns}-{name}",
            "default.conf": "server { listen 80; location / { root /srv; } }",
        },
    }
    return [
        ("", "v1", "configmaps", config),
        ("", "v1", "serviceaccounts", {"metadata": meta(name, ns)}),
        deployment(ns, name, rng.randrange(2, 5), container, labels, volumes, sa=name),
        _service(ns, name, 80, "http", {"app": name}),
    ]


def _back(ns: str, name: str, db: str, rng: random.Random) -> list[Manifest]:
    labels = {"app": name, "tier": "backend", "app.kubernetes.io/part-of": ns}
    container = {
        "name": name,
        "image": f"ghcr.io/acme/{ns}-{name}:2.{rng.randrange(0, 30)}.{rng.randrange(0, 9)}",
        "ports": [{"name": "http", "containerPort": 8080}],
        "env": [
            {"name": "DATABASE_HOST", "value": f"{db}.{ns}.svc.cluster.local"},
            {
                "name": "DATABASE_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": f"{db}-credentials", "key": "password"}},
            },
            {
                "name": "LOG_LEVEL",
                "valueFrom": {"configMapKeyRef": {"name": f"{name}-config", "key": "LOG_LEVEL"}},
            },
        ],
        "envFrom": [{"secretRef": {"name": f"{name}-secrets"}}],
        "readinessProbe": _probe("http"),
        "resources": resources("200m", "256Mi", "1", "512Mi"),
    }
    config = {
        "metadata": meta(f"{name}-config", ns, {"app": name}),
        "data": {"LOG_LEVEL": "info", "FEATURE_FLAGS": "checkout-v2,fast-search"},
    }
    secret = {
        "metadata": meta(f"{name}-secrets", ns, {"app": name}),
        "type": "Opaque",
        "data": {"API_KEY": _b64(f"key-{rng.getrandbits(48):012x}")},
    }
    return [
        ("", "v1", "configmaps", config),
        ("", "v1", "secrets", secret),
        ("", "v1", "serviceaccounts", {"metadata": meta(name, ns)}),
        *_reader(ns, name),
        deployment(ns, name, rng.randrange(2, 4), container, labels, sa=name),
        _service(ns, name, 8080, "http", {"app": name}),
    ]


def _reader(ns: str, account: str) -> list[Manifest]:
    """A Role reading configmaps and secrets, bound to the ServiceAccount ``account``."""
    name = f"{account}-reader"
    rule = {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]}
    binding = {
        "metadata": meta(name, ns),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns}],
    }
    return [
        ("rbac.authorization.k8s.io", "v1", "roles", {"metadata": meta(name, ns), "rules": [rule]}),
        ("rbac.authorization.k8s.io", "v1", "rolebindings", binding),
    ]


def _database(ns: str, name: str, back: str, rng: random.Random) -> list[Manifest]:
    labels = {"app": name, "tier": "database", "app.kubernetes.io/part-of": ns}
    container = {
        "name": "postgres",
        "image": f"postgres:16.{rng.randrange(1, 5)}",
        "ports": [{"name": "postgres", "containerPort": 5432}],
        "env": [
            {
                "name": "POSTGRES_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": f"{name}-credentials", "key": "password"}},
            },
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}],
        "resources": resources("250m", "512Mi", "1", "1Gi"),
    }
    claim = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "gp3",
            "resources": {"requests": {"storage": "10Gi"}},
        },
    }
    sts = {
        "metadata": meta(name, ns, labels),
        "spec": {
            "replicas": rng.choice((1, 2)),
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            "volumeClaimTemplates": [claim],
        },
    }
    secret = {
        "metadata": meta(f"{name}-credentials", ns, {"app": name}),
        "type": "Opaque",
        "data": {"username": _b64("app"), "password": _b64(f"pw-{rng.getrandbits(64):016x}")},
    }
    return [
        ("", "v1", "secrets", secret),
        ("apps", "v1", "statefulsets", sts),
        _service(ns, name, 5432, "postgres", {"app": name}, headless=True, port_name="postgres"),
        _allow_from(ns, name, back, 5432),
    ]


def _allow_from(ns: str, name: str, source: str, port: int) -> Manifest:
    """A NetworkPolicy letting only ``source`` pods reach ``name`` pods on ``port``."""
    rule = {"from": [{"podSelector": {"matchLabels": {"app": source}}}], "ports": [{"protocol": "TCP", "port": port}]}
    spec = {"podSelector": {"matchLabels": {"app": name}}, "policyTypes": ["Ingress"], "ingress": [rule]}
    body = {"metadata": meta(f"{name}-allow-{source}", ns), "spec": spec}
    return ("networking.k8s.io", "v1", "networkpolicies", body)


def _cron(ns: str, name: str, rng: random.Random) -> Manifest:
    minute = rng.randrange(0, 15)
    container = {
        "name": name,
        "image": "busybox:1.36",
        "command": ["sh", "-c", f"echo running {name}"],
        "resources": resources("50m", "32Mi", "100m", "64Mi"),
    }
    body = {
        "metadata": meta(name, ns, {"app": name}),
        "spec": {
            "schedule": f"{minute}/15 * * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "backoffLimit": 2,
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"restartPolicy": "Never", "containers": [container]},
                    },
                },
            },
        },
    }
    return ("batch", "v1", "cronjobs", body)


def _hpa(ns: str, name: str, low: int, high: int) -> Manifest:
    body = {
        "metadata": meta(name, ns),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }
    return ("autoscaling", "v2", "horizontalpodautoscalers", body)


def _policy(ns: str) -> list[Manifest]:
    quota = {
        "metadata": meta("compute", ns),
        "spec": {
            "hard": {
                "pods": "50",
                "requests.cpu": "8",
                "requests.memory": "16Gi",
                "limits.cpu": "16",
                "limits.memory": "32Gi",
                "persistentvolumeclaims": "10",
                "services": "20",
            }
        },
    }
    limits = {
        "metadata": meta("defaults", ns),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": {"cpu": "500m", "memory": "256Mi"},
                    "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                }
            ]
        },
    }
    return [("", "v1", "resourcequotas", quota), ("", "v1", "limitranges", limits)]


def _ingress(ns: str, cluster: str, front: str, back: str) -> Manifest:
    host = f"{ns}.{cluster}.example.com"
    paths = [
        {
            "path": "/api",
            "pathType": "Prefix",
            "backend": {"service": {"name": back, "port": {"number": 8080}}},
        },
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": front, "port": {"number": 80}}}},
    ]
    body = {
        "metadata": {**meta(ns, ns), "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [host], "secretName": "app-tls"}],
            "rules": [{"host": host, "http": {"paths": paths}}],
        },
    }
    return ("networking.k8s.io", "v1", "ingresses", body)


def app_stack(
    ns: str, cluster: str, rng: random.Random, front: str, back: str, db: str, cron: str
) -> list[Manifest]:
    tls = {
        "metadata": meta("app-tls", ns),
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": _b64("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
            "tls.key": _b64("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"),
        },
    }
    return [
        *_policy(ns),
        ("", "v1", "secrets", tls),
        *_front(ns, front, rng),
        *_back(ns, back, db, rng),
        *_database(ns, db, back, rng),
        _cron(ns, cron, rng),
        _ingress(ns, cluster, front, back),
        _hpa(ns, front, 2, 10),
        _hpa(ns, back, 2, 6),
    ]


def monitoring(rng: random.Random) -> list[Manifest]:
    ns = "monitoring"
    prom = {
        "name": "prometheus",
        "image": "quay.io/prometheus/prometheus:v2.54.1",
        "ports": [{"name": "web", "containerPort": 9090}],
        "resources": resources("500m", "1Gi", "2", "2Gi"),
    }
    grafana = {
        "name": "grafana",
        "image": "grafana/grafana:11.2.0",
        "ports": [{"name": "http", "containerPort": 3000}],
        "resources": resources("100m", "128Mi", "500m", "512Mi"),
    }
    exporter = {
        "name": "node-exporter",
        "image": "quay.io/prometheus/node-exporter:v1.8.2",
        "ports": [{"name": "metrics", "containerPort": 9100}],
        "resources": resources("10m", "24Mi", "100m", "64Mi"),
    }
    ds = {
        "metadata": meta("node-exporter", ns, {"app": "node-exporter"}),
        "spec": {
            "selector": {"matchLabels": {"app": "node-exporter"}},
            "template": {
                "metadata": {"labels": {"app": "node-exporter"}},
                "spec": {"hostNetwork": True, "containers": [exporter]},
            },
        },
    }
    return [
        deployment(ns, "prometheus", 1, prom, {"app": "prometheus"}),
        deployment(ns, "grafana", 1, grafana, {"app": "grafana"}),
        ("apps", "v1", "daemonsets", ds),
        _service(ns, "prometheus", 9090, "web", {"app": "prometheus"}),
        _service(ns, "grafana", 80, "http", {"app": "grafana"}),
    ]

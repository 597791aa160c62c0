from __future__ import annotations

from kubesim import profiles
from kubesim.clock import Clock
from kubesim.store import ClusterState
from tests.kubesim_controllers.conftest import START, rt


def _load(seed: int, index: int) -> ClusterState:
    state = ClusterState(f"cluster-{index}", Clock(start=START))
    profiles.load_profile(state, "small", seed, index)
    return state


def _shape(state: ClusterState) -> dict[str, list[tuple[str, str, dict]]]:
    kinds = ("namespaces", "nodes", "deployments", "statefulsets", "services", "configmaps", "cronjobs")
    shape = {}
    for rtype in state.resources.all():
        if rtype.storage and rtype.plural in kinds:
            shape[rtype.plural] = [(o["metadata"].get("namespace", ""), o["metadata"]["name"],
                                    o["metadata"].get("labels")) for o in state.list(rtype)]
    shape["pods"] = [(p["metadata"]["namespace"], p["metadata"]["name"], p["metadata"].get("labels"))
                     for p in state.list(rt(state, "", "pods"))]
    return shape


def test_small_profile_is_deterministic_and_settled() -> None:
    first, again, other = _load(3, 0), _load(3, 0), _load(3, 1)
    assert _shape(first) == _shape(again)
    assert _shape(first) != _shape(other)
    pods = first.list(rt(first, "", "pods"))
    assert len(pods) >= 15
    for pod in pods:
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert pod["status"]["phase"] == "Running" and ready["Ready"] == "True", pod["metadata"]["name"]
    namespaces = {n["metadata"]["name"] for n in first.list(rt(first, "", "namespaces"))}
    assert {"default", "kube-system", "shop", "payments", "monitoring"} <= namespaces
    assert 2 <= len(first.list(rt(first, "", "nodes"))) <= 3
    claims = first.list(rt(first, "", "persistentvolumeclaims"))
    assert claims and all(c["status"]["phase"] == "Bound" for c in claims)
    for group, plural in (("networking.k8s.io", "ingresses"), ("autoscaling", "horizontalpodautoscalers"),
                          ("batch", "cronjobs"), ("", "resourcequotas"), ("networking.k8s.io", "networkpolicies"),
                          ("rbac.authorization.k8s.io", "rolebindings"), ("", "secrets")):
        assert first.list(rt(first, group, plural)), plural
    dns = first.get(rt(first, "", "endpoints"), "kube-system", "kube-dns")
    assert len(dns["subsets"][0]["addresses"]) == 2


def test_large_profile_has_about_five_thousand_pods() -> None:
    manifests = profiles.manifests_for("big", "large", 1, 0)
    replicas = sum(body["spec"]["replicas"] for _, _, plural, body in manifests if plural == "deployments")
    nodes = sum(1 for _, _, plural, _ in manifests if plural == "nodes")
    assert 4900 <= replicas + nodes <= 5200
    assert manifests == profiles.manifests_for("big", "large", 1, 0)

"""The paths the client sends requests to: one object's path cannot be made without a valid name."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import BadUserInput
from app.k8s.client import ClusterClient
from app.k8s.names import SUBDOMAIN, problem, rule_for
from app.k8s.paths import CollectionPath, FixedPath, ObjectPath
from app.k8s.resources import BUILTIN_KINDS, ResourceKind, kind_from_crd
from kubesim.fleet import Fleet

from .conftest import Control, make_client

POD, NODE, DEPLOY = BUILTIN_KINDS["Pod"], BUILTIN_KINDS["Node"], BUILTIN_KINDS["Deployment"]
BAD_NAMES = {
    "empty": "",
    "nul": "web\x00",
    "dot-dot": "../x",
    "dot": ".",
    "slash": "a/b",
    "percent": "a%2Fb",
    "shell": "; rm -rf / #$(id)",
    "too-long": "a" * 254,
    "upper-case": "Web",
    "newline": "web\n",
}
bad_names = pytest.mark.parametrize("bad", list(BAD_NAMES.values()), ids=list(BAD_NAMES))


def details(caught: pytest.ExceptionInfo[BadUserInput]) -> set[str]:
    return {d["field"] for d in caught.value.details}


def test_paths() -> None:
    assert str(CollectionPath(POD)) == "/api/v1/pods"
    assert str(CollectionPath(POD, "default")) == "/api/v1/namespaces/default/pods"
    assert str(ObjectPath(POD, "default", "web-1", "log")) == "/api/v1/namespaces/default/pods/web-1/log"
    assert str(ObjectPath(NODE, "ignored", "node-a")) == "/api/v1/nodes/node-a"
    assert str(ObjectPath(NODE, None, "ip-10-0-0-1.ec2.internal")) == "/api/v1/nodes/ip-10-0-0-1.ec2.internal"
    assert str(ObjectPath(DEPLOY, "shop", "api", "scale")) == "/apis/apps/v1/namespaces/shop/deployments/api/scale"
    assert str(ObjectPath(BUILTIN_KINDS["Namespace"], None, "team-a")) == "/api/v1/namespaces/team-a"
    assert str(FixedPath("/version")) == "/version"


def test_rbac_names_are_path_segments() -> None:
    """Kubernetes names roles like `system:controller:job-controller`; those stay one escaped segment."""
    role = ObjectPath(BUILTIN_KINDS["ClusterRole"], None, "system:controller:job-controller")
    assert str(role) == "/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Acontroller%3Ajob-controller"
    for bad in ("", "..", "a/b", "a%b", "x\x00"):
        with pytest.raises(BadUserInput):
            ObjectPath(BUILTIN_KINDS["ClusterRole"], None, bad)


@bad_names
@pytest.mark.parametrize("kind", [POD, NODE, DEPLOY, BUILTIN_KINDS["Namespace"], BUILTIN_KINDS["Service"]])
def test_no_object_path_without_a_valid_name(kind: ResourceKind, bad: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        ObjectPath(kind, "default", bad)
    assert details(caught) == {"name"}


def test_the_name_is_required_and_named_as_the_caller_names_it() -> None:
    with pytest.raises(TypeError):
        ObjectPath(POD, "default")  # type: ignore[call-arg]
    with pytest.raises(BadUserInput) as caught:
        ObjectPath(POD, "default", None)  # type: ignore[arg-type]
    assert details(caught) == {"name"}
    with pytest.raises(BadUserInput) as caught:
        ObjectPath(POD, "default", "", "log", name_field="pod")
    assert details(caught) == {"pod"}


@bad_names
def test_no_path_in_a_bad_namespace(bad: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        ObjectPath(POD, bad, "web")
    assert details(caught) == {"namespace"}
    with pytest.raises(BadUserInput) as caught:
        CollectionPath(POD, bad)
    assert details(caught) == {"namespace"}


def test_a_namespaced_object_needs_its_namespace() -> None:
    with pytest.raises(BadUserInput) as caught:
        ObjectPath(POD, None, "web")
    assert details(caught) == {"namespace"}


def test_subresources_are_single_words() -> None:
    for bad in ("", "../scale", "scale/x", "log?follow=true"):
        with pytest.raises(ValueError):
            ObjectPath(POD, "default", "web", bad)


def test_kinds_rules() -> None:
    assert problem("a" * 63, rule_for("Namespace")) is None
    assert problem("a" * 64, rule_for("Namespace")) == "must be at most 63 characters"
    assert problem("1st", rule_for("Service")) is not None  # a DNS-1035 label starts with a letter
    assert problem("a" * 53, rule_for("CronJob")) is not None
    assert problem("a.b-c", rule_for("ConfigMap")) is None and rule_for("Widget") is SUBDOMAIN


def test_a_custom_kind_must_stay_in_its_segments() -> None:
    def crd(group: str, version: str, plural: str) -> dict[str, Any]:
        return {"spec": {"group": group, "scope": "Namespaced", "names": {"kind": "Widget", "plural": plural},
                         "versions": [{"name": version, "served": True, "storage": True}]}}

    assert kind_from_crd(crd("example.com", "v1", "widgets")) is not None
    for bad in (crd("../x", "v1", "widgets"), crd("example.com", "v1?watch=1", "widgets"),
                crd("example.com", "v1", "widgets/../../secrets")):
        assert kind_from_crd(bad) is None
    sneaky = ResourceKind("Deployment", "apps", "v1?dryRun=All", "deployments", True)
    with pytest.raises(BadUserInput) as caught:
        CollectionPath(sneaky, "default")
    assert details(caught) == {"kind"}


async def test_the_client_sends_nothing_for_a_bad_name(fleet: Fleet, control: Control) -> None:
    """Each verb on one object refuses an empty name (which would address the collection) before calling."""
    client: ClusterClient
    async with make_client(fleet) as client:
        await client.create("ConfigMap", "default", {"metadata": {"name": "kept"}})
        before = (await control.stats())["requests"]
        calls: list[Any] = [
            client.get("cm", "default", ""),
            client.delete("cm", "default", ""),
            client.patch("cm", "default", "", {"data": {"a": "1"}}),
            client.replace("cm", "default", "", {"metadata": {"name": ""}}),
            client.get_subresource("deploy", "default", "", "scale"),
            client.patch_subresource("deploy", "default", "", "scale", {"spec": {"replicas": 0}}),
            client.create_subresource("pod", "default", "", "eviction", {}),
            client.delete("Namespace", None, ""),
            client.delete("cm", "default", "../../../api/v1/namespaces/default"),
            client.logs("default", ""),
            client.logs("default", "web", container="../x"),
            client.create("ConfigMap", None, {"metadata": {"name": "x"}}),
            client.list("cm", ""),
            client.get("gizmo/../../x", "default", "x"),
        ]
        for call in calls:
            with pytest.raises(BadUserInput):
                await call
        assert (await control.stats())["requests"] == before
        kept = await client.list("cm", "default")
        assert "kept" in [o["metadata"]["name"] for o in kept.items]

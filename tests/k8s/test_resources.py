"""Resource kinds: names users may type, and the paths they map to."""

from __future__ import annotations

import pytest

from app.errors import BadUserInput
from app.k8s.resources import BUILTIN_KINDS, ResourceKind, kind_from_crd, resolve_kind
from kubesim.resources import BUILTINS


def test_every_kind_kubesim_stores_is_built_in_with_the_same_coordinates() -> None:
    served = {(rt.kind, rt.group, rt.version, rt.plural, rt.namespaced)
              for rt in BUILTINS if rt.storage and rt.group != "events.k8s.io"}
    ours = {(k.kind, k.group, k.version, k.plural, k.namespaced) for k in BUILTIN_KINDS.values()}
    assert ours == served
    assert len(BUILTIN_KINDS) == 31


@pytest.mark.parametrize("name", ["Deployment", "deployment", "DEPLOYMENTS", "deploy", "deployments.apps"])
def test_resolve_by_kind_plural_short_or_qualified_name(name: str) -> None:
    assert resolve_kind(name) is BUILTIN_KINDS["Deployment"]


def test_resolve_special_cases() -> None:
    assert resolve_kind("hpa").api_version == "autoscaling/v2"
    assert resolve_kind("ns").namespaced is False
    assert resolve_kind("crd").kind == "CustomResourceDefinition"
    assert resolve_kind("ev").api_version == "v1"
    assert resolve_kind("endpoints").kind == "Endpoints"


def test_unknown_kind_is_bad_user_input_on_kind() -> None:
    with pytest.raises(BadUserInput) as caught:
        resolve_kind("gizmos")
    assert caught.value.details == [{"field": "kind", "message": "unknown resource kind 'gizmos'"}]


def test_api_versions() -> None:
    """The URL paths of a kind's objects are built by app.k8s.paths (tests/k8s/test_urls.py)."""
    assert BUILTIN_KINDS["Deployment"].api_version == "apps/v1" and BUILTIN_KINDS["Pod"].api_version == "v1"


def test_kind_from_crd_uses_the_storage_version() -> None:
    crd = {"spec": {"group": "example.com", "scope": "Cluster",
                    "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wd"]},
                    "versions": [{"name": "v1alpha1", "served": True, "storage": False},
                                 {"name": "v1", "served": True, "storage": True}]}}
    assert kind_from_crd(crd) == ResourceKind("Widget", "example.com", "v1", "widgets", False, "widget", ("wd",))
    assert kind_from_crd({"spec": {"names": {}}}) is None

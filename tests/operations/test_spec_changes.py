"""Template merges, and the checks a cluster's scale and upgrade requests go through."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.errors import FieldErrors
from app.operations.specs import NodePoolSpec, check_scale, check_upgrade, latest_patch, merge_template, parse_cks

SKIP = "can't skip minor versions: upgrade from"


# -- template merge -----------------------------------------------------------------------------------


def test_merge_template_merges_objects_replaces_lists_and_skips_none() -> None:
    template = {
        "name": "base",
        "topology": {"ha": True, "controlPlaneCount": 3, "workerCount": 2},
        "components": {"kubernetesVersion": "1.30.6", "cni": "calico", "ingress": "nginx"},
        "nodes": [{"name": "a"}, {"name": "b"}],
        "hardening": {"enableCisK8sBenchmark": True},
    }
    overrides = {
        "name": "edge-1",
        "description": None,
        "topology": {"workerCount": 1, "ha": None},
        "components": {"cni": "cilium"},
        "nodes": [{"name": "c"}],
        "sshConfig": {"username": "root", "password": None},
    }
    before = copy.deepcopy((template, overrides))
    assert merge_template(template, overrides) == {
        "name": "edge-1",
        "topology": {"ha": True, "controlPlaneCount": 3, "workerCount": 1},
        "components": {"kubernetesVersion": "1.30.6", "cni": "cilium", "ingress": "nginx"},
        "nodes": [{"name": "c"}],
        "hardening": {"enableCisK8sBenchmark": True},
        "sshConfig": {"username": "root"},
    }
    assert (template, overrides) == before


def test_merge_template_lets_an_object_replace_a_scalar_and_a_scalar_replace_an_object() -> None:
    assert merge_template({"a": 1, "b": {"c": 2}}, {"a": {"x": None, "y": 1}, "b": 3}) == {"a": {"y": 1}, "b": 3}


def test_a_stored_template_with_overrides_parses_like_a_direct_request() -> None:
    template = parse_cks({
        "name": "shop",
        "version": "1.30.6",
        "nodePools": [{"name": "general", "nodeCount": 3}],
        "networking": {"cni": "calico", "podCidr": "10.244.0.0/16", "serviceCidr": "10.96.0.0/12"},
        "tags": {"team": "shop"},
    }).public()
    merged = merge_template(template, {"name": "shop-staging", "nodePools": [{"name": "small", "nodeCount": 1}]})
    spec = parse_cks(merged)
    assert (spec.name, [p.name for p in spec.node_pools], spec.tags) == ("shop-staging", ["small"], {"team": "shop"})


# -- upgrade ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [("1.29.10", "1.30.6"), ("1.28.3", "1.28.15"), ("1.28.3", "1.29.10"), ("v1.30.6", "1.31.2"), ("1.27.9", "1.28.3")],
)
def test_upgrades_by_at_most_one_minor_are_allowed(current: str, target: str) -> None:
    errors = FieldErrors()
    check_upgrade(current, target, errors)
    assert errors.details == []


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        ("1.29.10", "1.31.2", f"{SKIP} 1.29.10 to 1.30 (latest supported patch 1.30.6) first"),
        ("1.28.3", "1.32.0", f"{SKIP} 1.28.3 to 1.29 (latest supported patch 1.29.10) first"),
        ("1.26.1", "1.28.3", f"{SKIP} 1.26.1 to 1.27 first"),
        ("1.30.6", "1.30.6", "must be newer than the cluster's current version 1.30.6"),
        ("1.31.2", "1.30.6", "must be newer than the cluster's current version 1.31.2"),
        ("unknown", "1.30.6", "the cluster's current version 'unknown' is not a Kubernetes version to upgrade from"),
    ],
)
def test_upgrades_that_skip_a_minor_or_go_back_are_refused(current: str, target: str, message: str) -> None:
    errors = FieldErrors()
    check_upgrade(current, target, errors)
    assert errors.details == [{"field": "version", "message": message}]


def test_an_upgrade_to_an_unsupported_version_is_refused_at_the_given_field() -> None:
    errors = FieldErrors()
    check_upgrade("1.32.0", "1.33.1", errors, field="input.version")
    assert [d["field"] for d in errors.details] == ["input.version"]
    assert "not a supported Kubernetes version" in errors.details[0]["message"]


@pytest.mark.parametrize(
    ("minor", "patch"), [("1.28", "1.28.15"), ("1.30", "1.30.6"), ("v1.32", "1.32.0"), ("1.27", None), ("x", None)]
)
def test_latest_patch(minor: str, patch: str | None) -> None:
    assert latest_patch(minor) == patch


# -- scale --------------------------------------------------------------------------------------------

POOLS = [
    NodePoolSpec(name="general", count=3, min_count=1, max_count=6),
    NodePoolSpec(name="batch", count=0),
    NodePoolSpec(name="control-plane", count=3, min_count=3, max_count=3),
]


def scale_problems(requested: dict[str, Any], pools: list[NodePoolSpec] = POOLS) -> dict[str, str]:
    errors = FieldErrors()
    check_scale(pools, requested, errors)
    return {d["field"]: d["message"] for d in errors.details}


def test_scaling_within_the_limits_is_allowed() -> None:
    assert scale_problems({"general": 6, "batch": 20}) == {}
    assert scale_problems({"general": 1}) == {}


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ({"general": 7}, {"nodePools[0].nodeCount": "must be at most the pool's maxCount (6)"}),
        ({"batch": 1, "general": 0}, {"nodePools[1].nodeCount": "must be at least the pool's minCount (1)"}),
        ({"batch": -1}, {"nodePools[0].nodeCount": "must be at least 0"}),
        ({"batch": 1001}, {"nodePools[0].nodeCount": "must be at most 1000"}),
        ({"control-plane": 5}, {"nodePools[0].nodeCount": "must be at most the pool's maxCount (3)"}),
        ({"general": 2, "gpu": 1}, {"nodePools[1].id": "no node pool 'gpu' in this cluster"}),
        ({"general": "2"}, {"nodePools[0].nodeCount": "must be an integer"}),
        ({}, {"nodePools": "must name at least one node pool"}),
    ],
)
def test_scaling_outside_the_limits_is_refused(requested: dict[str, Any], expected: dict[str, str]) -> None:
    assert scale_problems(requested) == expected


def test_scaling_every_pool_to_zero_is_refused() -> None:
    pools = [NodePoolSpec(name="a", count=2), NodePoolSpec(name="b", count=1)]
    assert scale_problems({"a": 0}, pools) == {}
    assert scale_problems({"a": 0, "b": 0}, pools) == {
        "nodePools": "can't scale every node pool to zero; keep at least one node"
    }

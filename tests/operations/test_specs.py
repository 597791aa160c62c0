"""Cluster specifications from CKS's input, and their stored form."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import BadUserInput
from app.operations import specs
from app.operations.specs import (
    AddonSpec,
    ClusterSpec,
    NetworkingSpec,
    NodePoolSpec,
    SshConfigSpec,
    SshNodeSpec,
    parse_cks,
)

NOT_DNS_LABEL = "must be lowercase letters, digits and '-', starting and ending with a letter or digit"
NOT_CIDR = "must be a network in CIDR notation, such as 10.244.0.0/16"


def cks(**changes: Any) -> dict[str, Any]:
    """A valid CKS create-cluster input with `changes` on top (None removes a key)."""
    data: dict[str, Any] = {
        "name": "shop-prod",
        "version": "1.30.6",
        "nodePools": [{"name": "general", "nodeCount": 3}],
        "networking": {"cni": "calico", "podCidr": "10.244.0.0/16", "serviceCidr": "10.96.0.0/12"},
        "addons": [{"name": "metrics-server", "version": "0.7.1", "enabled": True}],
        "tags": {"team": "shop"},
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def networking(**changes: str) -> dict[str, str]:
    return {"cni": "calico", "podCidr": "10.244.0.0/16", "serviceCidr": "10.96.0.0/12", **changes}


def refused(parse: Callable[[dict[str, Any]], ClusterSpec], data: dict[str, Any]) -> dict[str, str]:
    """The problems `parse` reports, by field (each field at most once in these tests)."""
    with pytest.raises(BadUserInput) as caught:
        parse(data)
    fields = [d["field"] for d in caught.value.details]
    assert len(fields) == len(set(fields)), caught.value.details
    return {d["field"]: d["message"] for d in caught.value.details}


# -- CKS input ----------------------------------------------------------------------------------------


def test_cks_input_becomes_a_simulated_cluster_spec() -> None:
    spec = parse_cks(cks(description="the shop", provisionImmediately=False))
    assert spec == ClusterSpec(
        name="shop-prod",
        description="the shop",
        version="1.30.6",
        provider="simulated",
        node_pools=[NodePoolSpec(name="general", count=3)],
        networking=NetworkingSpec(cni="calico", pod_cidr="10.244.0.0/16", service_cidr="10.96.0.0/12"),
        addons=[AddonSpec(name="metrics-server", version="0.7.1", enabled=True)],
        tags={"team": "shop"},
        provision_immediately=False,
    )
    assert spec.ssh_config is None and spec.secrets() == {}


def test_cks_input_keeps_pool_limits_labels_and_taints() -> None:
    pool = {
        "name": "gpu",
        "nodeCount": 2,
        "minCount": 1,
        "maxCount": 4,
        "instanceType": "g5.xlarge",
        "labels": {"example.com/accelerator": "nvidia", "tier": ""},
        "taints": ["nvidia.com/gpu=present:NoSchedule", "dedicated:NoExecute"],
    }
    spec = parse_cks(cks(nodePools=[pool]))
    assert spec.node_pools == [
        NodePoolSpec(
            name="gpu",
            count=2,
            min_count=1,
            max_count=4,
            instance_type="g5.xlarge",
            labels={"example.com/accelerator": "nvidia", "tier": ""},
            taints=["nvidia.com/gpu=present:NoSchedule", "dedicated:NoExecute"],
        )
    ]


def test_cks_provider_can_be_chosen_by_the_caller() -> None:
    assert parse_cks(cks(), provider="ssh").provider == "ssh"


def test_cks_addons_are_optional_and_enabled_by_default() -> None:
    assert parse_cks(cks(addons=None)).addons == []
    assert parse_cks(cks(addons=[{"name": "cert-manager", "version": "v1.15.0"}])).addons == [
        AddonSpec(name="cert-manager", version="v1.15.0", enabled=True)
    ]


def test_unknown_keys_are_ignored() -> None:
    assert parse_cks(cks(shape="cks", templateId="tpl_1")) == parse_cks(cks())


@pytest.mark.parametrize("name", ["a", "shop-prod", "0day", "a" * 63])
def test_cluster_names_that_are_dns_labels_are_accepted(name: str) -> None:
    assert parse_cks(cks(name=name)).name == name


@pytest.mark.parametrize("name", ["Shop", "-shop", "shop-", "shop_prod", "shop.prod", "a" * 64, "", 42])
def test_cluster_names_that_are_not_dns_labels_are_refused(name: Any) -> None:
    assert list(refused(parse_cks, cks(name=name))) == ["name"]


def test_a_missing_name_is_required() -> None:
    assert refused(parse_cks, cks(name=None)) == {"name": "is required"}


@pytest.mark.parametrize("version", ["1.28.3", "1.28.15", "1.29.10", "1.31.2", "1.32.0"])
def test_catalog_versions_are_accepted(version: str) -> None:
    assert parse_cks(cks(version=version)).version == version


def test_a_v_prefixed_version_is_stored_in_catalog_spelling() -> None:
    assert parse_cks(cks(version="v1.31.2")).version == "1.31.2"


@pytest.mark.parametrize("version", ["1.27.16", "1.30", "1.30.7", "latest", "v1.30.6.1"])
def test_versions_outside_the_catalog_are_refused(version: str) -> None:
    problems = refused(parse_cks, cks(version=version))
    assert list(problems) == ["version"]
    assert "1.30.6" in problems["version"]  # names what is supported


# -- node pools ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pools", "expected"),
    [
        ([], {"nodePools": "must have at least one node pool"}),
        ("general", {"nodePools": "must be a list"}),
        ([{"name": "a", "nodeCount": 0}, {"name": "b", "nodeCount": 0}],
         {"nodePools": "at least one node pool must have a node"}),
        ([{"name": "a", "nodeCount": 1}, {"name": "a", "nodeCount": 2}],
         {"nodePools[1].name": "repeats the node pool name 'a'"}),
        ([{"name": "a", "nodeCount": -1}, {"name": "b", "nodeCount": 1}],
         {"nodePools[0].nodeCount": "must be at least 0"}),
        ([{"name": "a", "nodeCount": 1001}], {"nodePools[0].nodeCount": "must be at most 1000"}),
        ([{"name": "a", "nodeCount": "3"}], {"nodePools[0].nodeCount": "must be an integer"}),
        ([{"name": "a", "nodeCount": True}], {"nodePools[0].nodeCount": "must be an integer"}),
        ([{"name": "a"}], {"nodePools[0].nodeCount": "is required"}),
        ([{"name": "A", "nodeCount": 1}],
         {"nodePools[0].name": NOT_DNS_LABEL}),
        ([{"name": "a", "nodeCount": 1, "minCount": 2}],
         {"nodePools[0].nodeCount": "must be at least the pool's minCount (2)"}),
        ([{"name": "a", "nodeCount": 5, "maxCount": 4}],
         {"nodePools[0].nodeCount": "must be at most the pool's maxCount (4)"}),
        ([{"name": "a", "nodeCount": 3, "minCount": 4, "maxCount": 2}],
         {"nodePools[0].maxCount": "must be at least minCount (4)"}),
        ([{"name": "a", "nodeCount": 3, "minCount": -1}], {"nodePools[0].minCount": "must be at least 0"}),
        ([{"name": "a", "nodeCount": 3, "maxCount": 5000}], {"nodePools[0].maxCount": "must be from 0 to 1000"}),
        ([{"name": "a", "nodeCount": 3, "instanceType": 7}], {"nodePools[0].instanceType": "must be a string"}),
        (["a"], {"nodePools[0]": "must be an object"}),
    ],
)
def test_node_pool_rules(pools: Any, expected: dict[str, str]) -> None:
    assert refused(parse_cks, cks(nodePools=pools)) == expected


def test_pools_at_zero_are_fine_while_another_has_nodes() -> None:
    pools = [{"name": "idle", "nodeCount": 0, "minCount": 0, "maxCount": 3}, {"name": "busy", "nodeCount": 1}]
    assert [p.count for p in parse_cks(cks(nodePools=pools)).node_pools] == [0, 1]


@pytest.mark.parametrize(
    ("labels", "field"),
    [
        ({"bad key": "x"}, "nodePools[0].labels.bad key"),
        ({"Example.com/x": "y"}, "nodePools[0].labels.Example.com/x"),
        ({"a/b/c": "y"}, "nodePools[0].labels.a/b/c"),
        ({"k" * 64: "y"}, "nodePools[0].labels." + "k" * 64),
        ({"tier": "has space"}, "nodePools[0].labels.tier"),
        ({"tier": "v" * 64}, "nodePools[0].labels.tier"),
        ({"tier": 3}, "nodePools[0].labels.tier"),
    ],
)
def test_node_pool_labels_follow_kubernetes_label_rules(labels: dict[str, Any], field: str) -> None:
    problems = refused(parse_cks, cks(nodePools=[{"name": "a", "nodeCount": 1, "labels": labels}]))
    assert list(problems) == [field]


@pytest.mark.parametrize(
    "taint", ["dedicated", "dedicated:Sometimes", "bad key=x:NoSchedule", "k=bad value:NoExecute", 5]
)
def test_node_pool_taints_must_be_key_value_effect(taint: Any) -> None:
    problems = refused(parse_cks, cks(nodePools=[{"name": "a", "nodeCount": 1, "taints": ["ok:NoSchedule", taint]}]))
    assert list(problems) == ["nodePools[0].taints[1]"]


# -- networking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"cni": "weave"}, "networking.cni", "must be one of calico, cilium, flannel"),
        ({"podCidr": "10.244.0.0"}, "networking.podCidr", NOT_CIDR),
        ({"podCidr": "10.300.0.0/16"}, "networking.podCidr", NOT_CIDR),
        ({"podCidr": "10.244.1.0/16"}, "networking.podCidr", "has host bits set; the network is 10.244.0.0/16"),
        ({"podCidr": "10.0.0.0/7"}, "networking.podCidr", "must be an IPv4 network from /8 to /24"),
        ({"podCidr": "10.244.0.0/25"}, "networking.podCidr", "must be an IPv4 network from /8 to /24"),
        ({"serviceCidr": "10.96.0.0/11"}, "networking.serviceCidr", "must be an IPv4 network from /12 to /28"),
        ({"serviceCidr": "10.96.0.0/29"}, "networking.serviceCidr", "must be an IPv4 network from /12 to /28"),
        ({"serviceCidr": "10.244.128.0/20"}, "networking.serviceCidr", "overlaps the pod network 10.244.0.0/16"),
        ({"serviceCidr": "fd00:96::/112"}, "networking.serviceCidr",
         "must be an IPv4 network like the pod network 10.244.0.0/16"),
    ],
)
def test_networking_rules(changes: dict[str, str], field: str, message: str) -> None:
    assert refused(parse_cks, cks(networking=networking(**changes))) == {field: message}


def test_networking_is_required() -> None:
    assert refused(parse_cks, cks(networking=None)) == {"networking": "is required"}


def test_an_ipv6_cluster_network_is_accepted() -> None:
    spec = parse_cks(cks(networking=networking(cni="cilium", podCidr="fd00:10:244::/56", serviceCidr="fd00:96::/112")))
    assert spec.networking == NetworkingSpec(cni="cilium", pod_cidr="fd00:10:244::/56", service_cidr="fd00:96::/112")


def test_the_pod_network_must_hold_a_range_for_every_node_the_pools_can_grow_to() -> None:
    pools = [{"name": "a", "nodeCount": 1, "maxCount": 2}, {"name": "b", "nodeCount": 2}]
    assert parse_cks(cks(nodePools=pools, networking=networking(podCidr="10.244.0.0/22"))).node_pools
    pools[0]["maxCount"] = 4
    assert refused(parse_cks, cks(nodePools=pools, networking=networking(podCidr="10.244.0.0/22"))) == {
        "networking.podCidr": "the pod network 10.244.0.0/22 has room for 4 nodes (a /24 each); 6 are needed"
    }


def ipv4_networks(low: int, high: int) -> st.SearchStrategy[tuple[int, int]]:
    """(first address, prefix length) of an IPv4 network with a prefix from /low to /high."""

    def network(prefix: int, address: int) -> tuple[int, int]:
        size = 2 ** (32 - prefix)
        return address - address % size, prefix

    return st.builds(network, st.integers(low, high), st.integers(0, 2**32 - 1))


@settings(max_examples=300)
@given(pods=ipv4_networks(8, 24), services=ipv4_networks(12, 28))
def test_overlapping_pod_and_service_networks_are_refused_and_disjoint_ones_accepted(
    pods: tuple[int, int], services: tuple[int, int]
) -> None:
    def text(first: int, prefix: int) -> str:
        return f"{ipaddress.IPv4Address(first)}/{prefix}"

    def last(first: int, prefix: int) -> int:
        return first + 2 ** (32 - prefix) - 1

    overlap = pods[0] <= last(*services) and services[0] <= last(*pods)
    chosen = networking(podCidr=text(*pods), serviceCidr=text(*services))
    data = cks(nodePools=[{"name": "a", "nodeCount": 1}], networking=chosen)
    if overlap:
        assert refused(parse_cks, data) == {"networking.serviceCidr": f"overlaps the pod network {text(*pods)}"}
    else:
        assert parse_cks(data).networking.service_cidr == text(*services)


# -- addons and tags ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addons", "expected"),
    [
        ([{"name": "dns", "version": "1"}, {"name": "dns", "version": "2"}], ["addons[1].name"]),
        ([{"name": "dns"}], ["addons[0].version"]),
        ([{"name": "Dns", "version": "1"}], ["addons[0].name"]),
        ([{"name": "dns", "version": "1", "enabled": "yes"}], ["addons[0].enabled"]),
        ({"name": "dns"}, ["addons"]),
    ],
)
def test_addon_rules(addons: Any, expected: list[str]) -> None:
    assert list(refused(parse_cks, cks(addons=addons))) == expected


def test_tag_keys_may_carry_a_dns_prefix_and_values_are_free_text() -> None:
    tags = {"example.com/cost-center": "Platform Eng / 42", "env": ""}
    assert parse_cks(cks(tags=tags)).tags == tags


@pytest.mark.parametrize(
    ("tags", "field"),
    [
        ({"cost center": "x"}, "tags.cost center"),
        ({"-env": "x"}, "tags.-env"),
        ({"UPPER.example.com/env": "x"}, "tags.UPPER.example.com/env"),
        ({"env": 3}, "tags.env"),
        ({"env": "x" * 257}, "tags.env"),
        ({f"k{i}": "v" for i in range(51)}, "tags"),
        (["env"], "tags"),
    ],
)
def test_tag_rules(tags: Any, field: str) -> None:
    assert list(refused(parse_cks, cks(tags=tags))) == [field]


def test_every_problem_is_reported_at_once_with_its_field_path() -> None:
    data = {
        "name": "Shop!",
        "version": "1.26.0",
        "nodePools": [
            {"name": "ok", "nodeCount": 1},
            {"name": "ok", "nodeCount": -2},
            {"name": "spot", "nodeCount": 9, "maxCount": 5, "labels": {"bad key": "v"}},
        ],
        "networking": {"cni": "weave", "podCidr": "10.244.0.0/16", "serviceCidr": "10.244.0.0/20"},
        "addons": [{"name": "dns", "version": "1"}, {"name": "dns"}],
        "tags": {"bad key": "v"},
        "provisionImmediately": "soon",
    }
    with pytest.raises(BadUserInput) as caught:
        parse_cks(data)
    assert caught.value.code == "BAD_USER_INPUT"
    assert sorted(d["field"] for d in caught.value.details) == sorted([
        "name",
        "version",
        "nodePools[1].nodeCount",
        "nodePools[1].name",
        "nodePools[2].nodeCount",
        "nodePools[2].labels.bad key",
        "networking.cni",
        "networking.serviceCidr",
        "addons[1].version",
        "addons[1].name",
        "tags.bad key",
        "provisionImmediately",
    ])


# -- stored form --------------------------------------------------------------------------------------

texts = st.text(max_size=12)
ssh_configs = st.builds(
    SshConfigSpec,
    username=texts,
    auth_method=st.sampled_from(["password", "private_key"]),
    private_key=st.none() | texts,
    passphrase=st.none() | texts,
    password=st.none() | texts,
)
cluster_specs = st.builds(
    ClusterSpec,
    name=texts,
    description=texts,
    version=st.sampled_from(specs.SUPPORTED_VERSIONS),
    provider=st.sampled_from(specs.PROVIDERS),
    node_pools=st.lists(
        st.builds(
            NodePoolSpec,
            name=texts,
            count=st.integers(0, 1000),
            min_count=st.none() | st.integers(0, 1000),
            max_count=st.none() | st.integers(0, 1000),
            instance_type=st.none() | texts,
            labels=st.dictionaries(texts, texts, max_size=3),
            taints=st.lists(texts, max_size=3),
        ),
        max_size=3,
    ),
    networking=st.builds(NetworkingSpec, cni=texts, pod_cidr=texts, service_cidr=texts),
    addons=st.lists(st.builds(AddonSpec, name=texts, version=texts, enabled=st.booleans()), max_size=3),
    tags=st.dictionaries(texts, texts, max_size=3),
    ha=st.booleans(),
    control_plane_count=st.integers(1, 7),
    ingress=st.none() | texts,
    runtime=texts,
    nodes=st.lists(
        st.builds(SshNodeSpec, name=texts, role=texts, ip_address=texts, ssh_port=st.integers(1, 65535), os_type=texts),
        max_size=3,
    ),
    ssh_config=st.none() | ssh_configs,
    hardening=st.dictionaries(texts, st.booleans(), max_size=2),
    provision_immediately=st.booleans(),
)


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in keys_of(item)}
    if isinstance(value, list):
        return {key for item in value for key in keys_of(item)}
    return set()


@given(cluster_specs)
def test_public_and_secrets_round_trip_through_json(spec: ClusterSpec) -> None:
    public = json.loads(json.dumps(spec.public()))
    secrets = json.loads(json.dumps(spec.secrets()))
    assert ClusterSpec.from_public(public, secrets) == spec


@given(cluster_specs)
def test_public_never_holds_ssh_secrets(spec: ClusterSpec) -> None:
    assert not keys_of(spec.public()) & {"privateKey", "passphrase", "password"}
    ssh = spec.ssh_config
    given_secrets = {} if ssh is None else {"privateKey": ssh.private_key, "passphrase": ssh.passphrase,
                                            "password": ssh.password}
    assert spec.secrets() == {k: v for k, v in given_secrets.items() if v is not None}


def test_without_secrets_the_rebuilt_spec_has_none() -> None:
    spec = ClusterSpec(
        name="edge",
        version="1.30.6",
        provider="ssh",
        ssh_config=SshConfigSpec(username="root", auth_method="password", password="hunter2-long"),
    )
    assert "hunter2-long" not in json.dumps(spec.public())
    assert "hunter2-long" not in repr(spec)
    rebuilt = ClusterSpec.from_public(spec.public())
    assert rebuilt.ssh_config == SshConfigSpec(username="root", auth_method="password")


def test_a_stored_cks_spec_parses_back_to_itself() -> None:
    pool = {"name": "gpu", "nodeCount": 1, "maxCount": 3, "labels": {"gpu": "yes"}, "taints": ["gpu:NoSchedule"]}
    spec = parse_cks(cks(nodePools=[pool], description="x"))
    assert parse_cks(spec.public()) == spec


def test_from_public_ignores_what_providers_add_to_the_stored_spec() -> None:
    spec = parse_cks(cks())
    stored = {**spec.public(), "infrastructure": {"simulator": "shop-prod-1"}}
    assert ClusterSpec.from_public(stored) == spec

"""CKS's create-cluster input (node pools, networking, addons, tags) as a ClusterSpec."""

from __future__ import annotations

from typing import Any

from app.errors import FieldErrors
from app.operations import spec_rules as rules
from app.operations.spec_model import PROVIDERS, AddonSpec, ClusterSpec, NetworkingSpec, NodePoolSpec, Provider

CNIS = ("calico", "cilium", "flannel")
MAX_TAGS = 50
MAX_TAG_VALUE = 256


def parse_cks(data: dict[str, Any], provider: Provider = "simulated") -> ClusterSpec:
    """Raises BadUserInput listing every problem of `data`; unknown keys are ignored."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}")
    errors = FieldErrors()
    name = rules.cluster_name(errors, data.get("name"))
    description = rules.description(errors, data.get("description"))
    version = rules.kubernetes_version(errors, "version", data.get("version"))
    pools = _node_pools(errors, data.get("nodePools"))
    networking = _networking(errors, data.get("networking"), pools)
    addons = _addons(errors, data.get("addons"))
    tags = _tags(errors, data.get("tags"))
    immediately = rules.boolean(errors, "provisionImmediately", data.get("provisionImmediately"), default=True)
    errors.raise_if_any()
    assert name is not None and version is not None and networking is not None  # else errors were raised
    return ClusterSpec(
        name=name,
        description=description,
        version=version,
        provider=provider,
        node_pools=pools,
        networking=networking,
        addons=addons,
        tags=tags,
        provision_immediately=bool(immediately),
    )


def _node_pools(errors: FieldErrors, value: Any) -> list[NodePoolSpec]:
    items = rules.sequence(errors, "nodePools", value)
    if items is None:
        return []
    if not items:
        errors.add("nodePools", "must have at least one node pool")
    parsed = [_node_pool(errors, f"nodePools[{index}]", item) for index, item in enumerate(items)]
    rules.repeats(errors, "nodePools", items, "name", "node pool name")
    counts = [item.get("nodeCount") if isinstance(item, dict) else None for item in items]
    if items and all(isinstance(c, int) and not isinstance(c, bool) and c == 0 for c in counts):
        errors.add("nodePools", "at least one node pool must have a node")
    return [pool for pool in parsed if pool is not None]


def _node_pool(errors: FieldErrors, path: str, value: Any) -> NodePoolSpec | None:
    data = rules.mapping(errors, path, value)
    if data is None:
        return None
    before = len(errors.details)
    name = rules.string(errors, f"{path}.name", data.get("name"))
    if name is not None:
        rules.dns_label(errors, f"{path}.name", name)
    count = rules.integer(errors, f"{path}.nodeCount", data.get("nodeCount"))
    min_count = rules.integer(errors, f"{path}.minCount", data.get("minCount"), required=False)
    max_count = rules.integer(errors, f"{path}.maxCount", data.get("maxCount"), required=False)
    _bounds(errors, path, count, min_count, max_count)
    instance_type = rules.string(errors, f"{path}.instanceType", data.get("instanceType"), required=False, max_len=100)
    labels = _labels(errors, f"{path}.labels", data.get("labels"))
    taints = _taints(errors, f"{path}.taints", data.get("taints"))
    if name is None or count is None or len(errors.details) > before:
        return None
    return NodePoolSpec(
        name=name,
        count=count,
        min_count=min_count,
        max_count=max_count,
        instance_type=instance_type,
        labels=labels,
        taints=taints,
    )


def _bounds(errors: FieldErrors, path: str, count: int | None, low: int | None, high: int | None) -> None:
    if low is not None and low < 0:
        errors.add(f"{path}.minCount", "must be at least 0")
        low = None
    if high is not None and not 0 <= high <= rules.MAX_POOL_NODES:
        errors.add(f"{path}.maxCount", f"must be from 0 to {rules.MAX_POOL_NODES}")
        high = None
    if low is not None and high is not None and low > high:
        errors.add(f"{path}.maxCount", f"must be at least minCount ({low})")
        low = high = None
    if count is not None and (problem := rules.count_problem(count, low, high)):
        errors.add(f"{path}.nodeCount", problem)


def _labels(errors: FieldErrors, path: str, value: Any) -> dict[str, str]:
    labels = rules.mapping(errors, path, value, required=False) or {}
    for key, text in labels.items():
        if problem := rules.label_key_problem(key):
            errors.add(f"{path}.{key}", f"is not a valid label key: it {problem}")
        elif not isinstance(text, str):
            errors.add(f"{path}.{key}", "must be a string")
        elif problem := rules.label_value_problem(text):
            errors.add(f"{path}.{key}", problem)
    return dict(labels)


def _taints(errors: FieldErrors, path: str, value: Any) -> list[str]:
    taints = rules.sequence(errors, path, value, required=False) or []
    for index, text in enumerate(taints):
        if (checked := rules.string(errors, f"{path}[{index}]", text, max_len=400)) is not None:
            rules.taint(errors, f"{path}[{index}]", checked)
    return list(taints)


def _networking(errors: FieldErrors, value: Any, pools: list[NodePoolSpec]) -> NetworkingSpec | None:
    data = rules.mapping(errors, "networking", value)
    if data is None:
        return None
    before = len(errors.details)
    cni = rules.choice(errors, "networking.cni", data.get("cni"), CNIS)
    pod_text = rules.string(errors, "networking.podCidr", data.get("podCidr"), max_len=64)
    service_text = rules.string(errors, "networking.serviceCidr", data.get("serviceCidr"), max_len=64)
    pods = rules.cidr(errors, "networking.podCidr", pod_text) if pod_text is not None else None
    if pods is not None and not rules.pod_network(errors, "networking.podCidr", pods):
        pods = None
    services = rules.cidr(errors, "networking.serviceCidr", service_text) if service_text is not None else None
    if services is not None:
        rules.service_network(errors, "networking.serviceCidr", services, pods)
    if pods is not None:
        wanted = sum(max(pool.count, pool.max_count or 0) for pool in pools)
        rules.pod_room(errors, "networking.podCidr", pods, wanted)
    if cni is None or pods is None or services is None or len(errors.details) > before:
        return None
    return NetworkingSpec(cni=cni, pod_cidr=str(pods), service_cidr=str(services))


def _addons(errors: FieldErrors, value: Any) -> list[AddonSpec]:
    items = rules.sequence(errors, "addons", value, required=False) or []
    addons: list[AddonSpec] = []
    for index, item in enumerate(items):
        path = f"addons[{index}]"
        data = rules.mapping(errors, path, item)
        if data is None:
            continue
        name = rules.string(errors, f"{path}.name", data.get("name"))
        if name is not None and not rules.dns_label(errors, f"{path}.name", name):
            name = None
        version = rules.string(errors, f"{path}.version", data.get("version"), max_len=63)
        enabled = rules.boolean(errors, f"{path}.enabled", data.get("enabled"), default=True)
        if name is not None and version is not None:
            addons.append(AddonSpec(name=name, version=version, enabled=bool(enabled)))
    rules.repeats(errors, "addons", items, "name", "addon")
    return addons


def _tags(errors: FieldErrors, value: Any) -> dict[str, str]:
    tags = rules.mapping(errors, "tags", value, required=False) or {}
    if len(tags) > MAX_TAGS:
        errors.add("tags", f"must have at most {MAX_TAGS} tags")
    for key, text in tags.items():
        if problem := rules.label_key_problem(key):
            errors.add(f"tags.{key}", f"is not a valid tag key: it {problem}")
        elif not isinstance(text, str):
            errors.add(f"tags.{key}", "must be a string")
        elif len(text) > MAX_TAG_VALUE:
            errors.add(f"tags.{key}", f"must be at most {MAX_TAG_VALUE} characters")
    return dict(tags)

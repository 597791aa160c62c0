"""Cluster specifications from both documented create-cluster inputs, and the checks for scale and upgrade.

CKS sends node pools and networking (`parse_cks`); the Provisioner sends a topology, components and
the machines to install onto over SSH (`parse_provisioner`). Both become one ClusterSpec. A parser
reports every problem of its input at once (BAD_USER_INPUT), each at its field path in the input's
own camelCase, such as `nodePools[1].nodeCount` or `sshConfig.privateKey`.

Network sizes (kubeadm's defaults, 10.244.0.0/16 and 10.96.0.0/12, sit well inside them):
- pod network: IPv4 /8 to /24, IPv6 /48 to /64. Each node gets a /24 (IPv6: a /64) of it, as
  kube-controller-manager allocates by default, so it must hold one for every node the pools can grow to.
- service network: IPv4 /12 to /28, IPv6 /108 to /124. kube-apiserver refuses larger ranges; a
  smaller one leaves too few addresses for the cluster's own services.
- the two are of one address family and must not overlap; an SSH node's address must lie outside both.
"""

from __future__ import annotations

import copy
from typing import Any

from app.errors import FieldErrors
from app.operations import spec_rules as rules
from app.operations.spec_cks import parse_cks
from app.operations.spec_model import (
    DEFAULT_POD_CIDR,
    DEFAULT_SERVICE_CIDR,
    PROVIDERS,
    SECRET_FIELDS,
    AddonSpec,
    ClusterSpec,
    NetworkingSpec,
    NodePoolSpec,
    Provider,
    SshConfigSpec,
    SshNodeSpec,
)
from app.operations.spec_provisioner import parse_provisioner
from app.operations.versions import SUPPORTED_VERSIONS, check_upgrade, latest_patch

__all__ = [
    "DEFAULT_POD_CIDR",
    "DEFAULT_SERVICE_CIDR",
    "PROVIDERS",
    "SECRET_FIELDS",
    "SUPPORTED_VERSIONS",
    "AddonSpec",
    "ClusterSpec",
    "NetworkingSpec",
    "NodePoolSpec",
    "Provider",
    "SshConfigSpec",
    "SshNodeSpec",
    "check_scale",
    "check_upgrade",
    "latest_patch",
    "merge_template",
    "parse_cks",
    "parse_provisioner",
]


def check_scale(pools: list[NodePoolSpec], requested: dict[str, int], errors: FieldErrors) -> None:
    """Adds to `errors` unless every requested pool exists and its new count fits its limits.

    `requested` maps pool names to counts in the order the input listed them, so its n-th entry is
    reported at `nodePools[n]`.
    """
    if not requested:
        errors.add("nodePools", "must name at least one node pool")
        return
    by_name = {pool.name: pool for pool in pools}
    after = {pool.name: pool.count for pool in pools}
    for index, (name, count) in enumerate(requested.items()):
        pool = by_name.get(name)
        if pool is None:
            errors.add(f"nodePools[{index}].id", f"no node pool {name!r} in this cluster")
        elif isinstance(count, bool) or not isinstance(count, int):
            errors.add(f"nodePools[{index}].nodeCount", "must be an integer")
        elif problem := rules.count_problem(count, pool.min_count, pool.max_count):
            errors.add(f"nodePools[{index}].nodeCount", problem)
        else:
            after[name] = count
    if after and not any(after.values()):
        errors.add("nodePools", "can't scale every node pool to zero; keep at least one node")


def merge_template(template: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`template` with `overrides` on top: objects merge key by key, lists and scalars replace, None is "not given".

    Neither argument is changed.
    """
    merged = copy.deepcopy(template)
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, dict):
            base = merged.get(key)
            merged[key] = merge_template(base if isinstance(base, dict) else {}, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged

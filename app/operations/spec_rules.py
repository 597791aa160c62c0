"""Field readers and Kubernetes naming rules for cluster specifications.

Every function adds what is wrong to a FieldErrors and returns the typed value (or None when it is
missing or unusable), so a parser can go on and report every problem of an input at once.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from app.errors import FieldErrors
from app.operations import versions

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
MAX_POOL_NODES = 1000
POD_PREFIXES = {4: (8, 24), 6: (48, 64)}
NODE_PREFIXES = {4: 24, 6: 64}  # the pod range each node gets (kube-controller-manager's default)
SERVICE_PREFIXES = {4: (12, 28), 6: (108, 124)}
_PEM_KEY = re.compile(
    r"^-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY)-----\r?\n"
    r"(?:[A-Za-z-]+: [^\n]*\r?\n)*"  # PEM headers such as Proc-Type / DEK-Info of an encrypted RSA key
    r"(?:\r?\n)?"
    r"[A-Za-z0-9+/=][A-Za-z0-9+/=\s]*?"
    r"\r?\n-----END \1-----\s*$"
)
_PUBLIC_KEY = re.compile(r"^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-\S+|sk-\S+)\s+\S+|^-----BEGIN (RSA )?PUBLIC KEY-----")


# -- typed readers ----------------------------------------------------------------------------------


def string(errors: FieldErrors, field: str, value: Any, *, required: bool = True, max_len: int = 255) -> str | None:
    if value is None:
        if required:
            errors.add(field, "is required")
        return None
    if not isinstance(value, str):
        errors.add(field, "must be a string")
        return None
    if required and not value.strip():
        errors.add(field, "must not be empty")
        return None
    if len(value) > max_len:
        errors.add(field, f"must be at most {max_len} characters")
        return None
    return value


def integer(errors: FieldErrors, field: str, value: Any, *, required: bool = True) -> int | None:
    if value is None:
        if required:
            errors.add(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, "must be an integer")
        return None
    return value


def boolean(errors: FieldErrors, field: str, value: Any, *, default: bool | None = None) -> bool | None:
    if value is None:
        if default is None:
            errors.add(field, "is required")
        return default
    if not isinstance(value, bool):
        errors.add(field, "must be true or false")
        return default
    return value


def mapping(errors: FieldErrors, field: str, value: Any, *, required: bool = True) -> dict[str, Any] | None:
    if value is None:
        if required:
            errors.add(field, "is required")
        return None
    if not isinstance(value, dict):
        errors.add(field, "must be an object")
        return None
    return value


def sequence(errors: FieldErrors, field: str, value: Any, *, required: bool = True) -> list[Any] | None:
    if value is None:
        if required:
            errors.add(field, "is required")
        return None
    if not isinstance(value, list):
        errors.add(field, "must be a list")
        return None
    return value


def choice(
    errors: FieldErrors, field: str, value: Any, allowed: tuple[str, ...], *, required: bool = True
) -> str | None:
    text = string(errors, field, value, required=required)
    if text is not None and text not in allowed:
        errors.add(field, f"must be one of {', '.join(allowed)}")
        return None
    return text


def repeats(
    errors: FieldErrors, path: str, items: list[Any], key: str, what: str, same: Callable[[str], str] = str
) -> None:
    """Reports each item of `items` whose `key` repeats an earlier one's (compared as `same` spells them)."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        value = item.get(key) if isinstance(item, dict) else None
        if not isinstance(value, str):
            continue
        if same(value) in seen:
            errors.add(f"{path}[{index}].{key}", f"repeats the {what} {value!r}")
        seen.add(same(value))


# -- names --------------------------------------------------------------------------------------------


def dns_label(errors: FieldErrors, field: str, value: str) -> bool:
    """RFC 1123 label, as Kubernetes names clusters, pools and addons: `a-z`, `0-9`, `-`, at most 63."""
    if len(value) > 63:
        errors.add(field, "must be at most 63 characters")
    elif not DNS_LABEL.match(value):
        errors.add(field, "must be lowercase letters, digits and '-', starting and ending with a letter or digit")
    else:
        return True
    return False


def dns_subdomain(errors: FieldErrors, field: str, value: str) -> bool:
    """RFC 1123 subdomain, as Kubernetes names nodes: dot-separated labels, at most 253 characters."""
    if len(value) > 253:
        errors.add(field, "must be at most 253 characters")
    elif not _is_subdomain(value):
        errors.add(field, "must be lowercase letters, digits, '-' and '.', each part starting and ending alphanumeric")
    else:
        return True
    return False


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a valid Kubernetes label key (`[prefix/]name`), or None."""
    prefix, _, name = key.rpartition("/")
    if "/" in prefix:
        return "may contain at most one '/'"
    if key.startswith("/") or (prefix and not _is_subdomain(prefix)):
        return "must have a DNS subdomain prefix before '/' (lowercase, at most 253 characters)"
    if len(name) > 63:
        return "must have a name part of at most 63 characters"
    if not LABEL_NAME.match(name):
        return "must have a name part of letters, digits, '-', '_' and '.', starting and ending alphanumeric"
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > 63:
        return "must be at most 63 characters"
    if value and not LABEL_NAME.match(value):
        return "must be empty or letters, digits, '-', '_' and '.', starting and ending alphanumeric"
    return None


def taint(errors: FieldErrors, field: str, value: str) -> None:
    """`key[=value]:Effect`, as `kubectl taint` writes it."""
    head, sep, effect = value.rpartition(":")
    key, _, taint_value = head.partition("=")
    if not sep or effect not in TAINT_EFFECTS:
        errors.add(field, f"must be key[=value]:effect with effect one of {', '.join(TAINT_EFFECTS)}")
    elif (problem := label_key_problem(key)) or (problem := label_value_problem(taint_value)):
        errors.add(field, f"must be key[=value]:effect where the key or value {problem.removeprefix('must ')}")


def _is_subdomain(value: str) -> bool:
    return len(value) <= 253 and all(DNS_LABEL.match(part) and len(part) <= 63 for part in value.split("."))


# -- addresses ----------------------------------------------------------------------------------------


def cidr(errors: FieldErrors, field: str, value: str) -> Network | None:
    text = value.strip()
    try:
        if "/" not in text:
            raise ValueError(text)
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        errors.add(field, "must be a network in CIDR notation, such as 10.244.0.0/16")
        return None
    if loose != _strict(text):
        errors.add(field, f"has host bits set; the network is {loose}")
        return None
    return loose


def _strict(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        return None


def same_address(value: str) -> str:
    """The one spelling of an address (`::0:1` and `::1` are one machine); other text as given."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return value


def host_address(errors: FieldErrors, field: str, value: str) -> Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        errors.add(field, "must be an IPv4 or IPv6 address")
        return None
    if address.is_unspecified or address.is_multicast or address.is_reserved:  # loopback is one machine: allowed
        errors.add(field, "must be a unicast address a machine can be reached at")
        return None
    return address


# -- keys ---------------------------------------------------------------------------------------------


def private_key(errors: FieldErrors, field: str, value: str) -> None:
    """Checks the text looks like a PEM or OpenSSH private key; it is not decrypted or parsed further."""
    text = value.strip()
    if _PUBLIC_KEY.match(text):
        errors.add(field, "is a public key; give the private key")
    elif not _PEM_KEY.match(text + "\n"):
        errors.add(field, "must be a PEM or OpenSSH private key (-----BEGIN ... PRIVATE KEY----- ... -----END ...)")


# -- cluster fields both inputs share -------------------------------------------------------------------


def cluster_name(errors: FieldErrors, value: Any) -> str | None:
    name = string(errors, "name", value)
    return name if name is not None and dns_label(errors, "name", name) else None


def description(errors: FieldErrors, value: Any) -> str:
    return string(errors, "description", value, required=False, max_len=1000) or ""


def kubernetes_version(errors: FieldErrors, field: str, value: Any) -> str | None:
    text = string(errors, field, value, max_len=32)
    if text is None:
        return None
    if not versions.is_supported(text):
        versions.check_version(errors, field, text)
        return None
    return versions.normalize(text)


def count_problem(count: int, min_count: int | None, max_count: int | None) -> str | None:
    """Why a node pool can't have `count` nodes, or None."""
    if count < 0:
        return "must be at least 0"
    if count > MAX_POOL_NODES:
        return f"must be at most {MAX_POOL_NODES}"
    if min_count is not None and count < min_count:
        return f"must be at least the pool's minCount ({min_count})"
    if max_count is not None and count > max_count:
        return f"must be at most the pool's maxCount ({max_count})"
    return None


def pod_network(errors: FieldErrors, field: str, network: Network) -> bool:
    low, high = POD_PREFIXES[network.version]
    if not low <= network.prefixlen <= high:
        errors.add(field, f"must be an IPv{network.version} network from /{low} to /{high}")
        return False
    return True


def service_network(errors: FieldErrors, field: str, network: Network, pods: Network | None) -> bool:
    low, high = SERVICE_PREFIXES[network.version]
    if not low <= network.prefixlen <= high:
        errors.add(field, f"must be an IPv{network.version} network from /{low} to /{high}")
    elif pods is not None and pods.version != network.version:
        errors.add(field, f"must be an IPv{pods.version} network like the pod network {pods}")
    elif pods is not None and network.overlaps(pods):  # type: ignore[arg-type]
        errors.add(field, f"overlaps the pod network {pods}")
    else:
        return True
    return False


def node_room(network: Network) -> int:
    """How many nodes the pod network has a per-node range for."""
    return int(2 ** (NODE_PREFIXES[network.version] - network.prefixlen))


def pod_room(errors: FieldErrors, field: str, network: Network, wanted: int) -> None:
    room = node_room(network)
    if wanted > room:
        size = NODE_PREFIXES[network.version]
        errors.add(field, f"the pod network {network} has room for {room} nodes (a /{size} each); {wanted} are needed")

"""The normalised cluster specification, and its stored form: a JSON-able public part and, apart, the secrets.

The public part is what a cluster record keeps as its `spec` and shows to readers; the SSH secrets
(private key, passphrase, password) are returned separately so they can be stored encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Provider = Literal["simulated", "ssh"]
PROVIDERS: tuple[Provider, ...] = ("simulated", "ssh")
DEFAULT_POD_CIDR = "10.244.0.0/16"
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
SECRET_FIELDS = ("privateKey", "passphrase", "password")


@dataclass(frozen=True, kw_only=True)
class NodePoolSpec:
    name: str
    count: int
    min_count: int | None = None
    max_count: int | None = None
    instance_type: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class NetworkingSpec:
    cni: str
    pod_cidr: str = DEFAULT_POD_CIDR
    service_cidr: str = DEFAULT_SERVICE_CIDR


@dataclass(frozen=True, kw_only=True)
class AddonSpec:
    name: str
    version: str
    enabled: bool = True


@dataclass(frozen=True, kw_only=True)
class SshNodeSpec:
    name: str
    role: str
    ip_address: str
    ssh_port: int = 22
    os_type: str


@dataclass(frozen=True, kw_only=True)
class SshConfigSpec:
    username: str
    auth_method: str
    private_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class ClusterSpec:
    name: str
    description: str = ""
    version: str
    provider: Provider = "simulated"
    node_pools: list[NodePoolSpec] = field(default_factory=list)
    networking: NetworkingSpec = field(default_factory=lambda: NetworkingSpec(cni="calico"))
    addons: list[AddonSpec] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    ha: bool = False
    control_plane_count: int = 1
    ingress: str | None = None
    runtime: str = "containerd"
    nodes: list[SshNodeSpec] = field(default_factory=list)
    ssh_config: SshConfigSpec | None = None
    hardening: dict[str, bool] = field(default_factory=dict)
    provision_immediately: bool = True

    def public(self) -> dict[str, Any]:
        """Everything but the SSH secrets, in camelCase."""
        ssh = self.ssh_config
        return {
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "provider": self.provider,
            "nodePools": [_pool_public(pool) for pool in self.node_pools],
            "networking": {
                "cni": self.networking.cni,
                "podCidr": self.networking.pod_cidr,
                "serviceCidr": self.networking.service_cidr,
            },
            "addons": [{"name": a.name, "version": a.version, "enabled": a.enabled} for a in self.addons],
            "tags": dict(self.tags),
            "ha": self.ha,
            "controlPlaneCount": self.control_plane_count,
            "ingress": self.ingress,
            "runtime": self.runtime,
            "nodes": [_node_public(node) for node in self.nodes],
            "sshConfig": {"username": ssh.username, "authMethod": ssh.auth_method} if ssh else None,
            "hardening": dict(self.hardening),
            "provisionImmediately": self.provision_immediately,
        }

    def secrets(self) -> dict[str, str]:
        """The SSH secrets that were given (`privateKey`, `passphrase`, `password`); empty when there are none."""
        ssh = self.ssh_config
        if ssh is None:
            return {}
        given = {"privateKey": ssh.private_key, "passphrase": ssh.passphrase, "password": ssh.password}
        return {key: value for key, value in given.items() if value is not None}

    @classmethod
    def from_public(cls, data: dict[str, Any], secrets: dict[str, str] | None = None) -> ClusterSpec:
        """Rebuilds a spec from `public()` (and `secrets()`); keys other parts added to a stored spec are ignored."""
        networking = data.get("networking") or {}
        ssh = data.get("sshConfig")
        given = secrets or {}
        provider = data.get("provider", "simulated")
        return cls(
            name=data["name"],
            description=data.get("description") or "",
            version=data["version"],
            provider="ssh" if provider == "ssh" else "simulated",
            node_pools=[_pool_from(pool) for pool in data.get("nodePools") or []],
            networking=NetworkingSpec(
                cni=networking.get("cni", "calico"),
                pod_cidr=networking.get("podCidr", DEFAULT_POD_CIDR),
                service_cidr=networking.get("serviceCidr", DEFAULT_SERVICE_CIDR),
            ),
            addons=[AddonSpec(name=a["name"], version=a["version"], enabled=a.get("enabled", True))
                    for a in data.get("addons") or []],
            tags=dict(data.get("tags") or {}),
            ha=bool(data.get("ha", False)),
            control_plane_count=int(data.get("controlPlaneCount", 1)),
            ingress=data.get("ingress"),
            runtime=data.get("runtime", "containerd"),
            nodes=[_node_from(node) for node in data.get("nodes") or []],
            ssh_config=SshConfigSpec(
                username=ssh["username"],
                auth_method=ssh["authMethod"],
                private_key=given.get("privateKey"),
                passphrase=given.get("passphrase"),
                password=given.get("password"),
            ) if ssh else None,
            hardening=dict(data.get("hardening") or {}),
            provision_immediately=bool(data.get("provisionImmediately", True)),
        )


def _pool_public(pool: NodePoolSpec) -> dict[str, Any]:
    return {
        "name": pool.name,
        "nodeCount": pool.count,
        "minCount": pool.min_count,
        "maxCount": pool.max_count,
        "instanceType": pool.instance_type,
        "labels": dict(pool.labels),
        "taints": list(pool.taints),
    }


def _pool_from(data: dict[str, Any]) -> NodePoolSpec:
    return NodePoolSpec(
        name=data["name"],
        count=int(data["nodeCount"]),
        min_count=data.get("minCount"),
        max_count=data.get("maxCount"),
        instance_type=data.get("instanceType"),
        labels=dict(data.get("labels") or {}),
        taints=list(data.get("taints") or []),
    )


def _node_public(node: SshNodeSpec) -> dict[str, Any]:
    return {
        "name": node.name,
        "role": node.role,
        "ipAddress": node.ip_address,
        "sshPort": node.ssh_port,
        "osType": node.os_type,
    }


def _node_from(data: dict[str, Any]) -> SshNodeSpec:
    return SshNodeSpec(
        name=data["name"],
        role=data["role"],
        ip_address=data["ipAddress"],
        ssh_port=int(data.get("sshPort", 22)),
        os_type=data["osType"],
    )

"""The parts of the Provisioner's request bodies that several paths share: a cluster's topology
and components, its nodes and how to reach them over SSH.

Fields are named as GraphQL names them, with the documented snake_case names as aliases, so a
body's `model_dump()` is the GraphQL input."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

KEY_MAX = 16384  # a private key, as the spec keeps it
SECRET_MAX = 10_000  # a password or passphrase, as any GraphQL string


class Part(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ProvisionerTopology(Part):
    ha: bool
    controlPlaneCount: int = Field(alias="control_plane_count")
    workerCount: int = Field(alias="worker_count")


class ProvisionerComponents(Part):
    kubernetesVersion: str = Field(alias="kubernetes_version", min_length=1, max_length=32)
    cni: Literal["calico", "cilium", "flannel"]
    ingress: Literal["nginx", "traefik", "haproxy"]
    runtime: Literal["containerd"] = "containerd"


class ProvisionerSshNode(Part):
    name: str = Field(min_length=1, max_length=253)
    role: Literal["control-plane", "worker"]
    ipAddress: str = Field(alias="ip_address", min_length=1, max_length=64)
    sshPort: int = Field(22, alias="ssh_port")
    osType: Literal["rocky9", "ubuntu22", "rhel9"] = Field(alias="os_type")


class ProvisionerSshConfig(Part):
    username: str = Field(min_length=1, max_length=32)
    authMethod: Literal["password", "private_key"] = Field(alias="auth_method")
    privateKey: str | None = Field(None, alias="private_key", max_length=KEY_MAX)
    passphrase: str | None = Field(None, max_length=SECRET_MAX)
    password: str | None = Field(None, max_length=SECRET_MAX)


class ProvisionerHardening(Part):
    enableCisK8sBenchmark: bool = Field(False, alias="enable_cis_k8s_benchmark")
    enableCisLinuxBenchmark: bool = Field(False, alias="enable_cis_linux_benchmark")

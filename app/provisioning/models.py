"""The nodes, credentials and preflight results of the Provisioner's create-cluster and test-ssh requests."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Literal

Role = Literal["control-plane", "worker"]
AuthMethod = Literal["password", "private_key"]

CONTROL_PLANE: Role = "control-plane"
WORKER: Role = "worker"


@dataclass(frozen=True, slots=True)
class SshNode:
    name: str
    role: Role
    ip_address: str
    ssh_port: int = 22
    _: KW_ONLY
    os_type: str


@dataclass(frozen=True, slots=True)
class SshCredentials:
    username: str
    auth_method: AuthMethod
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class PreflightResult:
    """What one node's preflight found.

    `success` answers the test-ssh question (could Fleetgraph reach, log in to and inspect the node);
    `ready` additionally needs every check to pass, and is what provisioning requires.
    """

    node: str
    ip_address: str
    success: bool
    message: str
    hostname: str | None = None
    os_id: str | None = None
    os_version: str | None = None
    cpus: int | None = None
    memory_mib: int | None = None
    ports_in_use: list[int] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.success and all(check.ok for check in self.checks)

    def check(self, name: str) -> Check | None:
        return next((check for check in self.checks if check.name == name), None)

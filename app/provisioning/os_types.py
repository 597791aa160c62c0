"""The operating systems a node may declare (`os_type`) and how to recognise them from /etc/os-release."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PackageManager = Literal["dnf", "apt"]


@dataclass(frozen=True, slots=True)
class OsFamily:
    """Machines that take the same provisioning commands."""

    key: str
    title: str
    package_manager: PackageManager
    ids: frozenset[str]
    version_prefix: str

    def matches(self, os_release: dict[str, str]) -> bool:
        ids = {os_release.get("ID", "")} | set(os_release.get("ID_LIKE", "").split())
        version = os_release.get("VERSION_ID", "")
        same_release = version == self.version_prefix or version.startswith(self.version_prefix + ".")
        return bool(ids & self.ids) and same_release


EL9 = OsFamily(
    key="el9",
    title="Enterprise Linux 9",
    package_manager="dnf",
    ids=frozenset({"rhel", "rocky", "almalinux", "centos"}),
    version_prefix="9",
)
UBUNTU22 = OsFamily(
    key="ubuntu22",
    title="Ubuntu 22.04",
    package_manager="apt",
    ids=frozenset({"ubuntu"}),
    version_prefix="22.04",
)

OS_TYPES: dict[str, OsFamily] = {"rocky9": EL9, "rhel9": EL9, "ubuntu22": UBUNTU22}


def family_of(os_type: str) -> OsFamily | None:
    return OS_TYPES.get(os_type)

"""The checks preflight reports for a node, computed from its facts (plain functions, no I/O).

Blocking checks decide `PreflightResult.success`: Fleetgraph could not do anything with a node it
cannot reach, log in to or inspect. The others (OS, CPU, memory, ports) describe whether the node is
fit for its role; they never hide a working connection, but provisioning needs them all to pass
(`PreflightResult.ready`).
"""

from __future__ import annotations

from collections.abc import Iterable

from app.provisioning.facts import NodeFacts
from app.provisioning.models import CONTROL_PLANE, Check, Role
from app.provisioning.os_types import OS_TYPES, family_of

BLOCKING_CHECKS = frozenset({"reachable", "authenticated", "inspected"})

MINIMUMS: dict[str, tuple[int, int]] = {"control-plane": (2, 2048), "worker": (1, 1024)}


def blocking_failures(checks: Iterable[Check]) -> list[Check]:
    return [check for check in checks if check.name in BLOCKING_CHECKS and not check.ok]


def inspected_check(facts: NodeFacts) -> Check:
    missing = facts.missing()
    if missing:
        return Check("inspected", False, "the node did not report its " + ", ".join(missing))
    return Check("inspected", True, "hostname, OS, CPUs, memory and listening ports read")


def os_check(os_type: str, os_release: dict[str, str]) -> Check:
    family = family_of(os_type)
    if family is None:
        expected = ", ".join(OS_TYPES)
        return Check("os", False, f"unsupported os_type {os_type!r}; expected one of {expected}")
    if not os_release:
        return Check("os", False, f"declared {os_type} ({family.title}) but /etc/os-release could not be read")
    running = os_release.get("PRETTY_NAME") or f"{os_release.get('ID', '?')} {os_release.get('VERSION_ID', '')}"
    if not family.matches(os_release):
        return Check("os", False, f"declared {os_type} ({family.title}) but the node runs {running.strip()}")
    return Check("os", True, f"{running.strip()} matches {os_type}")


def resource_checks(role: Role, cpus: int | None, memory_mib: int | None) -> list[Check]:
    if role not in MINIMUMS:
        return [Check("role", False, f"unknown role {role!r}; expected control-plane or worker")]
    min_cpus, min_mib = MINIMUMS[role]
    kind = "control plane" if role == CONTROL_PLANE else "worker"
    return [
        _at_least("cpu", cpus, min_cpus, "CPUs", kind),
        _at_least("memory", memory_mib, min_mib, "MiB of memory", kind),
    ]


def _at_least(name: str, value: int | None, minimum: int, unit: str, kind: str) -> Check:
    if value is None:
        return Check(name, False, f"could not read the node's {unit}")
    if value < minimum:
        return Check(name, False, f"{value} {unit}; a {kind} needs at least {minimum}")
    return Check(name, True, f"{value} {unit} (a {kind} needs at least {minimum})")


def ports_check(required: Iterable[int], listening: set[int]) -> tuple[Check, list[int]]:
    required = sorted(set(required))
    in_use = [port for port in required if port in listening]
    if in_use:
        listed = ", ".join(map(str, in_use))
        return Check("ports", False, f"already in use: {listed}"), in_use
    return Check("ports", True, "free: " + ", ".join(map(str, required))), in_use


def node_checks(
    role: Role, os_type: str, facts: NodeFacts, required_ports: Iterable[int]
) -> tuple[list[Check], list[int]]:
    """Every check after login, and the required ports found in use."""
    port_check, in_use = ports_check(required_ports, facts.listening_ports)
    checks = [
        inspected_check(facts),
        os_check(os_type, facts.os_release),
        *resource_checks(role, facts.cpus, facts.memory_mib),
        port_check,
    ]
    return checks, in_use

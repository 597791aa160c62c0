"""Parsing what a node reports, and the checks made from it."""

from __future__ import annotations

import pytest

from app.provisioning.checks import blocking_failures, os_check, ports_check, resource_checks
from app.provisioning.facts import (
    INSPECT_SCRIPT,
    parse_inspection,
    parse_listening_ports,
    parse_memory_mib,
    parse_os_release,
)
from app.provisioning.models import Check

ROCKY = 'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n'
RHEL = 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.2"\nPRETTY_NAME="RHEL 9.2"\n'
ALMA8 = 'ID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="8.9"\n'
UBUNTU22 = 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n'
UBUNTU20 = 'PRETTY_NAME="Ubuntu 20.04.6 LTS"\nVERSION_ID="20.04"\nID=ubuntu\n'

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:0951 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:0016 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 3 1
  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000000000000:2814 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 00000000000000000000000001000000:094A 00000000000000000000000001000000:1F90 06 00000000:00000000
"""


def test_os_release_values_are_unquoted() -> None:
    assert parse_os_release(ROCKY)["ID_LIKE"] == "rhel centos fedora"
    assert parse_os_release(UBUNTU22)["ID"] == "ubuntu"
    assert parse_os_release("# comment\n\nBROKEN\nA='b'\n") == {"A": "b"}


def test_memory_is_read_in_mib() -> None:
    assert parse_memory_mib("MemTotal:        2097152 kB\nMemFree:  1 kB\n") == 2048
    assert parse_memory_mib("MemFree: 1 kB\n") is None


def test_only_listening_sockets_count_as_ports_in_use() -> None:
    assert parse_listening_ports(PROC_NET_TCP) == {6443, 2385, 10260}


def test_inspection_output_becomes_facts() -> None:
    output = "\n".join(
        [
            "@@fleetgraph:hostname",
            "control-01",
            "@@fleetgraph:os-release",
            ROCKY,
            "@@fleetgraph:nproc",
            "4",
            "@@fleetgraph:meminfo",
            "MemTotal:        8000000 kB",
            "@@fleetgraph:tcp",
            PROC_NET_TCP,
        ]
    )
    facts = parse_inspection(output)
    assert (facts.hostname, facts.cpus, facts.memory_mib) == ("control-01", 4, 7812)
    assert facts.os_release["ID"] == "rocky"
    assert facts.listening_ports == {6443, 2385, 10260}
    assert facts.missing() == []
    assert parse_inspection("@@fleetgraph:hostname\n\n").missing() == ["hostname", "CPU count", "memory size"]


def test_inspection_script_reads_what_the_facts_need() -> None:
    for source in ("hostname", "/etc/os-release", "nproc", "/proc/meminfo", "/proc/net/tcp", "/proc/net/tcp6"):
        assert source in INSPECT_SCRIPT


@pytest.mark.parametrize(
    ("os_type", "os_release", "ok"),
    [
        ("rocky9", ROCKY, True),
        ("rhel9", ROCKY, True),
        ("rhel9", RHEL, True),
        ("rocky9", ALMA8, False),
        ("ubuntu22", UBUNTU22, True),
        ("ubuntu22", UBUNTU20, False),
        ("ubuntu22", ROCKY, False),
        ("rocky9", UBUNTU22, False),
    ],
)
def test_os_family_match(os_type: str, os_release: str, ok: bool) -> None:
    assert os_check(os_type, parse_os_release(os_release)).ok is ok


def test_os_mismatch_names_both_systems() -> None:
    check = os_check("rocky9", parse_os_release(UBUNTU22))
    assert check == Check("os", False, "declared rocky9 (Enterprise Linux 9) but the node runs Ubuntu 22.04.4 LTS")
    assert "could not be read" in os_check("ubuntu22", {}).detail


@pytest.mark.parametrize(
    ("role", "cpus", "memory_mib", "expected"),
    [
        ("control-plane", 2, 2048, [True, True]),
        ("control-plane", 1, 2047, [False, False]),
        ("worker", 1, 1024, [True, True]),
        ("worker", 1, 1023, [True, False]),
        ("worker", None, None, [False, False]),
    ],
)
def test_resource_minimums_depend_on_role(
    role: str, cpus: int | None, memory_mib: int | None, expected: list[bool]
) -> None:
    checks = resource_checks(role, cpus, memory_mib)  # type: ignore[arg-type]
    assert [check.ok for check in checks] == expected


def test_unknown_role_is_a_failed_check() -> None:
    assert resource_checks("master", 8, 8192) == [  # type: ignore[arg-type]
        Check("role", False, "unknown role 'master'; expected control-plane or worker")
    ]


def test_ports_check_lists_only_the_required_ports_in_use() -> None:
    check, in_use = ports_check((10250, 6443, 2379), {6443, 22, 10250})
    assert in_use == [6443, 10250]
    assert check == Check("ports", False, "already in use: 6443, 10250")
    assert ports_check((6443,), {22})[0].ok


def test_only_connection_checks_block() -> None:
    checks = [
        Check("reachable", True, ""),
        Check("authenticated", True, ""),
        Check("os", False, ""),
        Check("cpu", False, ""),
        Check("ports", False, ""),
    ]
    assert blocking_failures(checks) == []
    assert blocking_failures([*checks, Check("inspected", False, "x")]) == [Check("inspected", False, "x")]

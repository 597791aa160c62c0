"""What preflight reads from a node, and how the output is parsed (plain functions, no I/O).

Listening ports come from /proc/net/tcp{,6} rather than `ss`: every Linux has /proc, not every
minimal image has iproute2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MARKER = "@@fleetgraph:"

INSPECT_STEPS: tuple[tuple[str, str], ...] = (
    ("hostname", "hostname 2>/dev/null || cat /proc/sys/kernel/hostname"),
    ("os-release", "cat /etc/os-release 2>/dev/null"),
    ("nproc", "nproc 2>/dev/null || getconf _NPROCESSORS_ONLN"),
    ("meminfo", "cat /proc/meminfo"),
    ("tcp", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null"),
)

INSPECT_SCRIPT = "\n".join(f"echo '{MARKER}{name}'; {command}" for name, command in INSPECT_STEPS) + "\nexit 0\n"

_TCP_LISTEN = "0A"


@dataclass(slots=True)
class NodeFacts:
    hostname: str | None = None
    os_release: dict[str, str] = field(default_factory=dict)
    cpus: int | None = None
    memory_mib: int | None = None
    listening_ports: set[int] = field(default_factory=set)

    def missing(self) -> list[str]:
        """The facts every check needs but the node did not give."""
        wanted = {"hostname": self.hostname, "CPU count": self.cpus, "memory size": self.memory_mib}
        return [name for name, value in wanted.items() if value is None]


def split_sections(output: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(MARKER):
            current = sections.setdefault(line[len(MARKER) :].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def parse_os_release(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def parse_int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def parse_memory_mib(meminfo: str) -> int | None:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) // 1024
    return None


def parse_listening_ports(proc_net_tcp: str) -> set[int]:
    """Local ports in the LISTEN state, from the concatenated /proc/net/tcp and /proc/net/tcp6."""
    ports: set[int] = set()
    for line in proc_net_tcp.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != _TCP_LISTEN:
            continue
        _, _, port = fields[1].rpartition(":")
        try:
            ports.add(int(port, 16))
        except ValueError:
            continue
    return ports


def parse_inspection(output: str) -> NodeFacts:
    sections = split_sections(output)
    hostname = sections.get("hostname", "").strip()
    return NodeFacts(
        hostname=hostname.splitlines()[0] if hostname else None,
        os_release=parse_os_release(sections.get("os-release", "")),
        cpus=parse_int(sections.get("nproc", "")),
        memory_mib=parse_memory_mib(sections.get("meminfo", "")),
        listening_ports=parse_listening_ports(sections.get("tcp", "")),
    )

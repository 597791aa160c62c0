"""Host key policy for preflight: accept a node's key the first time, insist on it afterwards.

Customers hand Fleetgraph fresh machines whose host keys nobody has recorded anywhere, so strict
checking would refuse every first connection. The keys are remembered per process (not in a
known_hosts file, and never in the user's ~/.ssh), which still catches a key that changes between
the test-ssh call and provisioning, or between the nodes of one preflight run.
"""

from __future__ import annotations

import threading

import asyncssh


class HostKeyMemory:
    def __init__(self) -> None:
        self._fingerprints: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def accept(self, host: str, port: int, key: asyncssh.SSHKey) -> bool:
        """Trust `key` if it is the first seen for (host, port) or the one seen before."""
        fingerprint = key.get_fingerprint()
        with self._lock:
            known = self._fingerprints.setdefault((host, port), fingerprint)
        return known == fingerprint

    def remember(self, host: str, port: int, fingerprint: str) -> None:
        with self._lock:
            self._fingerprints[(host, port)] = fingerprint

    def fingerprint(self, host: str, port: int) -> str | None:
        with self._lock:
            return self._fingerprints.get((host, port))

    def forget(self, host: str, port: int) -> None:
        with self._lock:
            self._fingerprints.pop((host, port), None)


PROCESS_HOST_KEYS = HostKeyMemory()
